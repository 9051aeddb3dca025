"""A plan's timeline: where each config version applies and the shifts it schedules.

Version ``i`` of a :class:`RotationPlan` applies during ``[effective_from_i,
effective_from_{i+1})`` (the first from the beginning of time when its ``effective_from``
is None); within its window its shifts follow ``workflows/schedule.py``. The answers
people see (swaps, overrides, who is on call) are built on this in
:mod:`workflows.rotation_rules` and :mod:`workflows.rotation_swaps`.

Pure functions, no I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from workflows import schedule
from workflows.config import Rotation
from workflows.rotation_models import RotationPlan


@dataclass(frozen=True)
class Window:
    """Where one version applies: ``[start, end)``, None meaning unbounded."""

    spec: Rotation
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Slot:
    """A scheduled shift of one layer (swaps applied, overrides not), bounds unclipped."""

    start: datetime
    end: datetime
    person: str | None
    source: Literal["schedule", "swap"] = "schedule"


def version_at(plan: RotationPlan, at: datetime) -> Rotation:
    """The config in effect at ``at`` (the earliest known version before the plan begins)."""
    require_aware(at)
    return plan.versions[max(0, version_index(plan, at))].spec


def next_handoff_after(plan: RotationPlan, at: datetime) -> datetime:
    """The first instant strictly after ``at`` at which a shift starts or ends."""
    require_aware(at)
    index = version_index(plan, at)
    begins = plan.versions[0].effective_from
    if index < 0 and begins is not None:
        return begins
    window = windows(plan)[max(0, index)]
    handoff = schedule.next_handoff(window.spec, at)
    return handoff if window.end is None or handoff < window.end else window.end


def windows(plan: RotationPlan) -> list[Window]:
    """Each version with the range it applies to, in order."""
    versions = plan.versions
    return [
        Window(
            spec=v.spec,
            start=v.effective_from,
            end=versions[i + 1].effective_from if i + 1 < len(versions) else None,
        )
        for i, v in enumerate(versions)
    ]


def version_index(plan: RotationPlan, at: datetime) -> int:
    """Index of the version in effect at ``at``; -1 before a first version that has a start."""
    index = -1
    for i, version in enumerate(plan.versions):
        if version.effective_from is None or version.effective_from <= at:
            index = i
        else:
            break
    return index


def first_start(plan: RotationPlan) -> datetime | None:
    """The instant the first shift of the plan starts (None: no version ever starts)."""
    for window in windows(plan):
        begin = schedule.shift_start(window.spec, 0)
        if window.start is not None and schedule.shift_index(window.spec, window.start) is not None:
            begin = window.start
        if window.end is None or begin < window.end:
            return begin
    return None


def clip_to(
    window: Window, begin: datetime, spec: Rotation, shift: int
) -> tuple[datetime, datetime]:
    """Shift ``shift`` of ``spec``, cut to ``window``."""
    end = schedule.shift_start(spec, shift + 1)
    if window.start is not None:
        begin = max(begin, window.start)
    if window.end is not None:
        end = min(end, window.end)
    return begin, end


def layers(plan: RotationPlan) -> list[str]:
    """Every layer any version has, in order of first appearance."""
    return list(dict.fromkeys(layer for v in plan.versions for layer in v.spec.layers))


def scheduled(plan: RotationPlan, layer: str, start: datetime, end: datetime) -> Iterator[Slot]:
    """Scheduled shifts of ``layer`` overlapping ``[start, end)``, gaps as person None."""
    for window in windows(plan):
        lo = start if window.start is None else max(start, window.start)
        hi = end if window.end is None else min(end, window.end)
        if lo >= hi:
            continue
        members = window.spec.layers.get(layer)
        first = schedule.shift_start(window.spec, 0)
        if members is None or hi <= first:
            yield Slot(lo, hi, None)
            continue
        if lo < first:
            yield Slot(lo, first, None)
            lo = first
        shift = schedule.shift_index(window.spec, lo) or 0  # never None: lo >= first
        while True:
            begin = schedule.shift_start(window.spec, shift)
            slot_start, slot_end = clip_to(window, begin, window.spec, shift)
            if slot_start >= hi:
                break
            yield Slot(slot_start, slot_end, members[shift % len(members)])
            shift += 1
    # Before a first version that has a start (a pruned plan), nothing is known.
    begins = plan.versions[0].effective_from
    if begins is not None and start < min(begins, end):
        yield Slot(start, min(begins, end), None)


def require_layer(plan: RotationPlan, layer: str) -> None:
    """Raises ValueError naming the plan's layers when ``layer`` is not one of them."""
    known = layers(plan)
    if layer not in known:
        raise ValueError(f"unknown layer {layer!r} (layers: {', '.join(known)})")


def when(plan: RotationPlan, at: datetime) -> str:
    """``at`` in the rotation's own time zone, as people set its handoffs."""
    return f"{at.astimezone(version_at(plan, at).zone):%a %Y-%m-%d %H:%M %Z}"


def require_aware(at: datetime) -> None:
    """Raises ValueError for a naive ``at``: rotation times are instants."""
    if at.tzinfo is None:
        raise ValueError("rotation times must be timezone-aware")
