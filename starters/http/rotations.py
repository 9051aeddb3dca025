"""REST routes for rotations: shifts in a range, overrides, swaps, notes, iCalendar feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from starters.http.actors import ActingAs
from starters.http.auth import API_AUTH, CALENDAR_AUTH
from starters.http.guard import GuardedRoute
from starters.http.pages import Tocsin
from starters.http.problems import API_REFUSALS
from workflows.actors import BY
from workflows.instants import Instant
from workflows.rotation_models import (
    NoteRequest,
    Override,
    OverrideRequest,
    RemoveRequest,
    RotationStatus,
    ShiftSpan,
    ShiftState,
    Swap,
    SwapRequest,
)

CALENDAR = "text/calendar; charset=utf-8"
DEFAULT_RANGE = timedelta(days=28)
From = Annotated[Instant | None, Query(alias="from", description="Start (with offset).")]
To = Annotated[Instant | None, Query(description="End (with offset).")]


def router() -> APIRouter:
    """The rotation routes; calendars also accept their own ``?token=`` (see ``auth``)."""
    # Per route: the calendars also take their own ?token= (see CALENDAR_AUTH).
    routes = APIRouter(
        prefix="/api", tags=["rotations"], responses=API_REFUSALS, route_class=GuardedRoute
    )
    bearer = API_AUTH
    calendar = CALENDAR_AUTH

    # Declared before /rotations/{name}: "delivery.ics" would match {name} too.
    @routes.get("/rotations/{name}.ics", dependencies=calendar, response_class=Response)
    async def rotation_ics(
        name: str, client: Tocsin, start: From = None, end: To = None
    ) -> Response:
        """The rotation's schedule, overrides included (one stable URL per rotation)."""
        data = await client.rotation_call(lambda r: r.calendar(name, start, end))
        return Response(data, media_type=CALENDAR)

    @routes.get("/people/{person}.ics", dependencies=calendar, response_class=Response)
    async def person_ics(
        person: str, client: Tocsin, start: From = None, end: To = None
    ) -> Response:
        """One person's shifts across every rotation (one stable URL per person)."""
        data = await client.rotation_call(lambda r: r.person_calendar(person, start, end))
        return Response(data, media_type=CALENDAR)

    @routes.get("/rotations/{name}", dependencies=bearer, response_model=list[ShiftSpan])
    async def shifts(
        name: str, client: Tocsin, start: From = None, end: To = None
    ) -> list[ShiftSpan]:
        """Who holds each layer over a range (default: the next 28 days), overrides applied."""
        first = start or datetime.now(UTC)
        last = end or first + DEFAULT_RANGE
        return await client.rotation_call(lambda r: r.shifts(name, first, last))

    @routes.get("/rotations/{name}/status", dependencies=bearer, response_model=RotationStatus)
    async def rotation_status(name: str, client: Tocsin) -> RotationStatus:
        """The plan, who is on call, the next handoff, gaps and recent changes."""
        return await client.rotation_call(lambda r: r.status(name))

    @routes.post(
        "/rotations/{name}/overrides",
        dependencies=bearer,
        response_model=Override,
        status_code=status.HTTP_201_CREATED,
    )
    async def add_override(
        name: str, body: OverrideRequest, client: Tocsin, act: ActingAs
    ) -> Override:
        """Give part of a layer to a member of the rotation's team (``end`` omitted: until
        that shift ends). Made by one of its members, or an admin."""
        request = act(body)
        return await client.rotation_call(lambda r: r.override(name, request))

    @routes.post(
        "/rotations/{name}/swaps",
        dependencies=bearer,
        response_model=Swap,
        status_code=status.HTTP_201_CREATED,
    )
    async def add_swap(name: str, body: SwapRequest, client: Tocsin, act: ActingAs) -> Swap:
        """Exchange two future shifts of a layer between two members of the rotation's
        team. Made by one of its members, or an admin."""
        request = act(body)
        return await client.rotation_call(lambda r: r.swap(name, request))

    @routes.delete(
        "/rotations/{name}/overrides/{item}",
        dependencies=bearer,
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
    )
    async def remove(
        name: str,
        item: str,
        client: Tocsin,
        act: ActingAs,
        by: Annotated[str | None, Query(max_length=64, description=BY)] = None,
    ) -> Response:
        """Remove an override or a swap by its id (by a member of the rotation, or an admin)."""
        request = act(RemoveRequest(id=item, by=by or ""))
        await client.rotation_call(lambda r: r.remove(name, request))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @routes.post("/rotations/{name}/notes", dependencies=bearer, response_model=ShiftState)
    async def add_note(name: str, body: NoteRequest, client: Tocsin, act: ActingAs) -> ShiftState:
        """A handoff note on the current shift."""
        request = act(body)
        return await client.rotation_call(lambda r: r.note(name, request))

    return routes
