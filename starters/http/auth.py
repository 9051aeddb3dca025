"""Bearer-token authentication for the REST API (constant-time comparison)."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status


class BearerAuth:
    """A FastAPI dependency that admits requests carrying ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the API token must not be empty")
        self._token = token.encode()

    async def __call__(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or not supplied:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token: send 'Authorization: Bearer <TOCSIN_API_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(supplied.strip().encode(), self._token):
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


class CalendarAuth:
    """Admits the bearer token, or ``?token=`` with the calendar token of this very path."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._bearer = BearerAuth(token)

    async def __call__(self, request: Request) -> None:
        supplied = request.query_params.get("token")
        if supplied is None:
            await self._bearer(request)
            return
        expected = calendar_token(self._token, request.url.path)
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid calendar token")
