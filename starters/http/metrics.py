"""The API's Prometheus metrics: ``GET /metrics``, the request middleware that times every
request by route template, and counts alert deliveries at the intake routes.

``/metrics`` takes ``Authorization: Bearer`` with ``TOCSIN_METRICS_TOKEN`` or the admin API
token. The open pages, incidents and follow-ups are counted in SQL at most every
:data:`REFRESH_EVERY`, however often Prometheus scrapes; whether Temporal answers is
asked at each scrape.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError

from activities.adapters.prometheus_metrics import (
    ALERTS,
    FOLLOWUPS_OPEN,
    INCIDENTS_OPEN,
    PAGES_OPEN,
    REQUEST_DURATION,
    TEMPORAL_UP,
)
from activities.adapters.sql_open_counts import OpenCounts, open_counts
from activities.adapters.sql_store import SqlStore
from activities.errors import AdapterError

log = structlog.get_logger("tocsin.api")

REFRESH_EVERY = 10.0
HEALTH_TIMEOUT = 2.0
BEARER = "bearer "

# Intake routes (by template and method) and the source their deliveries count for.
INTAKE: dict[tuple[str, str], str] = {
    ("POST", "/webhooks/alertmanager"): "alertmanager",
    ("POST", "/webhooks/events"): "events",
    ("POST", "/v2/enqueue"): "events",
    ("POST", "/v2/alerts"): "opsgenie",
    ("POST", "/v2/alerts/{identifier}/acknowledge"): "opsgenie",
    ("POST", "/v2/alerts/{identifier}/close"): "opsgenie",
    ("POST", "/webhooks/heartbeat/{name}"): "heartbeat",
    ("GET", "/webhooks/heartbeat/{name}"): "heartbeat",
    ("POST", "/api/pages"): "api",
}
UNMATCHED = "unmatched"


class RequestMetrics:
    """Times every request by route template, method and status; counts intake deliveries
    accepted (2xx/3xx) or refused (4xx/5xx: a bad token, a bad payload, too large)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            REQUEST_DURATION.labels(route=route, method=method, status=str(status)).observe(
                time.perf_counter() - started
            )
            source = INTAKE.get((method, route))
            if source is not None:
                outcome = "accepted" if status < 400 else "refused"
                ALERTS.labels(source=source, outcome=outcome).inc()


@dataclass
class _Counted:
    at: float = float("-inf")


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "No or a wrong bearer token"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process (bearer: ``TOCSIN_METRICS_TOKEN`` or the
    admin API token)."""
    state = request.app.state
    if not _allowed(request.headers.get("authorization", ""), state.metrics_tokens):
        return PlainTextResponse(
            "a bearer token (TOCSIN_METRICS_TOKEN or the API token) is required",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="tocsin-metrics"'},
        )
    await _temporal_up(request)
    await _refresh_open(request)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _allowed(header: str, tokens: tuple[bytes, ...]) -> bool:
    if not header.lower().startswith(BEARER):
        return False
    given = header[len(BEARER) :].strip().encode()
    # Every token compared, so the time taken does not say which one nearly matched.
    matches = [hmac.compare_digest(given, token) for token in tokens]
    return any(matches)


async def _temporal_up(request: Request) -> None:
    tocsin = getattr(request.app.state, "tocsin", None)
    up = False
    if tocsin is not None:
        try:
            up = await asyncio.wait_for(
                tocsin.temporal.service_client.check_health(), HEALTH_TIMEOUT
            )
        except (RPCError, TimeoutError):
            up = False
    TEMPORAL_UP.set(1 if up else 0)


async def _refresh_open(request: Request) -> None:
    """Count the open pages, incidents and follow-ups again when the last count is older
    than :data:`REFRESH_EVERY` (a database that fails keeps the last counts, logged)."""
    store = getattr(request.app.state, "store", None)
    counted: _Counted = request.app.state.open_counted
    if not isinstance(store, SqlStore) or time.monotonic() - counted.at < REFRESH_EVERY:
        return
    counted.at = time.monotonic()
    try:
        found = await open_counts(store)
    except AdapterError as err:
        log.warning("open pages and incidents not counted", error=str(err))
        return
    _publish(found)


def _publish(found: OpenCounts) -> None:
    PAGES_OPEN.clear()
    for (team, status, urgency), n in found.pages.items():
        PAGES_OPEN.labels(team=team, status=status, urgency=urgency).set(n)
    INCIDENTS_OPEN.clear()
    for (status, severity), n in found.incidents.items():
        INCIDENTS_OPEN.labels(status=status, severity=severity).set(n)
    FOLLOWUPS_OPEN.clear()
    for team, n in found.followups.items():
        FOLLOWUPS_OPEN.labels(team=team).set(n)


def metrics_tokens(api_token: str, metrics_token: str | None) -> tuple[bytes, ...]:
    """The tokens ``/metrics`` takes."""
    tokens = [api_token] + ([metrics_token] if metrics_token else [])
    return tuple(token.encode() for token in tokens)


def counted_never() -> _Counted:
    """A fresh "last counted" mark for an app (counts at its first scrape)."""
    return _Counted()
