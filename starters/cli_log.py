"""``tocsin log`` and ``tocsin report``: the incident log, read from its database (and
:func:`read_store`, how every command reads it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from starters.cli_common import (
    JsonOpt,
    emit,
    fail,
    run,
    settings_from,
    setup_logging,
)
from worker.settings import Settings
from workflows.incident_models import IncidentRecord, LogQuery

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore

T = TypeVar("T")

WhenHelp = "a duration back from now (7d, 12h) or an ISO 8601 date/time (UTC without offset)"
SinceOpt = Annotated[str, typer.Option(help=f"From: {WhenHelp}.")]
UntilOpt = Annotated[str | None, typer.Option(help="Up to (default: now); same forms as --since.")]


def incident_log(
    since: SinceOpt = "30d",
    until: UntilOpt = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 500,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of text.")] = False,
) -> None:
    """Past incidents from the incident log, newest first (the database in TOCSIN_DATABASE_URL)."""
    from starters.incident_log import LogRow, log_csv, log_text  # noqa: PLC0415

    if as_json and as_csv:
        raise fail("--json and --csv: choose one")
    start, end = _period(since, until)
    settings = settings_from()
    query = LogQuery(since=start, until=end, severity=severity, service=service, limit=limit)
    rows = [LogRow.of(r) for r in _read_log(settings, query)]
    if as_csv:
        typer.echo(log_csv(rows))
    else:
        emit(rows, as_json, lambda: log_text(rows))


def incident_report(
    since: SinceOpt = "30d", until: UntilOpt = None, as_json: JsonOpt = False
) -> None:
    """MTTA and MTTR per severity and per service over a period, from the incident log."""
    from starters.incident_log import report, report_text  # noqa: PLC0415

    start, end = _period(since, until)
    end = end or datetime.now(UTC)
    records = _read_log(settings_from(), LogQuery(since=start, until=end, limit=10_000))
    result = report(records, start, end)
    emit(result, as_json, lambda: report_text(result))


def _period(since: str, until: str | None) -> tuple[datetime, datetime | None]:
    from starters.incident_log import parse_when  # noqa: PLC0415

    now = datetime.now(UTC)
    try:
        start = parse_when(since, now)
    except ValueError as err:
        raise fail(f"--since: {err}") from None
    try:
        return start, None if until is None else parse_when(until, now)
    except ValueError as err:
        raise fail(f"--until: {err}") from None


def _read_log(settings: Settings, query: LogQuery) -> list[IncidentRecord]:
    """The incident log's rows for ``query``, read from the database directly (no Temporal)."""
    return read_store(settings, lambda store: store.list_incidents(query))


def read_store(settings: Settings, call: Callable[[SqlStore], Awaitable[T]]) -> T:
    """``call`` on the store in TOCSIN_DATABASE_URL, read directly (no Temporal needed).

    Exit codes: 2 for a URL Tocsin cannot use, 1 when the database fails.
    """
    from activities.adapters.sql_store import open_store  # noqa: PLC0415
    from activities.errors import AdapterError  # noqa: PLC0415
    from worker.settings import database_url  # noqa: PLC0415

    # Only errors reach stderr: stdout stays clean for --json and --csv.
    setup_logging(settings, "error")

    async def main() -> T:
        store = await open_store(database_url(settings))
        try:
            return await call(store)
        finally:
            await store.close()

    try:
        return run(main())
    except ValueError as err:
        raise fail(f"TOCSIN_DATABASE_URL: {err}") from None
    except AdapterError as err:
        raise fail(str(err), 1) from None
