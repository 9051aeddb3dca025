"""Reading the alert-noise report: its period as people give it, and the rows it is
computed from (the page log, the kept on-call reports, the incident log, the config's
rotations), for the CLI, the API and the console alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.ports import PageLog, ShiftReports, Store
from starters.incident_log import parse_when
from starters.noise_report import NoiseReport, noise_report
from workflows.config import TocsinConfig
from workflows.incident_models import IncidentRecord, LogQuery
from workflows.rotation_models import ReportQuery, ShiftReport

DEFAULT_DAYS = 30
MAX_PERIOD = timedelta(days=366)
# Kept reports read for one report (a month of daily shifts over a few rotations).
REPORT_LIMIT = 500
# Incidents read for the on-call load (as the console's and /api/report's figures).
INCIDENT_LIMIT = 10_000


def alert_period(
    start: str | None, end: str | None, days: int | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[from, to)`` from ``from``/``to`` (a duration back from now or an ISO date/time)
    or the last ``days`` days; the last 30 days when none is given.

    Raises:
        ValueError: naming the argument (``from``, ``to``, ``days``) and what is wrong.
    """
    now = now.astimezone(UTC)
    if days is not None:
        if start is not None:
            raise ValueError("days: give either days or from/to, not both")
        if not 1 <= days <= MAX_PERIOD.days:
            raise ValueError(f"days: between 1 and {MAX_PERIOD.days}, not {days}")
    try:
        until = now if end is None else parse_when(end, now)
    except ValueError as err:
        raise ValueError(f"to: {err}") from None
    if start is None:
        return until - timedelta(days=days or DEFAULT_DAYS), until
    try:
        since = parse_when(start, now)
    except ValueError as err:
        raise ValueError(f"from: {err}") from None
    if since >= until:
        raise ValueError(
            f"from: {since:%Y-%m-%dT%H:%MZ} is not before to ({until:%Y-%m-%dT%H:%MZ})"
        )
    if until - since > MAX_PERIOD:
        raise ValueError(f"from: the period is over {MAX_PERIOD.days} days; ask for less")
    return since, until


async def read_noise_report(
    log: PageLog,
    reports: ShiftReports | None,
    config: TocsinConfig,
    start: datetime,
    end: datetime,
    incidents: Store | None = None,
) -> NoiseReport:
    """The report over ``[start, end)`` from the store: the page log, the kept on-call
    reports and the incident log (raises the adapters' errors)."""
    pages = await log.list_pages(start, end)
    kept: list[ShiftReport] = []
    if reports is not None:
        found = await reports.list_shift_reports(ReportQuery(since=start, limit=REPORT_LIMIT))
        kept = [r for r in found if r.start < end]
    declared: list[IncidentRecord] = []
    if incidents is not None:
        query = LogQuery(since=start, until=end, limit=INCIDENT_LIMIT)
        declared = await incidents.list_incidents(query)
    return noise_report(pages, start, end, config, kept, incidents=declared)
