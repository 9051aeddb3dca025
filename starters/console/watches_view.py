"""*Watches*: every configured heartbeat (ok, overdue, or unknown while its workflow is not
running; when it was last seen, when the next ping is due, the page it has open) and every
uptime check (up, down or pending; uptime over 24 h, 7 d and 30 d; p50/p99 latency; the
last failure).

Heartbeats are read through the same :class:`~starters.heartbeats.Heartbeats` as
``GET /api/heartbeats`` (its dependency, so tests and the API see the same one); checks'
figures through the same results store and :func:`~starters.uptime_report.summarise` as
``GET /api/checks``. Either half failing (Temporal, the store) is a sentence in its own
section; the other half still shows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from temporalio.service import RPCError

from activities.errors import AdapterError
from activities.ports import CheckResults
from starters.console.actions import tocsin
from starters.console.auth import SignedIn
from starters.console.render import page
from starters.console.schedules_view import local
from starters.heartbeats import Heartbeats
from starters.http.checks import NOT_KEPT, UNAVAILABLE, kept_results
from starters.http.heartbeats import HeartbeatsDep
from starters.uptime_report import CheckSummary, summarise
from workflows.durations import format_duration
from workflows.heartbeat_models import HeartbeatState

TEMPORAL_DOWN = "Temporal did not answer, try again in a moment"
# The results read for the figures: all that are kept (as GET /api/checks by default).
DAYS = 30
# The class of each status's badge: the stylesheet colours page states (resolved green,
# triggered red); unknown and pending stay plain.
TONES = {
    "ok": "resolved",
    "up": "resolved",
    "overdue": "triggered",
    "down": "triggered",
    "unknown": "unknown",
    "pending": "pending",
}


@dataclass(frozen=True)
class HeartbeatRows:
    """The heartbeats as the page lists them, or why they cannot be listed."""

    states: list[HeartbeatState] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class CheckRows:
    """The checks' figures as the page lists them, or why they cannot be listed."""

    summaries: list[CheckSummary] = field(default_factory=list)
    error: str | None = None


async def read_heartbeats(found: Heartbeats) -> HeartbeatRows:
    """Every configured heartbeat's state, by name (Temporal failing: why not)."""
    try:
        return HeartbeatRows(await found.states())
    except (RPCError, TimeoutError):
        return HeartbeatRows(error=TEMPORAL_DOWN)


async def read_checks(
    results: CheckResults | None, checks: list[str], now: datetime, days: int = DAYS
) -> CheckRows:
    """The configured checks' figures from the last ``days`` of kept results."""
    if results is None:
        return CheckRows(error=NOT_KEPT)
    try:
        found = await results.list_check_results(now - timedelta(days=days))
    except AdapterError:
        return CheckRows(error=UNAVAILABLE)
    return CheckRows(summarise(found, now, days, checks))


def results_of(request: Request) -> CheckResults | None:
    """The app's check results, as ``GET /api/checks`` reads them (None: none are kept)."""
    try:
        return kept_results(request)
    except HTTPException:
        return None


def every(state: HeartbeatState) -> str:
    """``1d + 2h grace``, or ``5m`` without grace."""
    grace = f" + {format_duration(state.grace)} grace" if state.grace else ""
    return f"{format_duration(state.interval)}{grace}"


def percent(value: float | None) -> str:
    """``99.95 %``; ``—`` without probes in the window."""
    return "—" if value is None else f"{value:.2f} %"


def millis(value: float | None) -> str:
    """``120 ms``; ``—`` without an answered probe."""
    return "—" if value is None else f"{value:.0f} ms"


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/watches")
    async def watches(request: Request, session: SignedIn, found: HeartbeatsDep) -> Response:
        config = tocsin(request).config.current()
        zone = ZoneInfo(config.timezone)
        now = datetime.now(UTC)
        beats, checks = await asyncio.gather(
            read_heartbeats(found), read_checks(results_of(request), sorted(config.checks), now)
        )
        return page(
            request,
            "watches.html",
            session,
            beats=beats,
            checks=checks,
            specs=config.checks,
            timezone=config.timezone,
            local=lambda when: local(when, zone),
            every=every,
            percent=percent,
            millis=millis,
            tones=TONES,
            days=DAYS,
        )

    return routes


__all__ = ["CheckRows", "HeartbeatRows", "read_checks", "read_heartbeats", "router"]
