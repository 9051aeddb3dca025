"""Who is calling the REST API, and whether they may.

Every ``/api`` route resolves its bearer token to a :class:`Principal` (the bootstrap
``TOCSIN_API_TOKEN``, or a stored credential: see :mod:`starters.credentials`) before the
body is read, and keeps it on ``request.state.principal``:

- an unknown, revoked or mistyped token is 401;
- a route states what it needs with a :class:`Requirement` among its dependencies
  (``dependencies=[Depends(ADMIN)]``); a route that states nothing admits person and admin
  tokens, so integration tokens reach only the routes that name one of their scopes;
- a principal the requirement does not admit is 403, naming the kind or scope needed.

Handlers take the caller as a parameter: ``principal: CurrentPrincipal``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.openapi.models import HTTPBearer as BearerScheme
from fastapi.security.base import SecurityBase

from activities.credential_models import Kind, Scope
from activities.errors import AdapterError
from starters.credentials import Authenticator, Principal
from starters.http.guard import Gate, GuardedRoute
from starters.http.problems import API_REFUSALS

log = structlog.get_logger("tocsin.api")

MISSING = "missing bearer token: send 'Authorization: Bearer <token>' (a Tocsin token or TOCSIN_API_TOKEN)"
INVALID = "invalid bearer token (unknown, revoked or mistyped)"
STORE_DOWN = "the credential store (the incident log database) is unavailable, try again"


def api_token(request: Request) -> str:
    """The token this app was built with (``create_app`` keeps it in the app's state)."""
    token: str = request.app.state.api_token
    return token


def authenticator(request: Request) -> Authenticator:
    """The app's token resolver (``create_app`` keeps it in the app's state)."""
    found: Authenticator = request.app.state.authenticator
    return found


async def resolve(request: Request, supplied: str) -> Principal:
    """The principal of ``supplied``, kept on ``request.state.principal``.

    Raises:
        HTTPException: 401 for a token that admits nobody; 503 when the credentials'
            database fails (the token may be good: the caller should retry).
    """
    try:
        principal = await authenticator(request).authenticate(supplied)
    except AdapterError as err:
        log.warning("credentials unavailable", path=request.url.path, error=str(err))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, STORE_DOWN) from None
    if principal is None:
        log.info("request refused", path=request.url.path, status=401, reason=INVALID)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            INVALID,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.state.principal = principal
    return principal


async def authenticate(request: Request) -> Principal:
    """The caller of this request (resolved once per request), or 401."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, MISSING, headers={"WWW-Authenticate": "Bearer"}
        )
    return await resolve(request, supplied)


async def current_principal(request: Request) -> Principal:
    """A dependency: the caller, as the route's gate resolved it."""
    return await authenticate(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

# Who may call a route that states no requirement: people and admins, not integrations.
PEOPLE = (Kind.person, Kind.admin)


class Requirement(Gate):
    """What a route asks of its caller beyond a valid token: one of ``kinds`` (admin
    includes the bootstrap token), or ``scope``.

    Args:
        action: what the route does, for the refusal (``declare incidents``).
        kinds: kinds admitted whatever their scopes.
        scope: the scope that admits a token of another kind (an integration token).
    """

    def __init__(
        self, action: str, kinds: Iterable[Kind] = PEOPLE, scope: Scope | None = None
    ) -> None:
        self.action = action
        self.kinds = frozenset(kinds)
        self.scope = scope

    def admits(self, principal: Principal) -> bool:
        if principal.kind in self.kinds or (principal.is_admin and Kind.admin in self.kinds):
            return True
        return self.scope is not None and principal.may(self.scope)

    def needs(self) -> str:
        """``the admin or person kind, or scope pages:create``."""
        parts = []
        if self.kinds:
            parts.append(f"the {' or '.join(sorted(self.kinds))} kind")
        if self.scope is not None:
            parts.append(f"scope {self.scope}")
        return ", or ".join(parts)

    def enforce(self, request: Request, principal: Principal, action: str | None = None) -> None:
        """403 naming what is needed, unless the requirement admits ``principal``."""
        if self.admits(principal):
            return
        reason = (
            f"this {principal.kind} token may not {action or self.action}: it needs {self.needs()}"
        )
        log.info("request refused", path=request.url.path, status=403, reason=reason)
        challenge = 'Bearer error="insufficient_scope"'
        if self.scope is not None:
            challenge += f', scope="{self.scope}"'
        raise HTTPException(status.HTTP_403_FORBIDDEN, reason, {"WWW-Authenticate": challenge})

    async def check(self, request: Request) -> None:
        self.enforce(request, await authenticate(request))


# What the routes and the intake endpoints require (one table of who may do what).
ADMIN = Requirement("manage tokens", kinds=(Kind.admin,))
CREATE_PAGES = Requirement("create pages", scope=Scope.pages_create)
SEND_ALERTS = Requirement("send Alertmanager alerts", kinds=(), scope=Scope.intake_alertmanager)
SEND_EVENTS = Requirement("send events", kinds=(), scope=Scope.intake_events)
DEFAULT = Requirement("call this route")


def _states_requirement(request: Request) -> bool:
    route = request.scope.get("route")
    return any(isinstance(d.dependency, Requirement) for d in getattr(route, "dependencies", ()))


class BearerAuth(Gate, SecurityBase):
    """Admits requests whose ``Authorization: Bearer`` token resolves to a principal the
    route admits; declared in the OpenAPI description as the ``apiToken`` bearer scheme."""

    def __init__(self) -> None:
        self.model = BearerScheme(
            description="A Tocsin token (tocsin_…, from POST /api/tokens or `tocsin token "
            "create`), or TOCSIN_API_TOKEN"
        )
        self.scheme_name = "apiToken"

    async def check(self, request: Request) -> None:
        principal = await authenticate(request)
        if not _states_requirement(request):
            path = getattr(request.scope.get("route"), "path", request.url.path)
            DEFAULT.enforce(request, principal, f"call {request.method} {path}")


def calendar_token(api_token: str, path: str) -> str:
    """The capability for one calendar URL (calendar apps cannot send a bearer header).

    An HMAC of the path under the API token: it opens that one calendar, read-only, and
    reveals nothing of the API token. Rotating the API token revokes every such URL.
    """
    return hmac.new(api_token.encode(), f"ical:{path}".encode(), "sha256").hexdigest()[:32]


class CalendarAuth(BearerAuth):
    """Admits the bearer token, or ``?token=`` with the calendar token of this very path."""

    async def check(self, request: Request) -> None:
        supplied = request.query_params.get("token")
        if supplied is None:
            await super().check(request)
            return
        expected = calendar_token(api_token(request), request.url.path)
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid calendar token")


# One instance each: FastAPI then declares one scheme, and the gate runs once per request.
API_AUTH = [Depends(BearerAuth())]
CALENDAR_AUTH = [Depends(CalendarAuth())]


def api_router(prefix: str, tag: str, requires: Requirement | None = None) -> APIRouter:
    """A router for ``/api`` routes: the token checked before the body is read (and
    ``requires`` of every route, when given), and every refusal the routes can give
    declared in the OpenAPI description."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        dependencies=[*API_AUTH, *([Depends(requires)] if requires else [])],
        responses=API_REFUSALS,
        route_class=GuardedRoute,
    )
