"""Who is using the console: the session behind the cookie, checked on every request, and
the form token every POST must carry.

A session made from a token ends when that token is revoked (its row is read on each
request, as the API does). A request without a valid session is sent to the sign-in page
(for a live fragment, HTMX is told to go there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import Depends, HTTPException, Request, status

from activities.errors import AdapterError
from starters.console.sessions import COOKIE, BadToken, ConsoleKeys, Session
from starters.credentials import Authenticator
from workflows.actors import Acted

log = structlog.get_logger("tocsin.console")


class SignInNeeded(Exception):
    """No valid session: go to the sign-in page, then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def keys(request: Request) -> ConsoleKeys:
    found: ConsoleKeys = request.app.state.console_keys
    return found


async def current_session(request: Request) -> Session | None:
    """The request's session, or None (no cookie, forged, expired, or its token revoked)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        session = keys(request).open_session(cookie, datetime.now(UTC))
    except BadToken:
        return None
    if session.token_id is not None and not await _token_alive(request, session.token_id):
        return None
    if session.person not in request.app.state.tocsin.config.current().people:
        return None  # removed from the config since
    return session


async def _token_alive(request: Request, token_id: str) -> bool:
    authenticator: Authenticator = request.app.state.authenticator
    store = authenticator.credentials
    if store is None:
        return False
    try:
        record = await store.get(token_id)
    except AdapterError as err:
        log.warning("credentials unavailable", error=str(err))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "try again") from None
    return record is not None and not record.revoked


async def signed_in(request: Request) -> Session:
    """A dependency: the session, or a trip to the sign-in page."""
    session = await current_session(request)
    if session is None:
        path = request.url.path
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInNeeded(quote(path + query, safe="/?=&"))
    return session


async def form_session(request: Request) -> Session:
    """A dependency for every POST: the session, and the form token that proves the form
    came from a console page (403 otherwise, and nothing is done)."""
    session = await signed_in(request)
    form = await request.form()
    supplied = form.get("csrf")
    if not keys(request).form_token_matches(
        session.nonce, supplied if isinstance(supplied, str) else None
    ):
        log.info("console form refused", path=request.url.path, reason="form token")
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this form has expired or did not come from Tocsin: reload the page and try again",
        )
    return session


SignedIn = Annotated[Session, Depends(signed_in)]
FormSession = Annotated[Session, Depends(form_session)]


def actor(session: Session) -> Acted:
    """The actor of an action taken in the console (recorded as ``alice (console, token
    laptop)``)."""
    return Acted(by=session.person, via=session.via)
