"""The Opsgenie Alert API v2 at its own paths, for senders that take Opsgenie's base URL
(Alertmanager's ``opsgenie_configs``, Opsgenie's SDKs, Grafana, scripts):

- ``POST /v2/alerts``: create (``alias`` is the dedup key);
- ``POST /v2/alerts/{identifier}/acknowledge|close|notes?identifierType=id|alias|tiny``;
- ``GET /v2/alerts/requests/{requestId}``: what a request did.

Authenticated by ``Authorization: GenieKey <key>``, a service's or team's
``integration_key``. Every answer is in Opsgenie's shape, ``took`` and ``requestId``
included, and so is every refusal: 400 for a body that is not JSON, 401 for a key that
admits nobody, 404 for an unknown request, 413 for a body over the limit, 422 with
``errors`` naming each field that is wrong, 503 when Temporal does not answer. As at
Opsgenie, acting on an alert that does not exist is accepted (202) and its request status
says so.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import APIKey, APIKeyIn
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from starters.http.guard import Gate, GuardedRoute, Handler
from starters.http.problems import json_body
from starters.intake import AlertIntake, UnknownRoutingKey
from starters.opsgenie import (
    Action,
    AlertAction,
    CreateAlert,
    IdentifierType,
    RequestIds,
    RequestStatus,
)
from starters.opsgenie_intake import Integration, OpsgenieIntake

log = structlog.get_logger("tocsin.webhooks.opsgenie")

PREFIX = "/v2/alerts"
ACCEPTED = "Request will be processed"
NOT_PROCESSABLE = "Request body is not processable. Please check the errors."
NOT_AUTHENTICATED = "Could not authenticate"
UNAVAILABLE = "Temporal is unavailable, try again"
STARTED = "tocsin.opsgenie.started"


class Accepted(BaseModel):
    """Opsgenie's answer to an alert request."""

    result: str
    took: float
    requestId: str  # Opsgenie's field name


class StatusAnswer(BaseModel):
    """Opsgenie's answer to a request status query."""

    data: RequestStatus
    took: float
    requestId: str


class Refused(BaseModel):
    """Opsgenie's error shape; ``errors`` names the fields of a 422."""

    message: str
    errors: dict[str, str] | None = None
    took: float
    requestId: str


def answer(request: Request, code: int, content: dict[str, Any], **headers: str) -> JSONResponse:
    """``content`` with Opsgenie's ``took`` and ``requestId`` (also as headers)."""
    took = round(time.monotonic() - request.scope.get(STARTED, time.monotonic()), 3)
    request_id = str(content.pop("requestId", None) or uuid.uuid4())
    return JSONResponse(
        {**content, "took": took, "requestId": request_id},
        status_code=code,
        headers={"X-Request-ID": request_id, "X-Response-Time": str(took), **headers},
    )


def refused(
    request: Request, code: int, message: str, errors: dict[str, str] | None = None
) -> JSONResponse:
    log.info("opsgenie request refused", path=request.url.path, status=code, reason=message)
    content: dict[str, Any] = {"message": message}
    if errors:
        content["errors"] = errors
    return answer(request, code, content)


def too_large(path: str, limit: int) -> tuple[int, dict[str, Any]] | None:
    """What :class:`~starters.http.limits.BodyLimit` answers under ``/v2/alerts``."""
    if not path.startswith(PREFIX):
        return None
    return 413, {
        "message": f"Request body is larger than the limit of {limit} bytes",
        "took": 0.0,
        "requestId": str(uuid.uuid4()),
    }


class GenieKey(Gate, SecurityBase):
    """``Authorization: GenieKey <key>``: a service's or team's integration key."""

    def __init__(self) -> None:
        self.model = APIKey(
            **{"in": APIKeyIn.header},
            name="Authorization",
            description="'GenieKey <integration key>': the integration_key of a service or team",
        )
        self.scheme_name = "genieKey"

    async def check(self, request: Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        reason = "missing GenieKey" if not scheme else "unknown key"
        if scheme.lower() == "geniekey" and value.strip():
            try:
                request.state.opsgenie = opsgenie(request).integration(value.strip())
            except UnknownRoutingKey:
                pass
            else:
                return
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"{NOT_AUTHENTICATED} ({reason}): send 'Authorization: GenieKey <integration key>'",
        )


class OpsgenieRoute(GuardedRoute):
    """A :class:`GuardedRoute` that answers every refusal in Opsgenie's shape."""

    def get_route_handler(self) -> Handler:
        guarded = super().get_route_handler()

        async def handle(request: Request) -> Response:
            request.scope[STARTED] = time.monotonic()
            try:
                return await guarded(request)
            except HTTPException as err:
                return refused(request, err.status_code, str(err.detail))
            except RequestValidationError as err:
                return refused(request, 422, NOT_PROCESSABLE, _errors(err.errors()))
            except RPCError as err:
                log.error("temporal call failed", path=request.url.path, error=str(err))
                return refused(request, 503, UNAVAILABLE)

        return handle

    def refuse(self, problem: str) -> Response:
        request_id = str(uuid.uuid4())
        return JSONResponse(
            {"message": problem, "took": 0.0, "requestId": request_id},
            status_code=400,
            headers={"X-Request-ID": request_id},
        )


def opsgenie(request: Request) -> OpsgenieIntake:
    found: AlertIntake = request.app.state.intake
    return OpsgenieIntake(found)


def _sender(request: Request) -> Integration:
    found: Integration = request.state.opsgenie
    return found


def request_ids(request: Request) -> RequestIds:
    """The app's request ids (``create_app`` keeps them in the app's state)."""
    found: RequestIds = request.app.state.opsgenie_requests
    return found


Ids = Annotated[RequestIds, Depends(request_ids)]


async def _body(request: Request, model: type[BaseModel], empty: bool) -> Any:
    """``model`` from the body, or the refusal: 400 not JSON, 422 naming each field."""
    raw = await request.body()
    if not raw.strip() and empty:
        return model()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return refused(request, 400, f"Could not parse request body: {err}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        return refused(request, 422, NOT_PROCESSABLE, _errors(err.errors()))


def _errors(found: Sequence[Any]) -> dict[str, str]:
    """Each field that is wrong (its dotted path, without FastAPI's location) → why."""
    named: dict[str, str] = {}
    for e in found:
        loc = [str(p) for p in e["loc"] if p not in ("body", "path", "query")]
        named[".".join(loc) or "body"] = str(e["msg"]).removeprefix("Value error, ")
    return named


Identifier = Annotated[str, Path(min_length=1, max_length=512, description="id, alias or tiny id")]
Kind = Annotated[
    str,
    Query(
        alias="identifierType",
        description="What identifier is: id (default) or tiny (a Tocsin page id), or alias",
    ),
]
_KINDS: dict[str, IdentifierType] = {"id": "id", "alias": "alias", "tiny": "tiny"}
_ACTIONS: dict[str, Action] = {"acknowledge": "Acknowledge", "close": "Close", "notes": "AddNote"}

_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": Refused, "description": "The body is not JSON"},
    401: {"model": Refused, "description": "No GenieKey, or one no service or team has"},
    413: {"model": Refused, "description": "The body is over TOCSIN_MAX_BODY_BYTES"},
    422: {"model": Refused, "description": "A field is wrong: errors names each"},
    503: {"model": Refused, "description": "Temporal does not answer: try again"},
}


def router() -> APIRouter:
    """The Opsgenie-compatible alert routes."""
    routes = APIRouter(tags=["opsgenie"], route_class=OpsgenieRoute)
    gate = [Depends(GenieKey())]

    @routes.post(
        PREFIX,
        dependencies=gate,
        status_code=202,
        response_model=Accepted,
        responses=_REFUSALS,
        openapi_extra=json_body(CreateAlert, "An Opsgenie Alert API v2 create request."),
    )
    async def create_alert(request: Request) -> Response:
        """Opsgenie's create alert: one page per alias; priority P1-P5 sets its severity."""
        create = await _body(request, CreateAlert, empty=False)
        if isinstance(create, Response):
            return create
        outcome = await opsgenie(request).create(_sender(request), create)
        return _accepted(request, outcome)

    @routes.get(
        f"{PREFIX}/requests/{{request_id}}",
        dependencies=gate,
        response_model=StatusAnswer,
        responses={**_REFUSALS, 404: {"model": Refused, "description": "No such request"}},
    )
    async def request_status(
        request: Request, ids: Ids, request_id: Annotated[str, Path(max_length=4096)]
    ) -> Response:
        """What a request did (``isSuccess``, ``status``), for the integration that sent it."""
        outcome = ids.read(request_id, _sender(request).name)
        if outcome is None:
            return refused(request, 404, "Request not found.")
        data = outcome.model_dump(mode="json")
        return answer(request, 200, {"data": data, "requestId": request_id})

    for path, action in _ACTIONS.items():
        routes.add_api_route(
            f"{PREFIX}/{{identifier}}/{path}",
            _action_route(action),
            methods=["POST"],
            dependencies=gate,
            status_code=202,
            response_model=Accepted,
            responses=_REFUSALS,
            openapi_extra=json_body(AlertAction, f"Opsgenie's {action} request."),
            name=f"opsgenie_{path}",
            summary=f"Opsgenie {action}",
        )
    return routes


def _action_route(action: Action) -> Callable[..., Awaitable[Response]]:
    note_required = action == "AddNote"

    async def act(
        request: Request, identifier: Identifier, identifier_type: Kind = "id"
    ) -> Response:
        kind = _KINDS.get(identifier_type)
        if kind is None:
            errors = {"identifierType": "must be one of id, alias, tiny"}
            return refused(request, 422, NOT_PROCESSABLE, errors)
        body = await _body(request, AlertAction, empty=not note_required)
        if isinstance(body, Response):
            return body
        if note_required and not (body.note or "").strip():
            return refused(request, 422, NOT_PROCESSABLE, {"note": "Note can not be empty."})
        outcome = await opsgenie(request).act(_sender(request), action, identifier, kind, body)
        return _accepted(request, outcome)

    act.__doc__ = f"Opsgenie's {action} of an alert named by id, alias or tiny id."
    return act


def _accepted(request: Request, outcome: RequestStatus) -> JSONResponse:
    log.info(
        "opsgenie request",
        action=outcome.action,
        integration=outcome.integrationId,
        page_id=outcome.alertId,
        status=outcome.status,
    )
    request_id = request_ids(request).issue(outcome)
    return answer(request, 202, {"result": ACCEPTED, "requestId": request_id})
