"""REST routes for rotations: shifts in a range, overrides, swaps, notes, iCalendar feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

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
From = Annotated[
    Instant | None,
    Query(alias="from", description="Start of the range, with offset: `?from=&to=`."),
]
To = Annotated[
    Instant | None, Query(alias="to", description="End of the range, with offset: `?from=&to=`.")
]
# Names a caller may reach for instead of the documented pair; refused, never ignored.
MISNAMED = {"start": "from", "end": "to"}


def range_names(request: Request) -> None:
    """Refuse ``?start=``/``?end=``: a range is ``?from=&to=``.

    Ignoring them would answer for the default range, which looks right and is not.

    Raises:
        RequestValidationError: 422 naming the parameter and the one to use.
    """
    errors = [
        {
            "loc": ("query", given),
            "msg": f"unknown parameter {given!r}: a range is ?from=&to=, use {wanted!r}",
            "type": "value_error",
            "input": request.query_params[given],
        }
        for given, wanted in MISNAMED.items()
        if given in request.query_params
    ]
    if errors:
        raise RequestValidationError(errors)


RANGE = [Depends(range_names)]


def router() -> APIRouter:
    """The rotation routes; calendars also accept their own ``?token=`` (see ``auth``)."""
    # Per route: the calendars also take their own ?token= (see CALENDAR_AUTH).
    routes = APIRouter(
        prefix="/api", tags=["rotations"], responses=API_REFUSALS, route_class=GuardedRoute
    )
    bearer = API_AUTH
    # The credentials first: an anonymous caller learns nothing about the parameters.
    bearer_range = [*API_AUTH, *RANGE]
    calendar_range = [*CALENDAR_AUTH, *RANGE]

    # Declared before /rotations/{name}: "delivery.ics" would match {name} too.
    @routes.get("/rotations/{name}.ics", dependencies=calendar_range, response_class=Response)
    async def rotation_ics(
        name: str, client: Tocsin, from_: From = None, to: To = None
    ) -> Response:
        """The rotation's schedule, overrides included (one stable URL per rotation): each
        whole shift overlapping ``?from=&to=`` (default: the last 30 days and the next 180)."""
        data = await client.rotation_call(lambda r: r.calendar(name, from_, to))
        return Response(data, media_type=CALENDAR)

    @routes.get("/people/{person}.ics", dependencies=calendar_range, response_class=Response)
    async def person_ics(
        person: str, client: Tocsin, from_: From = None, to: To = None
    ) -> Response:
        """One person's shifts across every rotation (one stable URL per person): each whole
        shift overlapping ``?from=&to=`` (default: the last 30 days and the next 180)."""
        data = await client.rotation_call(lambda r: r.person_calendar(person, from_, to))
        return Response(data, media_type=CALENDAR)

    @routes.get("/rotations/{name}", dependencies=bearer_range, response_model=list[ShiftSpan])
    async def shifts(
        name: str, client: Tocsin, from_: From = None, to: To = None
    ) -> list[ShiftSpan]:
        """Who holds each layer over ``?from=&to=`` (default: the next 28 days), overrides
        applied; spans are cut to the range."""
        first = from_ or datetime.now(UTC)
        last = to or first + DEFAULT_RANGE
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
