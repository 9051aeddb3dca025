"""Schedule arithmetic: who holds each layer of a rotation at any instant.

Handoffs happen at the configured *local wall-clock* time: shift ``k`` starts at
``anchor + k * shift`` computed on naive local datetimes, then placed in the rotation's
time zone. A weekly Monday-10:00 Chicago rotation therefore hands over at 10:00 local
on both sides of a daylight-saving change (the shift spanning the change is one hour
longer or shorter). A handoff that falls in a spring-forward gap (02:30 on a
change day) happens at the first valid instant after it (03:30 new time); one in a
fall-back overlap happens at the first of the two occurrences.

Pure functions, no I/O: usable from workflows, activities and starters alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from workflows.config import Rotation


@dataclass(frozen=True)
class Shift:
    """One layer's holder for one shift, ``[start, end)`` in UTC."""

    layer: str
    person: str
    index: int
    start: datetime
    end: datetime


def anchor(rotation: Rotation) -> datetime:
    """Naive local start of shift 0: the first handoff weekday on or after ``start``."""
    day = rotation.start
    if rotation.handoff.weekday is not None:
        day += timedelta(days=(rotation.handoff.weekday.number - day.weekday()) % 7)
    return datetime.combine(day, rotation.handoff.time)


def _place(rotation: Rotation, naive_local: datetime) -> datetime:
    """Naive local wall-clock time → aware UTC instant (gap: shift forward; overlap: first)."""
    zone = rotation.zone
    aware = naive_local.replace(tzinfo=zone, fold=0)
    # In a spring-forward gap zoneinfo maps fold=0 with the pre-change offset, which lands
    # after the gap: exactly the "first valid instant after" rule we want.
    return aware.astimezone(UTC)


def shift_start(rotation: Rotation, index: int) -> datetime:
    """UTC instant at which shift ``index`` begins (shift 0 is the anchor)."""
    return _place(rotation, anchor(rotation) + index * rotation.shift)


def shift_index(rotation: Rotation, at: datetime) -> int | None:
    """Index of the shift running at ``at`` (aware), or ``None`` before the rotation starts."""
    _require_aware(at)
    if at < shift_start(rotation, 0):
        return None
    local = at.astimezone(rotation.zone).replace(tzinfo=None)
    index = max(0, (local - anchor(rotation)) // rotation.shift)
    # The naive estimate can be off by one around DST changes; settle it on real instants.
    while index > 0 and shift_start(rotation, index) > at:
        index -= 1
    while shift_start(rotation, index + 1) <= at:
        index += 1
    return index


def holder(rotation: Rotation, layer: str, at: datetime) -> Shift | None:
    """Who holds ``layer`` at ``at``; ``None`` before the rotation starts.

    Raises:
        KeyError: the rotation has no such layer.
    """
    members = rotation.layers[layer]
    index = shift_index(rotation, at)
    if index is None:
        return None
    return _shift(rotation, layer, members, index)


def oncall(rotation: Rotation, at: datetime) -> dict[str, Shift | None]:
    """Holder of every layer at ``at``."""
    return {layer: holder(rotation, layer, at) for layer in rotation.layers}


def shifts(rotation: Rotation, layer: str, start: datetime, end: datetime) -> list[Shift]:
    """Every shift of ``layer`` that overlaps ``[start, end)``."""
    _require_aware(start)
    _require_aware(end)
    members = rotation.layers[layer]
    index = shift_index(rotation, start)
    if index is None:
        index = 0
    found: list[Shift] = []
    while (begin := shift_start(rotation, index)) < end:
        found.append(_shift(rotation, layer, members, index, begin))
        index += 1
    return found


def next_handoff(rotation: Rotation, at: datetime) -> datetime:
    """The first handoff strictly after ``at``."""
    index = shift_index(rotation, at)
    return shift_start(rotation, 0 if index is None else index + 1)


def _shift(
    rotation: Rotation, layer: str, members: list[str], index: int, begin: datetime | None = None
) -> Shift:
    return Shift(
        layer=layer,
        person=members[index % len(members)],
        index=index,
        start=begin if begin is not None else shift_start(rotation, index),
        end=shift_start(rotation, index + 1),
    )


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware")
