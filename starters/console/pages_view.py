"""*Pages*: the list (by team, status and urgency) with Acknowledge / Escalate on each
open page, and one page with its alerts and timeline (both refresh themselves) and what
its responders can do: acknowledge, escalate, resolve, un-acknowledge, snooze, reassign,
add responders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from temporalio.service import RPCError

from starters.api import TocsinClient
from starters.console.actions import act, send, tocsin
from starters.console.auth import FormSession, SignedIn, actor
from starters.console.render import done, fragment, page
from starters.console.sessions import Session
from starters.console.signin import local_path
from starters.errors import PageNotFound
from starters.page_responders import Reassignment, Responders, Snooze
from workflows.models import PageActionInput, PageState, PageStatus

log = structlog.get_logger("tocsin.console")

LIST_LIMIT = 50
QUERY_TIMEOUT = 3.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Page states fetched at once for a list (each is one query to its workflow).
AT_ONCE = 10
Status = Literal["open", "triggered", "acknowledged", "resolved", "all"]
Urgency = Literal["high", "low", "all"]
VERBS = {
    "ack": ("acknowledge", "Acknowledged", "Not acknowledged"),
    "escalate": ("escalate", "Escalated", "Not escalated"),
    "resolve": ("resolve", "Resolved", "Not resolved"),
    "unack": ("unacknowledge", "Un-acknowledged", "Not un-acknowledged"),
}
# What the snooze form offers (1h selected).
SNOOZES = ("15m", "30m", "1h", "2h", "4h", "8h", "1d")
Back = Annotated[str, Form(max_length=2000)]
Note = Annotated[str | None, Form(max_length=2000)]


async def page_states(
    client: TocsinClient, status: Status = "open", team: str | None = None, limit: int = LIST_LIMIT
) -> list[PageState]:
    """The pages of a list, newest first, each as its workflow says now (``open``:
    triggered or acknowledged, found by their status in visibility). A page whose
    workflow does not answer within :data:`QUERY_TIMEOUT` (no worker serves its task
    queue) is left out rather than hold the whole list."""
    if status == "open":
        wanted: list[PageStatus | None] = [PageStatus.triggered, PageStatus.acknowledged]
    else:
        wanted = [None if status == "all" else PageStatus(status)]
    listed = [p for one in wanted for p in await client.list_pages(one, team, limit)]
    listed.sort(key=lambda p: p.created_at or EPOCH, reverse=True)
    gate = asyncio.Semaphore(AT_ONCE)

    async def state(page_id: str) -> PageState | None:
        async with gate:
            try:
                return await asyncio.wait_for(client.get_page(page_id), QUERY_TIMEOUT)
            except (PageNotFound, RPCError, TimeoutError) as err:
                log.info("page left out of a list", page_id=page_id, error=type(err).__name__)
                return None

    states = await asyncio.gather(*(state(p.id) for p in listed[:limit]))
    shown = [s for s in states if s is not None]
    if status == "open":
        shown = [s for s in shown if s.status != PageStatus.resolved]
    return shown


@dataclass(frozen=True)
class PageFilters:
    """A list's filters, from its query (``?status=&team=&urgency=``)."""

    status: Status
    team: str | None
    urgency: Urgency

    def shown(self) -> dict[str, str]:
        """For the templates (the filter form and the live list's own URL)."""
        return {"status": self.status, "team": self.team or "", "urgency": self.urgency}


def page_filters(
    status: Annotated[Status, Query()] = "open",
    team: Annotated[str | None, Query(max_length=64)] = None,
    urgency: Annotated[Urgency, Query()] = "all",
) -> PageFilters:
    return PageFilters(status, team, urgency)


Filters = Annotated[PageFilters, Depends(page_filters)]


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    async def listed(request: Request, f: PageFilters) -> list[PageState]:
        pages = await page_states(tocsin(request), f.status, f.team or None)
        return [p for p in pages if f.urgency in ("all", p.urgency)]

    @routes.get("/pages")
    async def pages(request: Request, session: SignedIn, f: Filters) -> Response:
        teams = sorted(tocsin(request).config.current().teams)
        return page(
            request,
            "pages.html",
            session,
            pages=await listed(request, f),
            teams=teams,
            filters=f.shown(),
        )

    @routes.get("/pages/live")
    async def pages_live(request: Request, session: SignedIn, f: Filters) -> Response:
        return fragment(
            request, "_pages_list.html", session, pages=await listed(request, f), filters=f.shown()
        )

    async def shown(
        request: Request, page_id: str, session: Session, template: str, live: bool
    ) -> Response:
        """The page in ``template`` (whole, or its live part); PageNotFound is the app's
        404 page."""
        client = tocsin(request)
        state = await client.get_page(page_id)
        if live:
            return fragment(request, template, session, p=state)
        return page(request, template, session, p=state, **_choices(client))

    @routes.get("/pages/{page_id}")
    async def one_page(request: Request, page_id: str, session: SignedIn) -> Response:
        return await shown(request, page_id, session, "page.html", live=False)

    @routes.get("/pages/{page_id}/live")
    async def one_page_live(request: Request, page_id: str, session: SignedIn) -> Response:
        return await shown(request, page_id, session, "_page_live.html", live=True)

    # Before /pages/{page_id}/{verb}, which would take their paths.
    @routes.post("/pages/{page_id}/snooze")
    async def snooze(
        request: Request,
        page_id: str,
        session: FormSession,
        duration: Annotated[str, Form(max_length=64)] = "",
        back: Back = "",
        note: Note = None,
    ) -> Response:
        client, acted = tocsin(request), actor(session).model_dump()
        return await send(
            lambda: client.snooze(page_id, Snooze(duration=duration, note=note or None, **acted)),
            back or f"/pages/{page_id}",
            f"Snoozed page {page_id} for {duration}",
            "Not snoozed",
        )

    @routes.post("/pages/{page_id}/reassign")
    async def reassign(
        request: Request,
        page_id: str,
        session: FormSession,
        to: Annotated[str, Form(max_length=300)] = "",
        back: Back = "",
        note: Note = None,
    ) -> Response:
        target = back or f"/pages/{page_id}"
        kind, _, name = to.partition(":")
        if kind not in ("team", "person") or not name:
            return done(local_path(target), "Not reassigned: choose a team or a person", ok=False)
        client, acted = tocsin(request), actor(session).model_dump()
        return await send(
            lambda: client.reassign(
                page_id, Reassignment(**{kind: name}, note=note or None, **acted)
            ),
            target,
            f"Reassigned page {page_id} to {kind} {name}",
            "Not reassigned",
        )

    @routes.post("/pages/{page_id}/responders")
    async def add_responders(
        request: Request,
        page_id: str,
        session: FormSession,
        target: Annotated[list[str] | None, Form()] = None,
        back: Back = "",
        note: Note = None,
    ) -> Response:
        client, acted = tocsin(request), actor(session).model_dump()
        targets = target or []
        return await send(
            lambda: client.add_responders(
                page_id, Responders(targets=targets, note=note or None, **acted)
            ),
            back or f"/pages/{page_id}",
            f"Asked {', '.join(targets)} to help with page {page_id}",
            "No responders added",
        )

    @routes.post("/pages/{page_id}/{verb}")
    async def page_action(
        request: Request,
        page_id: str,
        verb: Literal["ack", "escalate", "resolve", "unack"],
        session: FormSession,
        back: Back = "",
        note: Note = None,
    ) -> Response:
        method, success, refused = VERBS[verb]
        client = tocsin(request)
        action = PageActionInput(note=note or None, **actor(session).model_dump())
        call = getattr(client, method)(page_id, action)
        return await act(call, back or f"/pages/{page_id}", f"{success} page {page_id}", refused)

    return routes


def _choices(client: TocsinClient) -> dict[str, Any]:
    """What the page's forms offer: snoozes, and teams, rotation layers and people from
    the config (to reassign to, or ask to help)."""
    config = client.config.current()
    return {
        "snoozes": SNOOZES,
        "teams": sorted(config.teams),
        "layers": sorted(
            f"{r}/{layer}" for r, spec in config.rotations.items() for layer in spec.layers
        ),
        "people": sorted((pid, person.name) for pid, person in config.people.items()),
    }
