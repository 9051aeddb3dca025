"""*Schedules*: every rotation with who is on call now, its next handoff and its calendar
feeds; one rotation's calendar for the coming weeks (it refreshes itself), its overrides
and swaps with their remove buttons, its recent changes, and the forms to take a shift or
give part of one to someone else.

Times people type are wall-clock times of the rotation's zone (``datetime-local`` fields
carry no offset); they become aware UTC instants before anything is sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from temporalio.service import RPCError

from starters.api import TocsinClient
from starters.console.actions import TEMPORAL_DOWN, act, tocsin
from starters.console.auth import FormSession, SignedIn, actor
from starters.console.render import done, fragment, page
from starters.console.sessions import Session
from starters.console.signin import local_path
from starters.errors import TocsinError
from starters.http.auth import api_token, calendar_token
from worker.rotations import rotation_configs
from workflows.config import Person, TocsinConfig
from workflows.instants import BOUNDS_TEXT
from workflows.rotation_models import (
    Override,
    OverrideRequest,
    RemoveRequest,
    RotationPlan,
    RotationStatus,
    ShiftSpan,
    Swap,
)
from workflows.rotation_rules import next_handoff_after, oncall_at

WEEKS = 4
MAX_WEEKS = 12
WEEK_CHOICES = (1, 2, 4, 8, 12)
# Recent changes shown, newest first (the workflow keeps 50).
CHANGES_SHOWN = 20
NOT_ADDED = "Not added"
NOT_REMOVED = "Not removed"


@dataclass(frozen=True)
class Feed:
    """A calendar URL that carries its own ``?token=`` (calendar apps send no header)."""

    url: str
    webcal: str


@dataclass(frozen=True)
class Holder:
    layer: str
    person: str | None
    name: str
    until: datetime | None


@dataclass(frozen=True)
class RotationCard:
    """One rotation on the overview: who holds each layer now, and its next handoff."""

    name: str
    team: str | None
    timezone: str
    holders: list[Holder]
    next_handoff: datetime | None
    feed: Feed
    error: str | None = None


@dataclass(frozen=True)
class Slot:
    """One row of the calendar: ``person`` holds ``layer`` during ``[start, end)``."""

    layer: str
    person: str | None
    name: str
    start: datetime
    end: datetime
    source: str
    reason: str | None
    now: bool
    start_text: str
    end_text: str


@dataclass(frozen=True)
class Week:
    start: datetime
    label: str
    slots: list[Slot]


@dataclass(frozen=True)
class Calendar:
    """A rotation's coming weeks, and what its workflow says (None when it does not
    answer: ``status_error`` says why)."""

    name: str
    timezone: str
    weeks: list[Week]
    status: RotationStatus | None
    status_error: str | None

    @property
    def changes(self) -> list[str]:
        return list(reversed(self.status.changes))[:CHANGES_SHOWN] if self.status else []

    @property
    def next_handoff(self) -> datetime | None:
        return self.status.next_handoff if self.status else None


def feed(request: Request, path: str) -> Feed:
    """The subscribable URL of the calendar at ``path`` (``/api/rotations/x.ics``)."""
    token = calendar_token(api_token(request), path)
    url = f"{str(request.base_url).rstrip('/')}{path}?{urlencode({'token': token})}"
    return Feed(url=url, webcal="webcal://" + url.split("://", 1)[1])


def local(when: datetime | None, zone: ZoneInfo) -> str:
    """``Mon 2026-11-30 10:00 CST``: an instant as the rotation's people read it."""
    return "—" if when is None else f"{when.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"


def short(when: datetime, zone: ZoneInfo) -> str:
    """``Mon 30 Nov 10:00``: a calendar cell (the zone is named once, above)."""
    return f"{when.astimezone(zone):%a %d %b %H:%M}"


def name_of(people: dict[str, Person], person: str | None) -> str:
    if person is None:
        return "nobody"
    known = people.get(person)
    return known.name if known else person


def team_of(config: TocsinConfig, rotation: str) -> str | None:
    return next((t for t, spec in config.teams.items() if spec.rotation == rotation), None)


def members(config: TocsinConfig, rotation: str) -> list[str]:
    """Who overrides may name: the team's members and the rotation's own people (as the
    rotation's workflow is told them)."""
    return rotation_configs(config)[rotation].settings.members


def week_starts(now: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
    """Local midnights of ``count + 1`` Mondays from this week's (DST-correct), in UTC."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return [_midnight(monday + timedelta(weeks=i), zone) for i in range(count + 1)]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def weeks_of(
    spans: list[ShiftSpan],
    bounds: list[datetime],
    zone: ZoneInfo,
    people: dict[str, Person],
    overrides: dict[str, Override],
    now: datetime,
) -> list[Week]:
    """The spans by the week they start in (one that began before the first week opens
    it), each shown whole, in time order then by layer."""
    weeks = [
        Week(start=start, label=f"{start.astimezone(zone):%a %d %b %Y}", slots=[])
        for start in bounds[:-1]
    ]
    for span in sorted(spans, key=lambda s: (s.start, s.layer)):
        if span.end <= bounds[0] or span.start >= bounds[-1]:
            continue
        index = max(i for i, start in enumerate(bounds[:-1]) if start <= max(span.start, bounds[0]))
        override = overrides.get(span.override_id or "")
        weeks[index].slots.append(
            Slot(
                layer=span.layer,
                person=span.person,
                name=name_of(people, span.person),
                start=span.start,
                end=span.end,
                source=span.source,
                reason=override.reason if override else None,
                now=span.start <= now < span.end,
                start_text=short(span.start, zone),
                end_text=short(span.end, zone),
            )
        )
    return weeks


async def calendar(client: TocsinClient, name: str, weeks: int) -> Calendar:
    """The rotation's shifts over ``weeks`` weeks from this week's Monday (those running
    at either edge shown whole), and its workflow's status."""
    config = client.config.current()
    spec = config.rotations[name]
    now = datetime.now(UTC)
    bounds = week_starts(now, spec.zone, weeks)
    # A shift longer by one on each side: the rows at the edges show their real times.
    first, last = bounds[0] - spec.shift, bounds[-1] + spec.shift
    spans, (status, error) = await asyncio.gather(
        client.rotation_call(lambda r: r.shifts(name, first, last)),
        _status(client, name),
    )
    overrides = {o.id: o for o in status.plan.overrides} if status else {}
    return Calendar(
        name=name,
        timezone=spec.timezone,
        weeks=weeks_of(spans, bounds, spec.zone, config.people, overrides, now),
        status=status,
        status_error=error,
    )


async def _status(client: TocsinClient, name: str) -> tuple[RotationStatus | None, str | None]:
    try:
        return await client.rotation_call(lambda r: r.status(name)), None
    except TocsinError as err:
        return None, str(err)
    except RPCError:
        return None, TEMPORAL_DOWN


async def cards(request: Request, client: TocsinClient) -> list[RotationCard]:
    """Every configured rotation, from its live plan (the config's when its workflow does
    not answer, as paging does)."""
    config = client.config.current()
    now = datetime.now(UTC)

    async def card(name: str) -> RotationCard:
        holders: list[Holder] = []
        handoff: datetime | None = None
        error: str | None = None
        try:
            plan: RotationPlan = await client.rotation_call(lambda r: r.plan(name))
        except TocsinError as err:
            error = str(err)
        except RPCError:
            error = TEMPORAL_DOWN
        else:
            handoff = next_handoff_after(plan, now)
            for layer, span in oncall_at(plan, now).items():
                person = span.person if span else None
                until = span.end if span else None
                holders.append(Holder(layer, person, name_of(config.people, person), until))
        return RotationCard(
            name=name,
            team=team_of(config, name),
            timezone=config.rotations[name].timezone,
            holders=holders,
            next_handoff=handoff,
            feed=feed(request, f"/api/rotations/{name}.ics"),
            error=error,
        )

    return list(await asyncio.gather(*(card(n) for n in sorted(config.rotations))))


def parse_local(field: str, value: str, zone: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` value (``2026-12-01T09:00``) read in ``zone``, as UTC; None
    when empty. A value that carries an offset keeps it.

    Raises:
        ValueError: not a date and time, naming ``field``.
    """
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{field}: {text[:40]!r} is not a date and time (e.g. 2026-12-01T09:00)"
        ) from None
    aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
    try:
        return aware.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved by the zone's offset
        raise ValueError(f"{field}: must be {BOUNDS_TEXT}") from None


def refusal(err: ValidationError) -> str:
    """A request model's complaints, one ``field: reason`` each."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'request'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}"
        for e in err.errors()
    )


def current(
    items: list[Override], swaps: list[Swap], now: datetime, shift: timedelta
) -> tuple[list[Override], list[Swap]]:
    """Overrides that have not ended, and swaps whose shifts have not both passed."""
    live = sorted((o for o in items if o.end > now), key=lambda o: o.start)
    coming = sorted(
        (s for s in swaps if max(s.first_start, s.second_start) + shift > now),
        key=lambda s: min(s.first_start, s.second_start),
    )
    return live, coming


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    def missing(request: Request, session: Session, name: str) -> Response:
        known = ", ".join(sorted(tocsin(request).config.current().rotations)) or "none"
        return page(
            request,
            "message.html",
            session,
            status=404,
            heading="No such rotation",
            text=f"There is no rotation {name!r} (rotations: {known}).",
            back="/schedules",
        )

    def weeks_shown(weeks: int) -> int:
        return max(1, min(weeks, MAX_WEEKS))

    @routes.get("/schedules")
    async def schedules(request: Request, session: SignedIn) -> Response:
        client = tocsin(request)
        return page(
            request,
            "schedules.html",
            session,
            rotations=await cards(request, client),
            my_feed=feed(request, f"/api/people/{session.person}.ics"),
            local=lambda when, zone: local(when, ZoneInfo(zone)),
        )

    @routes.get("/schedules/{name}")
    async def one_rotation(
        request: Request,
        name: str,
        session: SignedIn,
        weeks: Annotated[int, Query()] = WEEKS,
    ) -> Response:
        client = tocsin(request)
        config = client.config.current()
        if name not in config.rotations:
            return missing(request, session, name)
        spec = config.rotations[name]
        shown = weeks_shown(weeks)
        c = await calendar(client, name, shown)
        plan = c.status.plan if c.status else None
        overrides, swaps = current(
            plan.overrides if plan else [],
            plan.swaps if plan else [],
            datetime.now(UTC),
            spec.shift,
        )
        team = team_of(config, name)
        return page(
            request,
            "schedule.html",
            session,
            c=c,
            weeks=shown,
            week_choices=sorted({*WEEK_CHOICES, shown}),
            team=team,
            layers=list(spec.layers),
            members=[(p, name_of(config.people, p)) for p in members(config, name)],
            overrides=overrides,
            swaps=swaps,
            feed=feed(request, f"/api/rotations/{name}.ics"),
            back=f"/schedules/{name}" + (f"?weeks={shown}" if shown != WEEKS else ""),
            local=lambda when: local(when, spec.zone),
            name_of=lambda person: name_of(config.people, person),
        )

    @routes.get("/schedules/{name}/live")
    async def one_rotation_live(
        request: Request,
        name: str,
        session: SignedIn,
        weeks: Annotated[int, Query()] = WEEKS,
    ) -> Response:
        client = tocsin(request)
        config = client.config.current()
        if name not in config.rotations:
            return missing(request, session, name)
        shown = weeks_shown(weeks)
        zone = config.rotations[name].zone
        return fragment(
            request,
            "_schedule_live.html",
            session,
            c=await calendar(client, name, shown),
            weeks=shown,
            local=lambda when: local(when, zone),
        )

    @routes.post("/schedules/{name}/overrides")
    async def add_override(
        request: Request,
        name: str,
        session: FormSession,
        layer: Annotated[str, Form(max_length=200)] = "",
        person: Annotated[str, Form(max_length=200)] = "",
        start: Annotated[str, Form(max_length=200)] = "",
        end: Annotated[str, Form(max_length=200)] = "",
        reason: Annotated[str, Form(max_length=2000)] = "",
        back: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        client = tocsin(request)
        rotations = client.config.current().rotations
        if name not in rotations:
            return done("/schedules", f"{NOT_ADDED}: there is no rotation {name!r}", ok=False)
        zone = rotations[name].zone
        target = local_path(back or f"/schedules/{name}")
        try:
            first = parse_local("start", start, zone)
            last = parse_local("end", end, zone)
            override = OverrideRequest(
                layer=layer,
                person=person,
                start=first,
                end=last,
                reason=reason.strip() or None,
                **actor(session).model_dump(),
            )
        except ValidationError as err:
            return done(target, f"{NOT_ADDED}: {refusal(err)}", ok=False)
        except ValueError as err:
            return done(target, f"{NOT_ADDED}: {err}", ok=False)
        since = f"from {local(first, zone)}" if first else "from now"
        until = f"to {local(last, zone)}" if last else "until that shift ends"
        return await act(
            client.rotation_call(lambda r: r.override(name, override)),
            target,
            f"Override added: {person} holds {layer} {since} {until}",
            NOT_ADDED,
        )

    @routes.post("/schedules/{name}/overrides/{item}/remove")
    async def remove(
        request: Request,
        name: str,
        item: str,
        session: FormSession,
        back: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        client = tocsin(request)
        if name not in client.config.current().rotations:
            return done("/schedules", f"{NOT_REMOVED}: there is no rotation {name!r}", ok=False)
        target = local_path(back or f"/schedules/{name}")
        try:
            removal = RemoveRequest(id=item, **actor(session).model_dump())
        except ValidationError as err:
            return done(target, f"{NOT_REMOVED}: {refusal(err)}", ok=False)
        return await act(
            client.rotation_call(lambda r: r.remove(name, removal)),
            target,
            f"Removed {item} from {name}",
            NOT_REMOVED,
        )

    return routes
