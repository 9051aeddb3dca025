"""iCalendar export of rotations: one calendar per rotation and one per person.

Each event is one person holding one layer for one shift, or for the part of a shift an
override gives someone (overrides and swaps applied). Events are whole: a shift that
overlaps the requested range is exported from its handoff to the next. So an event's
bounds and UID depend only on the plan, never on the range asked for: a calendar client
re-fetching a sliding window sees the same event, UID, DTSTART and DTEND, in every window
that has it. (Consecutive shifts of one person are not merged into one event: where such
a run begins or ends would depend on how far the range reaches.) Times are UTC; clients
show them in the reader's own zone, so DST needs no VTIMEZONE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

from workflows.config import Person
from workflows.rotation_models import RotationPlan, ShiftSpan
from workflows.rotation_rules import all_spans, shift_bounds

PRODID = "-//Tocsin//On-call rotations//EN"


@dataclass(frozen=True)
class _Held:
    """One person holding one layer for one shift (or part of one), with what changed it."""

    rotation: str
    layer: str
    person: str
    start: datetime
    end: datetime
    notes: tuple[str, ...]


def rotation_calendar(
    plan: RotationPlan,
    start: datetime,
    end: datetime,
    people: Mapping[str, Person],
    team: str | None,
) -> bytes:
    """The rotation's shifts overlapping ``[start, end)``, one event per layer and shift.

    Args:
        plan: the rotation's plan (versions, overrides and swaps).
        start: beginning of the range (aware).
        end: end of the range (aware).
        people: the configured people, for display names.
        team: the team the rotation belongs to, for the calendar's name.

    Returns:
        The calendar as ``text/calendar`` bytes.
    """
    owner = f"{team} on call ({plan.name} rotation)" if team else f"{plan.name} rotation"
    calendar = _calendar(f"Tocsin: {owner}")
    for held in _held(plan, start, end):
        summary = f"{_title(held.rotation)} {_label(held.layer)}: {_name(people, held.person)}"
        calendar.add_component(_event(held, summary))
    return _bytes(calendar)


def person_calendar(
    person_id: str,
    plans: Sequence[RotationPlan],
    start: datetime,
    end: datetime,
    people: Mapping[str, Person],
) -> bytes:
    """When ``person_id`` is on call in any of ``plans`` during ``[start, end)``.

    Args:
        person_id: the person whose shifts to export.
        plans: every rotation's plan.
        start: beginning of the range (aware).
        end: end of the range (aware).
        people: the configured people, for display names.

    Returns:
        The calendar as ``text/calendar`` bytes.
    """
    name = _name(people, person_id)
    calendar = _calendar(f"Tocsin: {name} on call")
    mine = [h for plan in plans for h in _held(plan, start, end) if h.person == person_id]
    for held in sorted(mine, key=lambda h: (h.start, h.rotation, h.layer)):
        summary = f"On call: {name} ({held.rotation} {held.layer})"
        calendar.add_component(_event(held, summary))
    return _bytes(calendar)


def _bytes(calendar: Calendar) -> bytes:
    data: bytes = calendar.to_ical()  # icalendar leaves to_ical unannotated
    return data


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def _held(plan: RotationPlan, start: datetime, end: datetime) -> list[_Held]:
    """Who holds each layer in the whole shifts overlapping ``[start, end)``, ordered by
    (start, layer); stretches nobody holds are left out."""
    # Widened to whole shifts, so that each span's bounds come from the plan alone.
    begin = (shift_bounds(plan, start) or (start, start))[0]
    last = shift_bounds(plan, end)
    finish = end if last is None or last[0] == end else last[1]
    return [
        _Held(plan.name, span.layer, span.person, span.start, span.end, _notes(plan, span))
        for span in all_spans(plan, begin, finish)
        if span.person is not None
    ]


def _notes(plan: RotationPlan, span: ShiftSpan) -> tuple[str, ...]:
    """Why ``span`` differs from the schedule, if it does."""
    if span.source == "override":
        found = next((o for o in plan.overrides if o.id == span.override_id), None)
        note = f"Override {span.override_id}"
        if found is not None:
            note += f" by {found.by}" + (f": {found.reason}" if found.reason else "")
        return (note,)
    if span.source == "swap":
        return ("Swapped shift",)
    return ()


def _event(held: _Held, summary: str) -> Event:
    event = Event()
    # Rotation, layer, start and person pin the event: the same in every range that has it.
    epoch = int(held.start.timestamp())
    event.add("uid", f"{held.rotation}-{held.layer}-{epoch}-{held.person}@tocsin")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", held.start.astimezone(UTC))
    event.add("dtend", held.end.astimezone(UTC))
    event.add("summary", summary)
    lines = [f"Rotation {held.rotation}, layer {held.layer}: {held.person}.", *held.notes]
    event.add("description", "\n".join(lines))
    # Being on call does not make anyone busy in their calendar.
    event.add("transp", "TRANSPARENT")
    return event


def _name(people: Mapping[str, Person], person_id: str) -> str:
    person = people.get(person_id)
    return person.name if person is not None else person_id


def _title(rotation: str) -> str:
    return rotation.replace("-", " ").replace("_", " ").title()


def _label(layer: str) -> str:
    """Short layer ids are acronyms (EOC, TM, SRE); longer ones are words (Primary)."""
    return layer.upper() if len(layer) <= 3 else layer.title()
