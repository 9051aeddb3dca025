"""The ``tocsin`` command line: run the stack or its parts, check config, act on pages
and incidents.

Exit codes: 0 success; 1 the action was refused or Temporal could not be reached;
2 bad input (a config file error, an unknown page, incident, team, person or severity,
a bad argument).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from temporalio.service import RPCError

from starters.api import TocsinClient
from starters.checks import oncall_entries
from starters.cli_alerts import report_app
from starters.cli_checks import checks_command
from starters.cli_common import (
    ConfigOpt,
    JsonOpt,
    config_file,
    emit,
    fail,
    instant,
    run,
    settings_from,
    setup_logging,
)
from starters.cli_common import connect_client as _connect
from starters.cli_common import quiet_logs as _quiet_logs
from starters.cli_heartbeats import heartbeats
from starters.cli_import import import_app
from starters.cli_incidents import incident_app
from starters.cli_log import incident_log
from starters.cli_pages import page_app
from starters.cli_rotations import ical, oncall_compare, rotation_app, shift_app
from starters.cli_silences import silence_app
from starters.cli_tokens import token_app
from starters.errors import InvalidRequest, Rejected
from worker.client import connect
from worker.config import ConfigError, load_config
from worker.tracing import traced
from workflows.models import OnCallEntry
from workflows.rotation_warnings import rotation_warnings

app = typer.Typer(
    help="Tocsin: durable incident response and on-call orchestration on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(page_app, name="page")
app.add_typer(incident_app, name="incident")
app.add_typer(rotation_app, name="rotation")
app.add_typer(shift_app, name="shift")
app.add_typer(token_app, name="token")
app.add_typer(silence_app, name="silence")
app.add_typer(import_app, name="import")
app.command("ical")(ical)
app.command("checks")(checks_command)
app.command("heartbeats")(heartbeats)

# -- running -----------------------------------------------------------------------------


@app.command()
def dev(
    config: ConfigOpt = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="State directory (env: TOCSIN_DATA_DIR)")
    ] = None,
    api_port: Annotated[
        int | None, typer.Option(help="API port (8080) (env: TOCSIN_API_PORT)")
    ] = None,
    temporal_port: Annotated[
        int | None, typer.Option(help="Temporal gRPC port (7233) (env: TOCSIN_TEMPORAL_PORT)")
    ] = None,
    ui_port: Annotated[
        int | None, typer.Option(help="Temporal UI port (8233) (env: TOCSIN_UI_PORT)")
    ] = None,
) -> None:
    """Run the embedded stack: Temporal dev server + UI, worker and API, all on 127.0.0.1."""
    from starters.dev import PortInUse, run_dev  # noqa: PLC0415 - keeps other commands fast to start

    settings = settings_from(
        find_stack=False,  # dev starts a stack: it never takes another's config
        config=config,
        data_dir=data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
    )
    setup_logging(settings, service=True)
    source = config_file(settings)
    try:
        with traced("tocsin-dev"):
            run(run_dev(settings, source))
    except PortInUse as err:
        raise fail(str(err), 2) from None
    except (OSError, RuntimeError) as err:
        raise fail(str(err), 1) from None


@app.command()
def worker(config: ConfigOpt = None) -> None:
    """Run the worker alone against TOCSIN_TEMPORAL_ADDRESS."""
    from worker.run import run_worker  # noqa: PLC0415

    settings = settings_from(config=config)
    setup_logging(settings, service=True)
    source = config_file(settings)

    async def main() -> None:
        # The SDK's metrics go to the worker's /metrics (worker/sdk_metrics.py).
        client = await _connect(settings, metrics=True)
        stop = asyncio.Event()
        _on_signals(stop)
        await run_worker(client, settings, source, stop)

    with traced("tocsin-worker"):
        run(main())


@app.command()
def api(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (127.0.0.1) (env: TOCSIN_API_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (8080) (env: TOCSIN_API_PORT)")] = None,
) -> None:
    """Run the HTTP API alone against TOCSIN_TEMPORAL_ADDRESS (needs TOCSIN_API_TOKEN)."""
    from starters.http.app import app_from_settings  # noqa: PLC0415
    from starters.server import serve_api  # noqa: PLC0415

    settings = settings_from(config=config, api_host=host, api_port=port)
    setup_logging(settings, service=True)
    if settings.api_token is None:
        raise fail("TOCSIN_API_TOKEN is not set: the API refuses to run without a token")
    source = config_file(settings)

    async def factory() -> TocsinClient:
        return TocsinClient(await _connect(settings), source, settings.task_queue)

    token = settings.api_token.get_secret_value()

    async def main() -> None:
        stop = asyncio.Event()
        _on_signals(stop)
        app_ = app_from_settings(settings, token, factory)
        await serve_api(app_, settings.api_host, settings.api_port, stop)

    try:
        with traced("tocsin-api"):
            run(main())
    except OSError as err:
        raise fail(str(err), 1) from None


def _on_signals(stop: asyncio.Event) -> None:
    import signal  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


# -- config --------------------------------------------------------------------------------


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="The config file to check.")]) -> None:
    """Validate a config file: print ``ok``, or every error as ``FILE: key.path: message``.

    Rotation warnings (unreachable people, gaps) go to stderr as ``warning: …``; they do
    not fail the check.
    """
    try:
        checked = load_config(file)
    except ConfigError as err:
        for problem in err.problems:
            typer.echo(problem)
        raise typer.Exit(2) from None
    for warning in rotation_warnings(checked):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo("ok")


# -- on call -------------------------------------------------------------------------------

# `tocsin oncall` answers itself; `tocsin oncall compare` checks it against Opsgenie.
oncall_app = typer.Typer()
app.add_typer(oncall_app, name="oncall")
oncall_app.command("compare")(oncall_compare)


@oncall_app.callback(invoke_without_command=True)
def oncall(
    ctx: typer.Context,
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Instant with offset, e.g. 2026-11-23T10:00:00-06:00 (default: now).",
            callback=instant,
        ),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is on call now (or at --at), per team and layer, overrides and swaps included.

    Without Temporal (no worker running yet) the config's schedule answers, and a note on
    stderr says overrides are not included. ``tocsin oncall compare`` compares a rotation
    with an Opsgenie schedule's timeline.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(config=config)
    _quiet_logs(settings)
    source = config_file(settings)
    try:
        entries = oncall_entries(source.current(), team, at)
    except InvalidRequest as err:
        raise fail(str(err)) from None

    async def live() -> list[OnCallEntry]:
        client = TocsinClient(await connect(settings), source, settings.task_queue)
        return await client.oncall(team, at)

    try:
        entries = run(asyncio.wait_for(live(), LIVE_TIMEOUT))
    except (RuntimeError, RPCError, TimeoutError):
        typer.echo(
            f"note: Temporal at {settings.temporal_address} did not answer: the config's "
            "schedule is shown, without overrides or swaps",
            err=True,
        )
    except (InvalidRequest, Rejected) as err:
        raise fail(str(err)) from None
    zones = {name: r.zone for name, r in source.current().rotations.items()}
    emit(entries, as_json, lambda: _oncall_text(entries, zones))


LIVE_TIMEOUT = 10.0


def _oncall_text(entries: list[OnCallEntry], zones: dict[str, ZoneInfo]) -> str:
    """One line per layer; times in the rotation's own time zone, as its handoffs are set."""
    rows = []
    for e in entries:
        end = e.end.astimezone(zones[e.rotation]) if e.end else None
        until = f"until {end:%a %Y-%m-%d %H:%M %Z}" if end else ""
        who = f"{e.person} ({e.name})" if e.person else "nobody (rotation not started)"
        rows.append(f"{e.team:<16} {e.layer:<6} {who:<32} {until}")
    return "\n".join(rows) or "no team has a rotation"


app.command("log")(incident_log)
app.add_typer(report_app, name="report")


def main() -> None:
    """Console-script entry point.

    Ends the process with ``os._exit`` once the command is done: the Temporal client's
    Rust threads can otherwise touch the interpreter while it finalizes and abort the
    process (``Fatal Python error: PyGILState_Release``, exit 134) after the command
    succeeded — a few percent of short CLI runs (temporalio/sdk-python#300).
    """
    code: int
    try:
        app()
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
