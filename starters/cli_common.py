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

from starters.api import TocsinClient
from starters.errors import IncidentNotFound, InvalidRequest, PageNotFound, Rejected
from worker.client import connect
from worker.config import ConfigError, ConfigFile
from worker.logging import configure_logging
from worker.settings import Settings, SettingsError, secret_values
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


def settings_from(**overrides: object) -> Settings:
    try:
        return Settings.from_env(overrides)
    except SettingsError as err:
        raise fail(str(err)) from None


def config_file(settings: Settings) -> ConfigFile:
    try:
        return ConfigFile(settings.config)
    except ConfigError as err:
        for problem in err.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2) from None


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


async def connect_client(settings: Settings) -> Any:
    try:
        return await connect(settings)
    except RuntimeError as err:
        raise fail(f"cannot reach Temporal at {settings.temporal_address}: {err}", 1) from None


def client_command(
    settings: Settings,
    call: Callable[[TocsinClient], Awaitable[T]],
    text: Callable[[T], str] | None = None,
    *,
    as_json: bool = False,
    check: Callable[[TocsinConfig], object] | None = None,
) -> T:
    """The body of every command that asks Tocsin something: load the config, refuse bad
    input with ``check`` before connecting, ``call`` the connected client, print the result
    (``--json``, else ``text(result)``; nothing without ``text``) and return it.

    Exit codes: 2 for bad input (the config, an unknown page, incident, team, person or
    severity); 1 when the action is refused or Temporal fails.
    """
    quiet_logs(settings)
    source = config_file(settings)

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
