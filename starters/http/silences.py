"""REST routes for ad-hoc silences: set one, list them, end one early. People and
admins only (not integration tokens); who set or ended it comes from the credential."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status

from activities.adapters.sql_silences import silences_of
from activities.credential_models import Kind
from activities.errors import AdapterError
from starters.api import TocsinClient
from starters.credentials import Principal
from starters.http.actors import credential_via
from starters.http.auth import CurrentPrincipal, Requirement, api_router
from starters.silences import NewSilence, SilenceDesk, SilenceNotFound
from workflows.silence_models import Silence

NOT_CONFIGURED = "silences are kept in the incident log database, which this process does not have"
UNAVAILABLE = "the silence store (the incident log database) is unavailable, try again"

SET_SILENCES = Requirement("set or end silences")


def silence_desk(request: Request) -> SilenceDesk:
    silences = silences_of(getattr(request.app.state, "store", None))
    if silences is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_CONFIGURED)
    tocsin: TocsinClient = request.app.state.tocsin
    return SilenceDesk(silences, tocsin.config, tocsin.temporal)


Desk = Annotated[SilenceDesk, Depends(silence_desk)]
SilenceId = Annotated[str, Path(min_length=1, max_length=32)]

router = api_router("/api/silences", "silences", requires=SET_SILENCES)


def setter(principal: Principal) -> str:
    """Who a silence is recorded as set (or ended) by: a person token's person, else the
    admin credential's name (``admin ops-bot``, ``bootstrap admin``)."""
    if principal.kind is Kind.person and principal.person is not None:
        return principal.person
    return principal.label


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Silence)
async def create_silence(body: NewSilence, desk: Desk, principal: CurrentPrincipal) -> Silence:
    """Silence the pages alert sources open for what ``body`` covers, until its end (a
    page a person opens by hand is never silenced)."""
    now = datetime.now(UTC)
    try:
        return await desk.add(body, setter(principal), credential_via(principal), now)
    except AdapterError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None


@router.get("", response_model=list[Silence])
async def get_silences(
    desk: Desk,
    all_: Annotated[
        bool, Query(alias="all", description="Also those over within the last 30 days.")
    ] = False,
) -> list[Silence]:
    """Silences in force or still to come (with ``?all=true``, recent ones too), newest first."""
    try:
        return await desk.list(datetime.now(UTC), everything=all_)
    except AdapterError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None


@router.delete("/{silence_id}", response_model=Silence)
async def end_silence(silence_id: SilenceId, desk: Desk, principal: CurrentPrincipal) -> Silence:
    """End a silence now: the pages it held page within seconds. Ending one ended already
    answers it as it was ended and tells its pages again (a retry after a 503 wakes them);
    one that ran out at its end is 409."""
    try:
        return await desk.end(silence_id, setter(principal), datetime.now(UTC))
    except SilenceNotFound as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None
    except AdapterError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None
