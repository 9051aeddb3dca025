"""REST routes for the incident log: past incidents and MTTA/MTTR reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status

from activities.errors import AdapterError
from activities.ports import Store
from starters.errors import InvalidRequest
from starters.http.auth import api_router
from starters.incident_log import DEFAULT_PERIOD, LogRow, Report, parse_when, report
from workflows.incident_models import IncidentRecord, LogQuery

NOT_CONFIGURED = "the incident log is not configured in this process"
UNAVAILABLE = "the incident log is unavailable, try again"

WHEN_HELP = "A duration back from now (7d, 12h) or an ISO 8601 date/time (UTC without offset)."


def incident_log(request: Request) -> Store:
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_CONFIGURED)
    return store


IncidentLog = Annotated[Store, Depends(incident_log)]

router = api_router("/api", "incident log")


@router.get("/log", response_model=list[LogRow])
async def get_log(
    store: IncidentLog,
    since: Annotated[str | None, Query(description=WHEN_HELP, max_length=64)] = None,
    until: Annotated[str | None, Query(description=WHEN_HELP, max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=64)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[LogRow]:
    """Incidents declared in ``[since, until)``, newest first, with their times to
    acknowledge and to resolve in seconds."""
    now = datetime.now(UTC)
    query = LogQuery(
        since=_when("since", since, now),
        until=_when("until", until, now),
        severity=severity,
        service=service,
        limit=limit,
    )
    return [LogRow.of(r) for r in await _read(store, query)]


@router.get("/report", response_model=Report)
async def get_report(
    store: IncidentLog,
    since: Annotated[
        str | None, Query(description=WHEN_HELP + " Default: 30d.", max_length=64)
    ] = None,
    until: Annotated[
        str | None, Query(description=WHEN_HELP + " Default: now.", max_length=64)
    ] = None,
) -> Report:
    """MTTA and MTTR (median and mean) per severity and per service over the period."""
    now = datetime.now(UTC)
    start = _when("since", since, now) or now - DEFAULT_PERIOD
    end = _when("until", until, now) or now
    records = await _read(store, LogQuery(since=start, until=end, limit=10_000))
    return report(records, start, end)


def _when(name: str, value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value, now)
    except ValueError as err:
        raise InvalidRequest(f"{name}: {err}") from None


async def _read(store: Store, query: LogQuery) -> list[IncidentRecord]:
    try:
        return await store.list_incidents(query)
    except AdapterError as err:
        # The adapter logged the cause; the caller only needs to know to try again.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from err
