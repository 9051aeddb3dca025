"""iCalendar export of rotations: one calendar per rotation and one per person.

Each event is one stretch of one person holding one layer (consecutive shifts of the
same person merged), overrides and swaps applied. Events are whole: a shift that
overlaps the requested range is exported from its handoff to the next, so a calendar
client re-fetching a sliding window sees the same UIDs for the same shifts. Times are
UTC; clients show them in the reader's own zone, so DST needs no VTIMEZONE.
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


@dataclass
class _Stretch:
    """Consecutive spans of one person on one layer, with what changed them."""

    rotation: str
    layer: str
    person: str
    start: datetime
    end: datetime
    notes: list[str]


def rotation_calendar(
    plan: RotationPlan,
    start: datetime,
    end: datetime,
    people: Mapping[str, Person],
    team: str | None,
) -> bytes:
    """The rotation's shifts overlapping ``[start, end)``, one event per holder and layer.

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
    for stretch in _stretches(plan, start, end):
        summary = (
            f"{_title(stretch.rotation)} {_label(stretch.layer)}: {_name(people, stretch.person)}"
        )
        calendar.add_component(_event(stretch, summary))
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
    stretches = [s for plan in plans for s in _stretches(plan, start, end) if s.person == person_id]
    for stretch in sorted(stretches, key=lambda s: (s.start, s.rotation, s.layer)):
        summary = f"On call: {name} ({stretch.rotation} {stretch.layer})"
        calendar.add_component(_event(stretch, summary))
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


def _stretches(plan: RotationPlan, start: datetime, end: datetime) -> list[_Stretch]:
    """Held spans of the shifts overlapping ``[start, end)``, merged per person and layer."""
    begin = (shift_bounds(plan, start) or (start, start))[0]
    last = shift_bounds(plan, end)
    finish = end if last is None or last[0] == end else last[1]
    open_: dict[str, _Stretch] = {}
    done: list[_Stretch] = []
    for span in all_spans(plan, begin, finish):
        current = open_.get(span.layer)
        if current is not None and current.person == span.person and current.end == span.start:
            current.end = span.end
            _note(plan, span, current.notes)
            continue
        if current is not None:
            done.append(open_.pop(span.layer))
        if span.person is not None:
            open_[span.layer] = _Stretch(
                plan.name, span.layer, span.person, span.start, span.end, _note(plan, span, [])
            )
    done.extend(open_.values())
    return sorted(done, key=lambda s: (s.start, s.layer))


def _note(plan: RotationPlan, span: ShiftSpan, notes: list[str]) -> list[str]:
    """Add why ``span`` differs from the schedule to ``notes`` (once each)."""
    if span.source == "override":
        found = next((o for o in plan.overrides if o.id == span.override_id), None)
        note = f"Override {span.override_id}"
        if found is not None:
            note += f" by {found.by}" + (f": {found.reason}" if found.reason else "")
    elif span.source == "swap":
        note = "Swapped shift"
    else:
        return notes
    if note not in notes:
        notes.append(note)
    return notes


def _event(stretch: _Stretch, summary: str) -> Event:
    event = Event()
    epoch = int(stretch.start.timestamp())
    event.add("uid", f"{stretch.rotation}-{stretch.layer}-{epoch}-{stretch.person}@tocsin")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", stretch.start.astimezone(UTC))
    event.add("dtend", stretch.end.astimezone(UTC))
    event.add("summary", summary)
    lines = [
        f"Rotation {stretch.rotation}, layer {stretch.layer}: {stretch.person}.",
        *stretch.notes,
    ]
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
