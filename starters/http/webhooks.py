"""Alert sources: ``POST /webhooks/alertmanager`` and the PagerDuty Events API v2 at
``POST /webhooks/events`` and ``POST /v2/enqueue`` (the path PagerDuty's clients use).

Every refusal is a 4xx naming what was wrong, logged with the reason (never a secret),
and starts nothing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.openapi.models import HTTPBearer as BearerScheme
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ValidationError

from starters.alertmanager import AmWebhook
from starters.credentials.tokens import looks_like_token
from starters.events import Event
from starters.http.auth import SEND_ALERTS, SEND_EVENTS, resolve
from starters.http.guard import Gate, GuardedRoute
from starters.http.pagerduty import (
    EventAccepted,
    EventRefused,
    EventsError,
    EventsRoute,
    invalid_event,
)
from starters.http.problems import json_body, refusals
from starters.intake import AlertIntake, UnknownRoutingKey
from workflows.routing import NoRoute

log = structlog.get_logger("tocsin.webhooks")


class WebhookCredentials(Gate, SecurityBase):
    """What Alertmanager must present: a bearer token, or HTTP basic user and password,
    or an integration token with scope ``intake:alertmanager``."""

    def __init__(
        self, token: str, username: str | None = None, password: str | None = None
    ) -> None:
        self.token = token
        self.username = username
        self.password = password
        self.model = BearerScheme(
            description="TOCSIN_ALERTMANAGER_TOKEN (default: the API token), or HTTP basic "
            "auth with TOCSIN_ALERTMANAGER_USERNAME/_PASSWORD when those are set, or an "
            "integration token with scope intake:alertmanager"
        )
        self.scheme_name = "alertmanagerToken"

    async def check(self, request: Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode()):
            return
        if (
            scheme == "basic"
            and self.username
            and self.password
            and _basic_matches(value, self.username, self.password)
        ):
            return
        if scheme == "bearer" and looks_like_token(value):
            SEND_ALERTS.enforce(request, await resolve(request, value))
            return
        reason = "missing credentials" if not scheme else f"wrong {scheme} credentials"
        log.info("webhook refused", path=request.url.path, status=401, reason=reason)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"{reason}: send 'Authorization: Bearer <token>' (or basic auth when configured)",
            headers={"WWW-Authenticate": 'Bearer, Basic realm="tocsin"'},
        )


class EventsCredentials(Gate):
    """The Events API authenticates by the event's ``routing_key``, as PagerDuty does; a
    Tocsin token sent along must be an integration token with scope ``intake:events`` (so
    the integration is known by name). Other ``Authorization`` headers are ignored, as
    before tokens existed."""

    async def check(self, request: Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and looks_like_token(value):
            SEND_EVENTS.enforce(request, await resolve(request, value))


def _basic_matches(value: str, username: str, password: str) -> bool:
    try:
        user, _, given = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Both comparisons always run: no timing hint about which half was wrong.
    same_user = hmac.compare_digest(user.encode(), username.encode())
    same_password = hmac.compare_digest(given.encode(), password.encode())
    return same_user and same_password


def intake(request: Request) -> AlertIntake:
    value: AlertIntake = request.app.state.intake
    return value


def _validation_errors(err: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg'].removeprefix('Value error, ')}"
        for e in err.errors()
    ]


async def _json_body(request: Request) -> tuple[Any, str | None]:
    raw = await request.body()
    try:
        return json.loads(raw), None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, f"body is not valid JSON: {err}"


class AlertmanagerAccepted(BaseModel):
    """The page the alert group went to."""

    page_id: str
    alerts: int
    ignored: bool


def router(credentials: WebhookCredentials) -> APIRouter:
    """The webhook routes; Alertmanager's route requires ``credentials``."""
    routes = APIRouter(tags=["webhooks"], route_class=GuardedRoute)

    @routes.post(
        "/webhooks/alertmanager",
        dependencies=[Depends(credentials)],
        response_model=AlertmanagerAccepted,
        responses=refusals(400, 401, 403, 413, 422, 503),
        openapi_extra=json_body(AmWebhook, "An Alertmanager webhook delivery (version 4)."),
    )
    async def alertmanager(request: Request) -> JSONResponse:
        """Alertmanager webhook v4: one page per alert group, resolved when the group resolves."""
        data, problem = await _json_body(request)
        if problem is None:
            try:
                payload = AmWebhook.model_validate(data)
            except ValidationError as err:
                problem = "; ".join(_validation_errors(err))
        if problem is not None:
            log.info("webhook refused", path=request.url.path, status=422, reason=problem)
            return JSONResponse({"detail": problem}, status_code=422)
        try:
            delivered = await intake(request).alertmanager(payload)
        except NoRoute as err:
            log.info("webhook refused", path=request.url.path, status=422, reason=str(err))
            return JSONResponse({"detail": str(err)}, status_code=422)
        return JSONResponse(
            {
                "page_id": delivered.page_id,
                "alerts": len(payload.alerts),
                "ignored": delivered.ignored,
            }
        )

    # One handler at both paths: Tocsin's own, and the one PagerDuty's clients append to
    # their base URL.
    for path in ("/webhooks/events", "/v2/enqueue"):
        routes.add_api_route(
            path,
            events,
            methods=["POST"],
            dependencies=[Depends(EventsCredentials())],
            status_code=202,
            response_model=EventAccepted,
            responses=_EVENTS_REFUSALS,
            openapi_extra=json_body(Event, "A PagerDuty Events API v2 event."),
            route_class_override=EventsRoute,
        )
    return routes


_EVENTS_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": EventRefused,
        "description": "Not an event Tocsin can use, in PagerDuty's format: an unknown "
        "routing key, a field that is wrong, a body that is not JSON Tocsin parses (not JSON, "
        "nested too deep, NaN), or larger than TOCSIN_MAX_BODY_BYTES",
    },
    401: {"model": EventsError, "description": "A Tocsin token that admits nobody"},
    403: {
        "model": EventsError,
        "description": "A Tocsin token without the scope intake:events",
    },
    503: {
        "model": EventsError,
        "description": "The credentials' store or Temporal is unavailable: try again",
    },
}


async def events(request: Request) -> JSONResponse:
    """PagerDuty Events API v2 compatible: authenticated by the event's ``routing_key``."""
    data, problem = await _json_body(request)
    errors = [problem] if problem else []
    event: Event | None = None
    if not errors:
        try:
            event = Event.model_validate(data)
        except ValidationError as err:
            errors = _validation_errors(err)
    if event is not None:
        try:
            dedup_key, delivered = await intake(request).event(event)
        except UnknownRoutingKey:
            errors = ["routing_key: unknown routing key (no service or team has it)"]
        else:
            message = "Event processed" if not delivered.ignored else "No open alert for dedup_key"
            return JSONResponse(
                {"status": "success", "message": message, "dedup_key": dedup_key},
                status_code=202,
            )
    log.info("event refused", path=request.url.path, status=400, reason="; ".join(errors))
    return invalid_event(errors)
