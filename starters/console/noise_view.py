"""*Reports*, *Alert noise* (``/reports/alerts``): the alert-noise report of a period chosen
by a small form, the same report as ``GET /api/report/alerts`` and ``tocsin report alerts``
(read through :func:`starters.alert_report.read_noise_report`): each alert rule noisiest
first, the rules to fix or disable marked with the stated check behind each mark, and the
on-call load per person and shift with the incidents they worked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from activities.errors import AdapterError
from starters.alert_report import alert_period, read_noise_report
from starters.console.actions import tocsin
from starters.console.auth import SignedIn
from starters.console.render import page
from starters.console.schedules_view import local
from starters.http.alert_report import NOT_KEPT, UNAVAILABLE
from starters.incident_log import human_duration
from starters.noise_report import CheckText, NoiseReport, ShiftLoad
from workflows.config import TocsinConfig

# The quick periods the page links to (days back from now).
QUICK_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class Noise:
    """What the page shows: the report, or why it cannot be shown (``status``: the
    answer's HTTP status, 422 for a period that does not parse)."""

    report: NoiseReport | None = None
    error: str | None = None
    status: int = 200

    def checks(self) -> dict[str, CheckText]:
        """The stated checks by name: the reason behind each mark."""
        return {c.name: c for c in self.report.checks} if self.report else {}


async def read_noise(
    store: object,
    config: TocsinConfig,
    start: str | None,
    end: str | None,
    days: str | None,
    now: datetime,
) -> Noise:
    """The report over the period the form asks for (the last 30 days when it asks none)."""
    try:
        if days is not None and not days.strip().isdigit():
            raise ValueError(f"days: a whole number of days, not {days!r}")
        since, until = alert_period(start, end, int(days) if days else None, now)
    except ValueError as err:
        return Noise(error=str(err), status=422)
    if not isinstance(store, SqlStore):
        return Noise(error=NOT_KEPT)
    try:
        found = await read_noise_report(SqlPageLog(store), store, config, since, until, store)
    except AdapterError:
        return Noise(error=UNAVAILABLE)
    return Noise(found)


def shift_zone(load: ShiftLoad, config: TocsinConfig) -> ZoneInfo:
    """The rotation's zone (the config's when the rotation is gone from it)."""
    spec = config.rotations.get(load.rotation)
    return ZoneInfo(spec.timezone if spec else config.timezone)


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/reports/alerts")
    async def alert_noise(
        request: Request,
        session: SignedIn,
        start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
        days: Annotated[str | None, Query(max_length=10)] = None,
    ) -> Response:
        config = tocsin(request).config.current()
        # An empty field of the form means the default, as if it had not been sent.
        start, end = start or None, end or None
        noise = await read_noise(
            getattr(request.app.state, "store", None), config, start, end, days, datetime.now(UTC)
        )
        return page(
            request,
            "alerts.html",
            session,
            status=noise.status,
            noise=noise,
            start=start or "",
            end=end or "",
            days=days,
            quick=QUICK_DAYS,
            duration=human_duration,
            local=lambda when, load: local(when, shift_zone(load, config)),
        )

    return routes
