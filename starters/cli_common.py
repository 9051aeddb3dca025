"""What every ``tocsin`` command shares: settings, errors as exit codes, output, the client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from activities.ports import ConfigSource
from starters.api import TocsinClient
from starters.dev_state import live_state
from starters.errors import IncidentNotFound, InvalidRequest, PageNotFound, Rejected
from worker.client import connect
from worker.config import ConfigError, ConfigFile
from worker.logging import configure_logging
from worker.settings import Settings, SettingsError, env_name, environment, secret_values
from workflows.actors import Acted
from workflows.config import TocsinConfig
from workflows.instants import check_instant

T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="tocsin.yaml to use (env: TOCSIN_CONFIG)", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Person id acting (env: TOCSIN_USER)", show_default=False),
]


def instant(value: datetime | None) -> datetime | None:
    """A typer callback: a time option within the span Tocsin reasons about (exit 2 else)."""
    if value is None:
        return None
    try:
        return check_instant(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def settings_from(*, find_stack: bool = True, **overrides: object) -> Settings:
    """The command's settings: its options (``overrides``) over ``TOCSIN_*``.

    With ``find_stack``, a command given no config (no ``--config``, no ``TOCSIN_CONFIG``,
    no ``tocsin.yaml`` here) uses the running ``tocsin dev``'s: see :func:`beside_stack`.
    """
    try:
        settings = Settings.from_env(overrides)
    except SettingsError as err:
        raise fail(str(err)) from None
    if find_stack and overrides.get("config") is None:
        settings = beside_stack(settings)
    return settings


# The stacks a note was printed for: a command builds its settings more than once.
_ANNOUNCED: set[Path] = set()


def beside_stack(settings: Settings) -> Settings:
    """``settings`` pointed at the running ``tocsin dev`` whose state file is in the data
    dir (``.tocsin/dev.json`` by default), when no config was chosen and ``tocsin.yaml`` is
    not here: its config, data dir and Temporal server, each unless its ``TOCSIN_*`` is
    set. Says on stderr which config it used."""
    env = environment()
    if env.get(env_name("config")) or settings.config.exists():
        return settings
    state = live_state(settings.data_dir)
    if state is None:
        return settings
    chosen = {
        "config": state.config,
        "data_dir": state.data_dir,
        "temporal_address": state.temporal_address,
        "temporal_namespace": state.temporal_namespace,
        "task_queue": state.task_queue,
    }
    update = {name: value for name, value in chosen.items() if not env.get(env_name(name))}
    if state.config not in _ANNOUNCED:
        _ANNOUNCED.add(state.config)
        typer.echo(
            f"note: using the config of the running tocsin dev (pid {state.pid}): {state.config}",
            err=True,
        )
    return settings.model_copy(update=update)


def config_file(settings: Settings) -> ConfigFile:
    try:
        return ConfigFile(settings.config)
    except ConfigError as err:
        for problem in err.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2) from None


class UnloadedConfig:
    """A config file that does not load, standing in for it where nothing reads it (a
    page action: the page workflow, with the running config, decides)."""

    def __init__(self, path: Path, error: ConfigError) -> None:
        self._path = path
        self._error = error

    def current(self) -> TocsinConfig:
        raise InvalidRequest(f"{self._path} does not load: {self._error.problems[0]}")


def running_config(settings: Settings) -> ConfigSource:
    """The config for a command the running stack decides (a page action): the file, or,
    when it exists but does not load, a warning on stderr and :class:`UnloadedConfig`, as
    the running stack keeps its last good config (only a missing file is exit 2)."""
    try:
        return ConfigFile(settings.config)
    except ConfigError as err:
        if not settings.config.exists():
            for problem in err.problems:
                typer.echo(problem, err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"warning: {settings.config} does not load, so it is not checked here:",
            err=True,
        )
        for problem in err.problems:
            typer.echo(f"  {problem}", err=True)
        typer.echo(
            "warning: the running stack keeps its last good config; the page decides",
            err=True,
        )
        return UnloadedConfig(settings.config, err)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def emit(value: object, as_json: bool, text: Callable[[], str]) -> None:
    """Print a result: ``--json`` as JSON (a model, or a list of them), else ``text()``."""
    if as_json:
        if isinstance(value, list):
            typer.echo(json.dumps([v.model_dump(mode="json") for v in value], indent=2))
        elif isinstance(value, BaseModel):
            typer.echo(value.model_dump_json(indent=2))
        else:
            raise TypeError(f"no JSON form for {type(value).__name__}")
    else:
        typer.echo(text())


async def connect_client(settings: Settings, *, metrics: bool = False) -> Any:
    try:
        return await connect(settings, metrics=metrics)
    except RuntimeError as err:
        raise fail(f"cannot reach Temporal at {settings.temporal_address}: {err}", 1) from None


def client_command(
    settings: Settings,
    call: Callable[[TocsinClient], Awaitable[T]],
    text: Callable[[T], str] | None = None,
    *,
    as_json: bool = False,
    check: Callable[[TocsinConfig], object] | None = None,
    config_may_fail: bool = False,
) -> T:
    """The body of every command that asks Tocsin something: load the config, refuse bad
    input with ``check`` before connecting, ``call`` the connected client, print the result
    (``--json``, else ``text(result)``; nothing without ``text``) and return it.

    Exit codes: 2 for bad input (the config, an unknown page, incident, team, person or
    severity); 1 when the action is refused or Temporal fails.

    With ``config_may_fail`` (actions the running stack decides, such as ``page ack``), a
    config file that exists but does not load is a warning: the call is made without
    ``check``.
    """
    quiet_logs(settings)
    source: ConfigSource = running_config(settings) if config_may_fail else config_file(settings)
    if isinstance(source, UnloadedConfig):
        check = None

    async def main() -> T:
        client = TocsinClient(await connect_client(settings), source, settings.task_queue)
        return await call(client)

    try:
        if check is not None:
            check(source.current())
        result = run(main())
    except (InvalidRequest, PageNotFound, IncidentNotFound) as err:
        raise fail(str(err)) from None
    except Rejected as err:
        raise fail(str(err), 1) from None
    except RPCError as err:
        raise fail(f"Temporal refused the call: {err.message}", 1) from None
    if text is not None:
        emit(result, as_json, lambda: text(result))
    return result


def setup_logging(settings: Settings, level: str | None = None, *, service: bool = False) -> None:
    """Logging for a command, with every secret the settings and the config name hidden.

    Services (``dev``, ``worker``, ``api``) render on a logging thread, off the event loop.
    """
    try:
        config_text = settings.config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        config_text = ""  # the config loader reports the missing file
    configure_logging(
        settings.log_format,
        level or settings.log_level,
        secrets=secret_values(settings, config_text=config_text),
        background=service,
    )


def quiet_logs(settings: Settings) -> None:
    """Warnings and errors to stderr: stdout stays the command's answer (--json, --csv)."""
    setup_logging(settings, "warning")


def actor(value: str | None) -> str:
    """The acting person: ``--as``, else ``TOCSIN_USER``."""
    who = value or settings_from().user
    if not who:
        raise fail("who is acting? pass --as PERSON or set TOCSIN_USER")
    return who


def require_actor(config: TocsinConfig, person: str | None, given: str | None) -> None:
    """Refuse an acting person the config does not know (a ``check`` of
    :func:`client_command`: exit 2 before Temporal is asked), naming them and where the
    name came from: ``given`` is the ``--as`` value, None when it came from ``TOCSIN_USER``.

    Raises:
        InvalidRequest: ``person`` is not one of the config's people.
    """
    if person is None or person in config.people:
        return
    source = "--as" if given else "TOCSIN_USER"
    raise InvalidRequest(f"{source}: unknown person {person!r} (not among the config's people)")


def when(at: datetime | None, zone: ZoneInfo | None = None, *, seconds: bool = False) -> str:
    """An instant as people read it, always with its zone: ``2026-11-23 09:59 CST`` in
    ``zone`` (default UTC); ``-`` for none."""
    if at is None:
        return "-"
    shown = at.astimezone(zone or UTC)
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def config_zone(settings: Settings, rotation: str | None = None) -> ZoneInfo:
    """The zone a command shows times in: ``rotation``'s when it is configured, else the
    config's ``timezone`` (UTC unless set)."""
    config = config_file(settings).current()
    spec = config.rotations.get(rotation) if rotation is not None else None
    return spec.zone if spec is not None else ZoneInfo(config.timezone)


# How timelines name an action taken with the CLI on the server: it holds Temporal's
# connection, so it may do what an admin may (act for anyone, give roles).
CLI_VIA = "server CLI"


def as_cli(person: str) -> dict[str, Any]:
    """The actor fields (``by``, ``via``, ``admin``) of a request the CLI makes for ``person``."""
    return {"by": person, "via": CLI_VIA, "admin": True}


def cli_actor(person: str) -> Acted:
    """The actor of a request the CLI makes for ``person``."""
    return Acted(**as_cli(person))


def model(build: Callable[[], T]) -> T:
    """Build a request model; a field it refuses is bad input (exit 2), named like an option."""
    try:
        return build()
    except ValidationError as err:
        problem = err.errors()[0]
        field = "-".join(str(p) for p in problem["loc"]).replace("_", "-")
        raise fail(f"--{field}: {problem['msg']}") from None
