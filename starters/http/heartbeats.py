"""Heartbeats over HTTP: ``POST`` or ``GET /webhooks/heartbeat/{name}`` (a job saying it
ran, with an integration token of scope ``intake:heartbeat``) and ``GET /api/heartbeats``
(every heartbeat's status, last ping and next due, for person and admin tokens).

A ping to an unknown heartbeat is 404, one without a token 401, one with a token of
another kind or scope 403; nothing is signalled then.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, status

from activities.credential_models import Scope
from starters.api import TocsinClient
from starters.clients.heartbeats import HeartbeatWorkflowClient
from starters.errors import Rejected
from starters.heartbeats import HeartbeatPinged, Heartbeats, UnknownHeartbeat
from starters.http.auth import API_AUTH, CurrentPrincipal, Requirement, api_router
from starters.http.guard import GuardedRoute
from starters.http.problems import refusals
from workflows.heartbeat_models import HeartbeatState

log = structlog.get_logger("tocsin.webhooks")

PING_HEARTBEATS = Requirement("ping heartbeats", kinds=(), scope=Scope.intake_heartbeat)


def heartbeats(request: Request) -> Heartbeats:
    """The app's heartbeats, over its Temporal client and config."""
    tocsin: TocsinClient = request.app.state.tocsin
    return Heartbeats(HeartbeatWorkflowClient(tocsin.temporal), tocsin.config)


HeartbeatsDep = Annotated[Heartbeats, Depends(heartbeats)]


def router() -> APIRouter:
    """The ping route (integration tokens) and the list (people and admins)."""
    routes = APIRouter(route_class=GuardedRoute)
    pings = APIRouter(tags=["webhooks"], route_class=GuardedRoute)
    listing = api_router("/api", "heartbeats")

    async def ping(name: str, principal: CurrentPrincipal, found: HeartbeatsDep) -> HeartbeatPinged:
        """A heartbeat's ping: the job ran. ``GET`` works too, for cron one-liners
        (``curl -fsS -H "Authorization: Bearer $TOKEN" …/webhooks/heartbeat/NAME``); any
        body is ignored. The answer says when the next ping is due and when a missing one
        pages (``overdue_at``: interval + grace from now)."""
        try:
            pinged = await found.ping(name, principal.label)
        except UnknownHeartbeat as err:
            log.info("heartbeat ping refused", heartbeat=name, status=404, reason=str(err))
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None
        except Rejected as err:
            log.warning("heartbeat ping refused", heartbeat=name, status=503, reason=str(err))
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(err)) from None
        log.info("heartbeat pinged", heartbeat=name, by=principal.label)
        return pinged

    # One handler for both methods, each with an operation id of its own (OpenAPI).
    for method, operation in (("POST", "ping_heartbeat"), ("GET", "ping_heartbeat_get")):
        pings.add_api_route(
            "/webhooks/heartbeat/{name}",
            ping,
            methods=[method],
            operation_id=operation,
            dependencies=[*API_AUTH, Depends(PING_HEARTBEATS)],
            response_model=HeartbeatPinged,
            responses=refusals(401, 403, 404, 503),
        )

    @listing.get("/heartbeats", response_model=list[HeartbeatState])
    async def list_heartbeats(found: HeartbeatsDep) -> list[HeartbeatState]:
        """Every configured heartbeat: status (ok, overdue; unknown while its workflow is
        not running), last seen, next due, and its open page."""
        return await found.states()

    routes.include_router(pings)
    routes.include_router(listing)
    return routes


__all__ = ["PING_HEARTBEATS", "heartbeats", "router"]
