"""REST route for the alert-noise report, from the page log in the SQL store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from activities.errors import AdapterError
from starters.alert_report import alert_period, read_noise_report
from starters.api import TocsinClient
from starters.errors import InvalidRequest
from starters.http.auth import api_router
from starters.noise_report import NoiseReport

NOT_KEPT = "the page log is not kept in this process (no SQL store)"
UNAVAILABLE = "the page log is unavailable, try again"
WHEN_HELP = "A duration back from now (7d, 12h) or an ISO 8601 date/time (UTC without offset)."


def sql_store(request: Request) -> SqlStore:
    store = getattr(request.app.state, "store", None)
    if not isinstance(store, SqlStore):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_KEPT)
    return store


router = api_router("/api", "alert noise")


@router.get("/report/alerts", response_model=NoiseReport)
async def get_alert_report(
    request: Request,
    store: Annotated[SqlStore, Depends(sql_store)],
    start: Annotated[
        str | None, Query(alias="from", description=WHEN_HELP + " Default: 30 days back.")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description=WHEN_HELP + " Default: now.")] = None,
    days: Annotated[int | None, Query(description="The last N days, instead of from.")] = None,
) -> NoiseReport:
    """Alert noise per rule over ``[from, to)``, noisiest first, the rules to fix or disable
    marked (``checks`` states when), and the on-call load per person and shift: pages,
    off-hours pages and the incidents they worked (from the incident log)."""
    try:
        since, until = alert_period(start, end, days, datetime.now(UTC))
    except ValueError as err:
        raise InvalidRequest(str(err)) from None
    tocsin: TocsinClient = request.app.state.tocsin
    try:
        return await read_noise_report(
            SqlPageLog(store), store, tocsin.config.current(), since, until, store
        )
    except AdapterError as err:
        # The adapter logged the cause; the caller only needs to know to try again.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from err
