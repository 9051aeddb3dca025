"""*Reports*: the incident log over a period with MTTA/MTTR per severity and per service
(the same rows and figures as ``/api/log`` and ``/api/report``), each rotation's newest
on-call reports, and one report to read (``/reports/{id}``); the alert-noise report is
:mod:`starters.console.noise_view` (``/reports/alerts``).

A shift keeps its on-call report in the SQL store when it ends (the same reports as
``/api/reports``), so they outlive Temporal's retention; shifts that ended before reports
were kept are in the team channel and the mail they were sent to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from activities.errors import AdapterError
from activities.ports import ShiftReports, Store
from starters.console import noise_view
from starters.console.actions import tocsin
from starters.console.auth import SignedIn
from starters.console.render import page
from starters.http.log import NOT_CONFIGURED, UNAVAILABLE
from starters.http.reports import NOT_KEPT
from starters.http.reports import UNAVAILABLE as REPORTS_UNAVAILABLE
from starters.incident_log import LogRow, Report, human_duration, parse_when, report
from workflows.config import TocsinConfig
from workflows.incident_models import LogQuery
from workflows.rotation_models import ReportQuery, ShiftReport

Period = Literal["7d", "30d", "90d"]
PERIODS: tuple[Period, ...] = ("7d", "30d", "90d")
# Incidents read for the figures (as /api/report), and listed on the page.
READ_LIMIT = 10_000
LISTED = 200
# Kept reports listed per rotation, newest first.
REPORTS_EACH = 6


@dataclass(frozen=True)
class IncidentLog:
    """The period's incidents and their figures, or why they cannot be shown."""

    since: datetime
    until: datetime
    report: Report | None = None
    rows: list[LogRow] = field(default_factory=list)
    total: int = 0
    error: str | None = None


@dataclass(frozen=True)
class KeptReport:
    """A kept on-call report with the counts the list shows."""

    report: ShiftReport

    @property
    def pages(self) -> int:
        return sum(1 for p in self.report.activity.pages if not p.test)

    @property
    def off_hours(self) -> int:
        return sum(1 for p in self.report.activity.pages if p.off_hours and not p.test)

    @property
    def incidents(self) -> int:
        return len(self.report.activity.incidents)


@dataclass(frozen=True)
class RotationReports:
    rotation: str
    team: str | None
    timezone: str
    reports: list[KeptReport]
    error: str | None = None


async def read_log(store: Store | None, period: Period, now: datetime) -> IncidentLog:
    """Incidents declared over the last ``period``, newest first, and their MTTA/MTTR."""
    since = parse_when(period, now)
    if store is None:
        return IncidentLog(since, now, error=NOT_CONFIGURED)
    try:
        records = await store.list_incidents(LogQuery(since=since, until=now, limit=READ_LIMIT))
    except AdapterError:
        return IncidentLog(since, now, error=UNAVAILABLE)
    return IncidentLog(
        since,
        now,
        report=report(records, since, now),
        rows=[LogRow.of(r) for r in records[:LISTED]],
        total=len(records),
    )


async def rotation_reports(
    store: object, config: TocsinConfig, name: str, count: int = REPORTS_EACH
) -> RotationReports:
    """The rotation's ``count`` newest kept reports (or why they cannot be shown)."""
    spec = config.rotations[name]
    team = next((t for t, s in config.teams.items() if s.rotation == name), None)
    if not isinstance(store, ShiftReports):
        return RotationReports(name, team, spec.timezone, [], NOT_KEPT)
    try:
        found = await store.list_shift_reports(ReportQuery(rotation=name, limit=count))
    except AdapterError:
        return RotationReports(name, team, spec.timezone, [], REPORTS_UNAVAILABLE)
    return RotationReports(name, team, spec.timezone, [KeptReport(r) for r in found])


def local(when: datetime | None, zone: str) -> str:
    """``Mon 2026-11-30 10:00 CST`` in the rotation's zone."""
    return "—" if when is None else f"{when.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M %Z}"


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    # Alert noise first: /reports/{report_id} would take "alerts" for a report's id.
    routes.include_router(noise_view.router())

    @routes.get("/reports")
    async def reports(
        request: Request,
        session: SignedIn,
        period: Annotated[Period, Query()] = "30d",
    ) -> Response:
        config = tocsin(request).config.current()
        now = datetime.now(UTC)
        store: Store | None = getattr(request.app.state, "store", None)
        log, on_call = await asyncio.gather(
            read_log(store, period, now),
            asyncio.gather(*(rotation_reports(store, config, n) for n in sorted(config.rotations))),
        )
        return page(
            request,
            "reports.html",
            session,
            period=period,
            periods=PERIODS,
            log=log,
            on_call=list(on_call),
            duration=human_duration,
            local=local,
        )

    @routes.get("/reports/{report_id}")
    async def one_report(
        request: Request,
        session: SignedIn,
        report_id: Annotated[str, Path(max_length=160)],
    ) -> Response:
        store = getattr(request.app.state, "store", None)
        problem, found = None, None
        if not isinstance(store, ShiftReports):
            problem = NOT_KEPT
        else:
            try:
                found = await store.get_shift_report(report_id)
            except AdapterError:
                problem = REPORTS_UNAVAILABLE
        if found is None:
            return page(
                request,
                "message.html",
                session,
                status=503 if problem else 404,
                heading="On-call report",
                text=problem or f"There is no on-call report {report_id!r}.",
                back="/reports",
            )
        config = tocsin(request).config.current()
        spec = config.rotations.get(found.rotation)
        zone = found.timezone or (spec.timezone if spec else config.timezone)
        return page(
            request, "report.html", session, r=found, kept=KeptReport(found), zone=zone, local=local
        )

    return routes
