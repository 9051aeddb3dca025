"""Swaps: two people exchange whole shifts of a layer.

A swap is anchored to the two shifts' start instants and to the people who hold them by
schedule (the members' order, with earlier swaps; overrides are temporary cover and do
not count). Where swaps touch the same shift, the most recent wins.

Pure functions, no I/O and no clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from workflows.rotation_models import RotationPlan
from workflows.rotation_timeline import (
    Slot,
    next_handoff_after,
    require_aware,
    require_layer,
    scheduled,
    when,
)


def swapped_slots(plan: RotationPlan, layer: str, start: datetime, end: datetime) -> list[Slot]:
    """The scheduled shifts of ``layer`` overlapping ``[start, end)`` in time order, with
    the plan's swaps applied."""
    swaps = sorted(
        (s for s in plan.swaps if s.layer == layer), key=lambda s: s.created_at, reverse=True
    )
    slots: list[Slot] = []
    for slot in sorted(scheduled(plan, layer, start, end), key=lambda s: s.start):
        person: str | None = slot.person
        source: Literal["schedule", "swap"] = "schedule"
        for swap in swaps:  # most recent first: the first side that matches applies
            if slot.start == swap.first_start and slot.person == swap.first_person:
                person, source = swap.second_person, "swap"
                break
            if slot.start == swap.second_start and slot.person == swap.second_person:
                person, source = swap.first_person, "swap"
                break
        slots.append(Slot(slot.start, slot.end, person, source))
    return slots


def check_swap(
    plan: RotationPlan,
    layer: str,
    first_person: str,
    first_start: datetime,
    second_person: str,
    second_start: datetime,
    now: datetime,
) -> None:
    """Refuse a swap that cannot be made.

    Each side must be a future shift of ``layer`` (named by the instant it starts) held by
    its person by schedule (the members' order, with the plan's existing swaps; overrides
    are temporary cover and do not count), the two people must differ, and neither shift
    may already be part of another swap.

    Raises:
        ValueError: naming the side and why.
    """
    for instant in (first_start, second_start, now):
        require_aware(instant)
    require_layer(plan, layer)
    if first_person == second_person:
        raise ValueError(f"a swap needs two different people (both sides are {first_person!r})")
    for person, start in ((first_person, first_start), (second_person, second_start)):
        _check_side(plan, layer, person, start, now)


def _check_side(
    plan: RotationPlan, layer: str, person: str, start: datetime, now: datetime
) -> None:
    starting = when(plan, start)
    if start <= now:
        raise ValueError(f"the {layer} shift starting {starting} has already started")
    slots = swapped_slots(plan, layer, start, start + timedelta(microseconds=1))
    slot = slots[0] if slots else None
    if slot is None or slot.start != start or slot.person is None:
        following = next_handoff_after(plan, start)
        raise ValueError(
            f"no {layer} shift starts at {starting} (the next handoff is {when(plan, following)})"
        )
    for swap in plan.swaps:
        if swap.layer == layer and start in (swap.first_start, swap.second_start):
            raise ValueError(
                f"the {layer} shift starting {starting} is already part of swap {swap.id} "
                "(remove that swap first)"
            )
    if slot.person != person:
        raise ValueError(
            f"{person} does not hold the {layer} shift starting {starting} ({slot.person} does)"
        )
