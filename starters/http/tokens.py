"""Token management over HTTP (admin tokens and the bootstrap token only): create a token
(shown once), list tokens (never a token or a hash), revoke one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, Response, status

from activities.errors import AdapterError
from activities.ports import Credentials
from starters.api import TocsinClient
from starters.credentials.issue import (
    IssuedToken,
    NewToken,
    TokenInfo,
    UnknownToken,
    issue,
    list_tokens,
    revoke,
)
from starters.http.auth import ADMIN, CurrentPrincipal, api_router, authenticator

NOT_CONFIGURED = "tokens are kept in the incident log database, which this process does not have"
UNAVAILABLE = "the credential store (the incident log database) is unavailable, try again"


def credentials(request: Request) -> Credentials:
    store = authenticator(request).credentials
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_CONFIGURED)
    return store


Store = Annotated[Credentials, Depends(credentials)]
TokenId = Annotated[str, Path(min_length=1, max_length=32)]

router = api_router("/api/tokens", "tokens", requires=ADMIN)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IssuedToken)
async def create_token(
    body: NewToken, store: Store, principal: CurrentPrincipal, request: Request, response: Response
) -> IssuedToken:
    """Create a token. The answer holds the token itself, this once: store it now (Tocsin
    keeps only its argon2 hash)."""
    tocsin: TocsinClient = request.app.state.tocsin
    try:
        issued = await issue(
            store,
            body,
            tocsin.config.current(),
            principal.label,
            hasher=authenticator(request).hasher,
        )
    except AdapterError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None
    # A secret is in this answer: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return issued


@router.get("", response_model=list[TokenInfo])
async def get_tokens(store: Store) -> list[TokenInfo]:
    """Every token, revoked ones too, newest first (never a token or its hash)."""
    try:
        return await list_tokens(store)
    except AdapterError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None


@router.delete("/{token_id}", response_model=TokenInfo)
async def revoke_token(token_id: TokenId, store: Store, principal: CurrentPrincipal) -> TokenInfo:
    """Revoke a token: refused from the next request on (revoking again changes nothing)."""
    try:
        return await revoke(store, token_id, principal.label)
    except UnknownToken as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None
    except AdapterError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None
