"""REST route for uptime checks' figures, from the probe results kept in the SQL store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status

from activities.adapters.sql_check_results import SqlCheckResults
from activities.adapters.sql_store import SqlStore
from activities.errors import AdapterError
from activities.ports import CheckResults
from starters.api import TocsinClient
from starters.http.auth import api_router
from starters.uptime_report import CheckSummary, summarise

NOT_KEPT = "check results are not kept in this process (no store)"
UNAVAILABLE = "the check results store is unavailable, try again"

router = api_router("/api", "uptime checks")


def kept_results(request: Request) -> CheckResults:
    """The app's store as check results (503 when it has none)."""
    store = getattr(request.app.state, "store", None)
    if isinstance(store, SqlStore):
        return SqlCheckResults(store)
    if isinstance(store, CheckResults):
        return store
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_KEPT)


@router.get("/checks", response_model=list[CheckSummary])
async def list_checks(
    request: Request,
    results: Annotated[CheckResults, Depends(kept_results)],
    days: Annotated[
        int, Query(ge=1, le=30, description="Read the results of the last N days (kept: 30)")
    ] = 30,
) -> list[CheckSummary]:
    """Per configured uptime check: its status now (pending until first probed), uptime %
    over 24 h / 7 d / 30 d (those the days read cover), p50/p99 latency and the last
    failure."""
    now = datetime.now(UTC)
    try:
        found = await results.list_check_results(now - timedelta(days=days))
    except AdapterError as err:
        # The adapter logged the cause; the caller only needs to know to try again.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from err
    tocsin: TocsinClient = request.app.state.tocsin
    return summarise(found, now, days, tocsin.config.current().checks)
