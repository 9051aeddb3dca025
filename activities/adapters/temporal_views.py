"""Tocsin's own workflows as data sources: rotation plans and a team's pages and incidents.

Read through the Temporal client (queries and visibility), so activities and starters see
what the workflows own: overrides live in RotationWorkflow, pages in PageWorkflow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import structlog
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import Unavailable
from workflows import search
from workflows.ids import rotation_workflow_id
from workflows.incident_models import IncidentState, IncidentStatus
from workflows.models import PageState, PageStatus
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    RotationPlan,
    TeamActivity,
    TeamActivityQuery,
)

PLAN_TIMEOUT = timedelta(seconds=3)
# How long a rotation's plan, once read, answers for every page that asks.
PLAN_FRESH = 1.0
log = structlog.get_logger("tocsin.temporal_views")
M = TypeVar("M", bound=BaseModel)

# A shift's report lists at most this many pages (a storm is summarised by its count).
MAX_ITEMS = 200
OPEN_PAGES = (PageStatus.triggered.value, PageStatus.acknowledged.value)
OPEN_INCIDENTS = (
    IncidentStatus.triage.value,
    IncidentStatus.active.value,
    IncidentStatus.resolved.value,
)


class TemporalRotations:
    """``RotationSource``: the plan from the rotation's workflow (``get_plan`` query).

    In a surge every escalating page asks for the same few plans: one query per rotation
    is shared by the callers that ask while it runs, and its answer serves for
    :data:`PLAN_FRESH` seconds (an override made in that second is seen by the next step).
    """

    def __init__(
        self, client: Client, fresh: float = PLAN_FRESH, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._fresh = fresh
        self._clock = clock
        self._known: dict[str, tuple[float, RotationPlan | None]] = {}
        self._asking: dict[str, asyncio.Future[RotationPlan | None]] = {}

    async def plan(self, name: str) -> RotationPlan | None:
        """The live plan, or None: no workflow, or it does not answer within seconds.

        A page must never wait on the rotation's workflow: without an answer the config's
        schedule applies (overrides and swaps are then not seen, and that is logged).
        """
        known = self._known.get(name)
        if known is not None and self._clock() - known[0] < self._fresh:
            return known[1]
        asking = self._asking.get(name)
        if asking is not None:
            return await asyncio.shield(asking)
        future: asyncio.Future[RotationPlan | None] = asyncio.get_running_loop().create_future()
        self._asking[name] = future
        try:
            plan = await self._query(name)
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # retrieved: a caller that went away leaves no warning
            raise
        finally:
            del self._asking[name]
        self._known[name] = (self._clock(), plan)
        future.set_result(plan)
        return plan

    async def _query(self, name: str) -> RotationPlan | None:
        handle = self._client.get_workflow_handle(rotation_workflow_id(name))
        try:
            plan: RotationPlan = await handle.query(
                "get_plan", result_type=RotationPlan, rpc_timeout=PLAN_TIMEOUT
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                log.warning(
                    "rotation plan unavailable: config schedule used",
                    rotation=name,
                    error=err.message,
                )
            return None
        return plan


def off_hours(at: datetime, zone: str, start_hour: int, end_hour: int) -> bool:
    """Outside ``[start_hour, end_hour)`` local time, or at a weekend."""
    local = at.astimezone(ZoneInfo(zone))
    return local.weekday() >= 5 or not start_hour <= local.hour < end_hour


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


class TemporalTeamActivity:
    """``TeamActivitySource`` from Temporal visibility, then each workflow's ``get_state``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def activity(self, query: TeamActivityQuery) -> TeamActivity:
        team = f'{search.TEAM.name} = "{query.team}"'
        window = (
            f'StartTime >= "{query.start.isoformat()}" AND StartTime < "{query.end.isoformat()}"'
        )
        try:
            pages = await self._pages(f'{search.KIND.name} = "page" AND {team} AND {window}', query)
            open_pages = await self._pages(
                f'{search.KIND.name} = "page" AND {team} AND '
                f"{search.STATUS.name} IN ({_quoted(OPEN_PAGES)})",
                query,
            )
            incidents = await self._incidents(
                f'{search.KIND.name} = "incident" AND {team} AND {window}'
            )
            open_incidents = await self._incidents(
                f'{search.KIND.name} = "incident" AND {team} AND '
                f"{search.STATUS.name} IN ({_quoted(OPEN_INCIDENTS)})"
            )
        except RPCError as err:
            raise Unavailable(f"temporal visibility: {err.message}") from None
        return TeamActivity(
            pages=sorted(pages, key=lambda p: p.created_at),
            incidents=sorted(incidents, key=lambda i: i.declared_at),
            open_pages=[p for p in open_pages if not p.test],
            open_incidents=open_incidents,
        )

    async def _states(self, visibility: str, model: type[M]) -> list[M]:
        """Each listed workflow's ``get_state``. One gone meanwhile (retention), or whose
        worker does not answer within seconds, is skipped: a report never hangs on it."""
        found: list[M] = []
        async for execution in self._client.list_workflows(visibility, limit=MAX_ITEMS):
            handle = self._client.get_workflow_handle(execution.id)
            try:
                found.append(
                    await handle.query("get_state", result_type=model, rpc_timeout=PLAN_TIMEOUT)
                )
            except RPCError:
                continue
        return found

    async def _pages(self, visibility: str, query: TeamActivityQuery) -> list[PageSummary]:
        return [
            PageSummary(
                id=page.id,
                summary=page.summary,
                created_at=page.created_at,
                status=page.status.value,
                acknowledged_by=page.acknowledged_by,
                acknowledged_at=page.acknowledged_at,
                resolved_at=page.resolved_at,
                off_hours=off_hours(
                    page.created_at,
                    query.timezone,
                    query.workday_start_hour,
                    query.workday_end_hour,
                ),
                test=page.source == "handoff",
            )
            for page in await self._states(visibility, PageState)
        ]

    async def _incidents(self, visibility: str) -> list[IncidentSummary]:
        return [
            IncidentSummary(
                id=incident.id,
                title=incident.title,
                severity=incident.severity,
                status=incident.status.value,
                declared_at=incident.declared_at,
                worked_by=worked_by(incident),
            )
            for incident in await self._states(visibility, IncidentState)
        ]


def worked_by(incident: IncidentState) -> list[str]:
    """Who worked an incident: its lead, messenger and resolution owner, whoever answered
    a page for a role, posted a status update or resolved it (in name order)."""
    people = {incident.lead, incident.messenger, incident.resolution_owner, incident.resolved_by}
    people |= {p.acknowledged_by for p in incident.pages}
    people |= {u.by for u in incident.updates}
    return sorted(p for p in people if p)
