"""Bearer-token authentication for the REST API (constant-time comparison)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.openapi.models import HTTPBearer as BearerScheme
from fastapi.security.base import SecurityBase

from starters.http.guard import Gate, GuardedRoute
from starters.http.problems import API_REFUSALS


def api_token(request: Request) -> str:
    """The token this app was built with (``create_app`` keeps it in the app's state)."""
    token: str = request.app.state.api_token
    return token


class BearerAuth(Gate, SecurityBase):
    """Admits requests carrying ``Authorization: Bearer <TOCSIN_API_TOKEN>``; declared in the
    OpenAPI description as the ``apiToken`` bearer scheme."""

    def __init__(self) -> None:
        self.model = BearerScheme(description="TOCSIN_API_TOKEN")
        self.scheme_name = "apiToken"

    async def check(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or not supplied:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token: send 'Authorization: Bearer <TOCSIN_API_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(supplied.strip().encode(), api_token(request).encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid bearer token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )


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


def api_router(prefix: str, tag: str) -> APIRouter:
    """A router for ``/api`` routes: the API token checked before the body is read, and
    every refusal the routes can give declared in the OpenAPI description."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        dependencies=API_AUTH,
        responses=API_REFUSALS,
        route_class=GuardedRoute,
    )
