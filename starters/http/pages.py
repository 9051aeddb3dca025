"""REST routes for pages: create, list, show, acknowledge, escalate, resolve, and the
responder actions: un-acknowledge, snooze, reassign, add responders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Response, status
from pydantic import Field

from activities.credential_models import Kind
from starters.api import TocsinClient
from starters.checks import NewPage
from starters.http.actors import ActingAs, acting_person, credential_via
from starters.http.auth import CREATE_PAGES, CurrentPrincipal, api_router
from starters.page_responders import Reassignment, Responders, Snooze
from workflows.models import AlertList, PageActionInput, PageListItem, PageState, PageStatus


class PageAction(PageActionInput):
    """Who acts on the page (from the token; see ``by``), and optionally why."""

    note: str | None = Field(default=None, max_length=2000)


def tocsin(request: Request) -> TocsinClient:
    client: TocsinClient = request.app.state.tocsin
    return client


Tocsin = Annotated[TocsinClient, Depends(tocsin)]

router = api_router("/api/pages", "pages")


@router.post(
    "",
    # Integration tokens with scope pages:create too (CI scripts, bots).
    dependencies=[Depends(CREATE_PAGES)],
    status_code=status.HTTP_201_CREATED,
    response_model=PageState,
    responses={
        200: {"model": PageState, "description": "A page with this dedup_key is open: that page"}
    },
)
async def create_page(
    body: NewPage,
    client: Tocsin,
    response: Response,
    request: Request,
    principal: CurrentPrincipal,
) -> PageState:
    """Page a team. With a ``dedup_key`` of a page that is still open, return that page (200).

    A person token pages as its person; an admin token for ``by`` (or as itself); an
    integration token as itself."""
    names_person = principal.kind is Kind.person or (principal.is_admin and body.by)
    by = acting_person(request, principal, body.by) if names_person else None
    page, created = await client.create_page(
        body.model_copy(update={"by": by, "via": credential_via(principal)})
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/pages/{page.id}"
    return page


@router.get("", response_model=list[PageListItem])
async def list_pages(
    client: Tocsin,
    page_status: Annotated[PageStatus | None, Query(alias="status")] = None,
    team: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[PageListItem]:
    """Pages, newest first (from Temporal visibility, which lags about a second)."""
    return await client.list_pages(page_status, team, limit)


@router.get("/{page_id}", response_model=PageState)
async def get_page(page_id: str, client: Tocsin) -> PageState:
    """One page with its timeline and notifications."""
    return await client.get_page(page_id)


@router.get("/{page_id}/alerts", response_model=AlertList)
async def get_alerts(
    page_id: str,
    client: Tocsin,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> AlertList:
    """Every alert of the page, a slice at a time (the page itself shows at most 100)."""
    return await client.get_alerts(page_id, offset, limit)


@router.post("/{page_id}/ack", response_model=PageState)
async def acknowledge(page_id: str, body: PageAction, client: Tocsin, act: ActingAs) -> PageState:
    """Acknowledge the page: escalation stops."""
    return await client.acknowledge(page_id, act(body))


@router.post("/{page_id}/escalate", response_model=PageState)
async def escalate(page_id: str, body: PageAction, client: Tocsin, act: ActingAs) -> PageState:
    """Notify the next escalation step now."""
    return await client.escalate(page_id, act(body))


@router.post("/{page_id}/resolve", response_model=PageState)
async def resolve(page_id: str, body: PageAction, client: Tocsin, act: ActingAs) -> PageState:
    """Resolve the page."""
    return await client.resolve(page_id, act(body))


@router.post("/{page_id}/unack", response_model=PageState)
async def unacknowledge(page_id: str, body: PageAction, client: Tocsin, act: ActingAs) -> PageState:
    """Un-acknowledge the page: it is triggered again and escalates from its first step
    (409 when it is not acknowledged)."""
    return await client.unacknowledge(page_id, act(body))


@router.post("/{page_id}/snooze", response_model=PageState)
async def snooze(page_id: str, body: Snooze, client: Tocsin, act: ActingAs) -> PageState:
    """Snooze an acknowledged page for ``duration`` (``30m``, ``2h``; at most ``1w``): it
    stays acknowledged until then, then triggers again from its first step (409 when it is
    not acknowledged). ``snoozed_until`` says when."""
    return await client.snooze(page_id, act(body))


@router.post("/{page_id}/reassign", response_model=PageState)
async def reassign(page_id: str, body: Reassignment, client: Tocsin, act: ActingAs) -> PageState:
    """Reassign the page to a ``team`` (its escalation policy, from the first step) or to
    one ``person`` (by id or e-mail; notified alone, three times), acknowledged or not: it
    is triggered again there. An unknown team or person is a 422, and nothing changes."""
    return await client.reassign(page_id, act(body))


@router.post("/{page_id}/responders", response_model=PageState)
async def add_responders(
    page_id: str, body: Responders, client: Tocsin, act: ActingAs
) -> PageState:
    """Add responders: every person the ``targets`` name now is notified at once and may
    act on the page; its escalation goes on as it was. A target that names nobody
    configured is a 422 naming it, and nobody is notified."""
    return await client.add_responders(page_id, act(body))
