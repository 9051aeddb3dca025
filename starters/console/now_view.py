"""*Now*: who is on call for each team and layer (overrides and swaps applied), my open
pages, the open incidents and each rotation's next handoff; it refreshes itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from temporalio.service import RPCError

from starters.api import TocsinClient
from starters.clients.incidents import IncidentListItem
from starters.console.actions import tocsin
from starters.console.auth import SignedIn
from starters.console.pages_view import page_states
from starters.console.render import fragment, page
from starters.errors import TocsinError
from workflows.models import OnCallEntry, PageState

OPEN_INCIDENTS = ("triage", "active")
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Handoff:
    rotation: str
    team: str | None
    at: datetime | None


@dataclass(frozen=True)
class Now:
    oncall: dict[str, list[OnCallEntry]]
    my_pages: list[PageState]
    other_pages: int
    incidents: list[IncidentListItem]
    handoffs: list[Handoff]


async def handoffs(client: TocsinClient) -> list[Handoff]:
    """The next handoff of every configured rotation (None while its workflow has not
    started), soonest first."""

    async def one(name: str) -> Handoff:
        team = next(
            (t for t, spec in client.config.current().teams.items() if spec.rotation == name), None
        )
        try:
            status = await client.rotation_call(lambda r: r.status(name))
        except (TocsinError, RPCError):
            return Handoff(name, team, None)
        return Handoff(name, team, status.next_handoff)

    found = await asyncio.gather(*(one(n) for n in sorted(client.config.current().rotations)))
    known = sorted((h for h in found if h.at is not None), key=lambda h: h.at or NEVER)
    return known + [h for h in found if h.at is None]


async def now(client: TocsinClient, person: str) -> Now:
    teams_of_mine = {
        t for t, spec in client.config.current().teams.items() if person in spec.members
    }
    entries, pages, incidents, coming = await asyncio.gather(
        client.oncall(),
        page_states(client, "open"),
        client.list_incidents(None, None, 200),
        handoffs(client),
    )
    oncall: dict[str, list[OnCallEntry]] = {}
    for entry in entries:
        oncall.setdefault(entry.team, []).append(entry)

    def mine(p: PageState) -> bool:
        reached = {n.person for n in p.notified if n.ok}
        return person in reached or p.acknowledged_by == person or p.team in teams_of_mine

    my_pages = [p for p in pages if mine(p)]
    return Now(
        oncall=oncall,
        my_pages=my_pages,
        other_pages=len(pages) - len(my_pages),
        incidents=[i for i in incidents if i.status in OPEN_INCIDENTS],
        handoffs=coming,
    )


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/")
    async def now_page(request: Request, session: SignedIn) -> Response:
        return page(request, "now.html", session, n=await now(tocsin(request), session.person))

    @routes.get("/now/live")
    async def now_live(request: Request, session: SignedIn) -> Response:
        return fragment(
            request, "_now_live.html", session, n=await now(tocsin(request), session.person)
        )

    return routes
