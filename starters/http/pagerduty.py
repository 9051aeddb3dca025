"""PagerDuty's answers on the Events API paths, for every refusal.

PagerDuty's clients (the ``pagerduty`` package, pdjs, Alertmanager's and Grafana's
notifiers) read ``{"status", "message", "errors"}``; they do not know Tocsin's
``{"detail": …}``. So on ``/webhooks/events`` and ``/v2/enqueue`` every answer is in
PagerDuty's shape: the handler's own refusals, the body checks :class:`GuardedRoute` makes
before it, the credential checks of its gate, the body size limit, and Temporal not
answering (503, which those clients retry).

PagerDuty's Events API v2 documents 202, 400 ("Check that the JSON is valid"), 429 and
5xx, and a size limit of 512 KB, with no status of its own for a body over it: a body over
``TOCSIN_MAX_BODY_BYTES`` is therefore an invalid event (400) here, which those clients
treat as final, as they should, rather than a 413 some of them would not expect.
"""

from __future__ import annotations

from typing import Any, Literal

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from starters.http.guard import GuardedRoute, Handler

log = structlog.get_logger("tocsin.webhooks")

# The PagerDuty Events API v2 paths: Tocsin's own, and the one PagerDuty's client
# libraries append to their base URL.
EVENTS_PATHS = frozenset({"/webhooks/events", "/v2/enqueue"})

INVALID = "invalid event"
UNAVAILABLE = "Temporal is unavailable, try again"
INVALID_MESSAGE = "Event object is invalid"


class EventAccepted(BaseModel):
    """PagerDuty's answer to an accepted event."""

    status: Literal["success"]
    message: str
    dedup_key: str


class EventRefused(BaseModel):
    """PagerDuty's answer to an event it cannot use."""

    status: Literal["invalid event"]
    message: str
    errors: list[str]


class EventsError(BaseModel):
    """PagerDuty's error shape for a call refused before the event is read: missing or
    wrong credentials, or the credentials' store unavailable."""

    status: str
    message: str
    errors: list[str]


def invalid_event(errors: list[str]) -> JSONResponse:
    """The 400 PagerDuty answers an event it cannot use."""
    return JSONResponse(
        {"status": INVALID, "message": INVALID_MESSAGE, "errors": errors}, status_code=400
    )


def too_large(path: str, limit: int) -> tuple[int, dict[str, Any]] | None:
    """What :class:`~starters.http.limits.BodyLimit` answers on an Events path (None
    elsewhere: Tocsin's own 413)."""
    if path not in EVENTS_PATHS:
        return None
    error = f"body: larger than the limit of {limit} bytes"
    return 400, {"status": INVALID, "message": INVALID_MESSAGE, "errors": [error]}


_STATUS = {401: "unauthorized", 403: "forbidden", 503: "unavailable"}


class EventsRoute(GuardedRoute):
    """A :class:`GuardedRoute` that refuses in PagerDuty's shape: the body checks as an
    invalid event (400), the gate's 401/403/503 with their status and headers kept."""

    def get_route_handler(self) -> Handler:
        guarded = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await guarded(request)
            except RPCError as err:
                # PagerDuty's clients retry a 5xx: say so in their shape, not Tocsin's.
                log.error("temporal call failed", path=request.url.path, error=str(err))
                return JSONResponse(
                    {"status": "unavailable", "message": UNAVAILABLE, "errors": [UNAVAILABLE]},
                    status_code=503,
                )
            except HTTPException as err:
                detail = str(err.detail)
                status = _STATUS.get(err.status_code, INVALID)
                return JSONResponse(
                    {"status": status, "message": detail, "errors": [detail]},
                    status_code=err.status_code,
                    headers=err.headers,
                )

        return handle

    def refuse(self, problem: str) -> Response:
        return invalid_event([problem])
