"""*Reports*: the incident log over a period with MTTA/MTTR per severity and per service
(the same rows and figures as ``/api/log`` and ``/api/report``), and each rotation's
recent on-call reports.

An on-call report is what a shift's workflow (``shift-<rotation>-<start>``) returns when
the shift ends; the rotation's workflow only holds a report until the next shift has
taken its notes. So the reports are read from the shift workflows themselves: the
rotation's plan gives the recent shifts' starts, hence their workflow ids; a finished
one's result is its report (read from Temporal's history, no worker needed). Temporal
keeps finished workflows for the namespace's retention: older reports live on in the team
channel and the mail they were sent to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from temporalio.service import RPCError

from activities.errors import AdapterError
from activities.ports import Store
from starters.api import TocsinClient
from starters.clients.shifts import ShiftWorkflowClient
from starters.console.actions import TEMPORAL_DOWN, tocsin
from starters.console.auth import SignedIn
from starters.console.render import page
from starters.errors import TocsinError
from starters.http.log import NOT_CONFIGURED, UNAVAILABLE
from starters.incident_log import LogRow, Report, human_duration, parse_when, report
from workflows.ids import shift_workflow_id
from workflows.incident_models import LogQuery
from workflows.rotation_models import RotationPlan, ShiftReport
from workflows.rotation_rules import shift_bounds

Period = Literal["7d", "30d", "90d"]
PERIODS: tuple[Period, ...] = ("7d", "30d", "90d")
# Incidents read for the figures (as /api/report), and listed on the page.
READ_LIMIT = 10_000
LISTED = 200
# Shifts looked up per rotation, newest first (the running one included).
SHIFTS_EACH = 6
# Shift workflows described at once; each answer waited for at most this long.
AT_ONCE = 8
RPC_TIMEOUT = timedelta(seconds=3)


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
class PastShift:
    """One shift of a rotation: its report once it has ended (``status`` says otherwise)."""

    start: datetime
    end: datetime
    status: str
    report: ShiftReport | None = None

    @property
    def pages(self) -> int:
        return sum(1 for p in self.report.activity.pages if not p.test) if self.report else 0

    @property
    def off_hours(self) -> int:
        if self.report is None:
            return 0
        return sum(1 for p in self.report.activity.pages if p.off_hours and not p.test)

    @property
    def incidents(self) -> int:
        return len(self.report.activity.incidents) if self.report else 0


@dataclass(frozen=True)
class RotationReports:
    rotation: str
    team: str | None
    timezone: str
    shifts: list[PastShift]
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


def recent_shifts(plan: RotationPlan, now: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` of the shift running at ``now`` and those before it, newest first
    (as far back as shifts ran without a break)."""
    found: list[tuple[datetime, datetime]] = []
    at = now
    while len(found) < count and (bounds := shift_bounds(plan, at)) is not None:
        found.append(bounds)
        at = bounds[0] - timedelta(microseconds=1)
    return found


class ShiftReports:
    """Recent on-call reports of a rotation, read from its shifts' workflows."""

    def __init__(self, client: TocsinClient) -> None:
        self._client = client
        self._gate = asyncio.Semaphore(AT_ONCE)

    async def recent(self, name: str, now: datetime, count: int = SHIFTS_EACH) -> RotationReports:
        """The rotation's last ``count`` shifts that Temporal still knows, newest first."""
        config = self._client.config.current()
        spec = config.rotations[name]
        team = next((t for t, s in config.teams.items() if s.rotation == name), None)
        try:
            plan: RotationPlan = await self._client.rotation_call(lambda r: r.plan(name))
            found = await asyncio.gather(
                *(self._shift(name, *bounds) for bounds in recent_shifts(plan, now, count))
            )
        except TocsinError as err:
            return RotationReports(name, team, spec.timezone, [], str(err))
        except RPCError:
            return RotationReports(name, team, spec.timezone, [], TEMPORAL_DOWN)
        shifts = [s for s in found if s is not None]
        return RotationReports(name, team, spec.timezone, shifts)

    async def _shift(self, name: str, start: datetime, end: datetime) -> PastShift | None:
        """The shift's report when it ended; None when Temporal has no such workflow (never
        started, or past retention)."""
        shifts = ShiftWorkflowClient(self._client.temporal)
        async with self._gate:
            found = await shifts.outcome(shift_workflow_id(name, start), RPC_TIMEOUT)
        if found is None:
            return None
        status, report = found
        if report is not None:
            return PastShift(start, end, "ended", report)
        # Running (no report until it ends), or failed, terminated, timed out.
        shown = status.name.lower().replace("_", " ") if status is not None else "unknown"
        return PastShift(start, end, shown)


def local(when: datetime | None, zone: str) -> str:
    """``Mon 2026-11-30 10:00 CST`` in the rotation's zone."""
    return "—" if when is None else f"{when.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M %Z}"


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/reports")
    async def reports(
        request: Request,
        session: SignedIn,
        period: Annotated[Period, Query()] = "30d",
    ) -> Response:
        client = tocsin(request)
        now = datetime.now(UTC)
        store: Store | None = getattr(request.app.state, "store", None)
        shifts = ShiftReports(client)
        log, on_call = await asyncio.gather(
            read_log(store, period, now),
            asyncio.gather(
                *(shifts.recent(n, now) for n in sorted(client.config.current().rotations))
            ),
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

    return routes
