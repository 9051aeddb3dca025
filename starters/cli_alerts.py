"""``tocsin report``: the incident log's MTTA/MTTR report, and ``tocsin report alerts``, the
alert-noise report from the page log (both read the database directly: no Temporal)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from starters.cli_common import ConfigOpt, JsonOpt, config_file, emit, fail, settings_from
from starters.cli_log import SinceOpt, UntilOpt, incident_report, read_store

report_app = typer.Typer(
    help="Reports: MTTA and MTTR per severity and service (no subcommand), alert noise (alerts).",
    invoke_without_command=True,
)


@report_app.callback()
def report(
    ctx: typer.Context, since: SinceOpt = "30d", until: UntilOpt = None, as_json: JsonOpt = False
) -> None:
    """MTTA and MTTR per severity and per service over a period, from the incident log;
    ``tocsin report alerts``: the alert-noise report."""
    if ctx.invoked_subcommand is None:
        incident_report(since, until, as_json)


@report_app.command("alerts")
def alerts(
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="From: a duration back from now (7d) or an ISO 8601 date/time (UTC)."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Up to (default: now); same forms as --from.")
    ] = None,
    days: Annotated[int | None, typer.Option(help="The last N days (default 30).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Alert noise per rule (pages, acked, auto-resolved unacked, median ack, flaps,
    off-hours, silenced), noisiest first with the rules to fix or disable marked; and the
    on-call load per person and shift (pages, off-hours pages, incidents they worked)."""
    from activities.adapters.sql_page_log import SqlPageLog  # noqa: PLC0415
    from starters.alert_report import alert_period, read_noise_report  # noqa: PLC0415
    from starters.noise_report import report_text  # noqa: PLC0415

    try:
        since, until = alert_period(start, end, days, datetime.now(UTC))
    except ValueError as err:
        name, _, why = str(err).partition(": ")
        raise fail(f"--{name}: {why}") from None
    settings = settings_from(config=config)
    tocsin = config_file(settings).current()
    found = read_store(
        settings,
        lambda store: read_noise_report(SqlPageLog(store), store, tocsin, since, until, store),
    )
    emit(found, as_json, lambda: report_text(found, ZoneInfo(tocsin.timezone)))
