"""Who is on call, from a :class:`RotationPlan`: versions, swaps and overrides applied.

A plan is a sequence of config versions; version ``i`` applies during
``[effective_from_i, effective_from_{i+1})`` (the first from the beginning of time when
its ``effective_from`` is None). Within its window a version's shifts follow
``workflows/schedule.py`` (handoffs at local wall-clock time, DST-correct); the first
shift after a change starts at the change and ends at the new version's next handoff.

On top of the schedule, swaps exchange whole shifts (anchored to their start instants
and to the people who hold them by schedule), then overrides give any range of a layer
to someone else; where overrides overlap, the most recently created wins.

The timeline (versions, scheduled shifts) is in :mod:`workflows.rotation_timeline`, swaps
in :mod:`workflows.rotation_swaps`; this module answers from both, and is where callers
import the rules from.

Pure functions, no I/O and no clock: RotationWorkflow, activities and starters share them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from itertools import pairwise

from workflows import schedule
from workflows.config import Rotation
from workflows.rotation_models import Gap, Override, RotationPlan, RotationVersion, ShiftSpan
from workflows.rotation_swaps import check_swap, swapped_slots
from workflows.rotation_timeline import (
    Slot,
    clip_to,
    first_start,
    layers,
    next_handoff_after,
    require_aware,
    require_layer,
    version_at,
    version_index,
    when,
    windows,
)

__all__ = [
    "MAX_OVERRIDE",
    "all_spans",
    "apply_config_change",
    "check_override",
    "check_swap",
    "layer_gaps",
    "layer_spans",
    "next_handoff_after",
    "oncall_at",
    "plan_from_config",
    "prune",
    "shift_bounds",
    "version_at",
]

MAX_OVERRIDE = timedelta(days=90)


def plan_from_config(name: str, rotation: Rotation) -> RotationPlan:
    """A plan with ``rotation`` as its only version, in effect from the start."""
    return RotationPlan(name=name, versions=[RotationVersion(spec=rotation)])


def apply_config_change(plan: RotationPlan, new: Rotation, at: datetime) -> RotationPlan | None:
    """The plan with ``new`` in effect from the next handoff after ``at``; None if nothing changes.

    The past and the running shift never change: ``new`` takes effect at the first handoff
    strictly after ``at`` under the version in effect at ``at``, replacing a version already
    pending after ``at``. A rotation that has not started at ``at`` is replaced entirely.
    Returns None when the result would be the plan as it is (``new`` equals the version in
    effect and nothing is pending, or the same change is already pending).
    """
    require_aware(at)
    first = first_start(plan)
    if first is None or at < first:
        versions = [RotationVersion(spec=new)]
    else:
        index = version_index(plan, at)
        current = plan.versions[index]
        versions = plan.versions[: index + 1]
        if new != current.spec:
            versions.append(
                RotationVersion(effective_from=schedule.next_handoff(current.spec, at), spec=new)
            )
    if versions == plan.versions:
        return None
    return plan.model_copy(update={"versions": versions})


def shift_bounds(plan: RotationPlan, at: datetime) -> tuple[datetime, datetime] | None:
    """``[start, end)`` of the shift running at ``at``; None when no shift is running.

    No shift runs before the rotation starts, nor between a change to a version whose own
    start date is later and that version's first handoff.
    """
    require_aware(at)
    index = version_index(plan, at)
    if index < 0:
        return None
    window = windows(plan)[index]
    shift = schedule.shift_index(window.spec, at)
    if shift is None:
        return None
    return clip_to(window, schedule.shift_start(window.spec, shift), window.spec, shift)


def layer_spans(plan: RotationPlan, layer: str, start: datetime, end: datetime) -> list[ShiftSpan]:
    """Who holds ``layer`` during ``[start, end)``: contiguous spans in time order.

    Scheduled shifts are clipped to the range, then swaps and overrides are applied;
    a span is split where an override begins or ends. Time no version schedules for the
    layer (before the rotation starts, or a version without the layer) has ``person`` None.
    """
    require_aware(start)
    require_aware(end)
    overrides = sorted(
        (
            (o.created_at, i, o)
            for i, o in enumerate(plan.overrides)
            if o.layer == layer and o.start < end and o.end > start
        ),
        key=lambda item: item[:2],
    )
    ordered = [o for _, _, o in overrides]
    spans: list[ShiftSpan] = []
    for slot in swapped_slots(plan, layer, start, end):
        lo, hi = max(slot.start, start), min(slot.end, end)
        spans.extend(_apply_overrides(plan.name, layer, slot, lo, hi, ordered))
    return spans


def all_spans(plan: RotationPlan, start: datetime, end: datetime) -> list[ShiftSpan]:
    """:func:`layer_spans` of every layer any version has, ordered by (start, layer)."""
    spans = [s for layer in layers(plan) for s in layer_spans(plan, layer, start, end)]
    return sorted(spans, key=lambda s: (s.start, s.layer))


def oncall_at(plan: RotationPlan, at: datetime) -> dict[str, ShiftSpan | None]:
    """The span holding each layer of the version in effect at ``at`` (None: nobody)."""
    require_aware(at)
    bounds = shift_bounds(plan, at) or (at, next_handoff_after(plan, at))
    found: dict[str, ShiftSpan | None] = {}
    for layer in version_at(plan, at).layers:
        spans = layer_spans(plan, layer, *bounds)
        span = next((s for s in spans if s.start <= at < s.end), None)
        found[layer] = span if span is not None and span.person is not None else None
    return found


def layer_gaps(plan: RotationPlan, start: datetime, end: datetime) -> list[Gap]:
    """Every stretch of ``[start, end)`` in which nobody holds a layer, ordered by (start, layer)."""
    gaps: list[Gap] = []
    for layer in layers(plan):
        current: Gap | None = None
        for span in layer_spans(plan, layer, start, end):
            if span.person is not None:
                current = None
            elif current is not None and current.end == span.start:
                current.end = span.end
            else:
                current = Gap(rotation=plan.name, layer=layer, start=span.start, end=span.end)
                gaps.append(current)
    return sorted(gaps, key=lambda g: (g.start, g.layer))


def check_override(
    plan: RotationPlan,
    request_layer: str,
    person: str,
    start: datetime,
    end: datetime,
    now: datetime,
    people: Collection[str],
) -> None:
    """Refuse an override that cannot be right.

    Raises:
        ValueError: an unknown layer or person, ``end`` not after ``start``, ``end`` not
            after ``now``, or a range longer than 90 days.
    """
    for instant in (start, end, now):
        require_aware(instant)
    require_layer(plan, request_layer)
    if person not in people:
        raise ValueError(f"unknown person {person!r}")
    if end <= start:
        raise ValueError(
            f"an override must end after it starts ({when(plan, start)} to {when(plan, end)})"
        )
    if end <= now:
        raise ValueError(f"the override would end in the past ({when(plan, end)})")
    if end - start > MAX_OVERRIDE:
        days = (end - start) / timedelta(days=1)
        raise ValueError(f"an override may last at most 90 days (this one lasts {days:g} days)")


def prune(plan: RotationPlan, before: datetime) -> RotationPlan:
    """The plan without what no longer matters from ``before`` on.

    Drops overrides that ended by ``before``, swaps whose two shifts both ended by then,
    and versions superseded by then (the version in effect at ``before`` is kept with its
    ``effective_from``): every answer about an instant at or after ``before`` is unchanged.
    """
    require_aware(before)
    index = max(0, version_index(plan, before))

    def ended(start: datetime) -> bool:
        return start < before and next_handoff_after(plan, start) <= before

    return plan.model_copy(
        update={
            "versions": plan.versions[index:],
            "overrides": [o for o in plan.overrides if o.end > before],
            "swaps": [
                s for s in plan.swaps if not (ended(s.first_start) and ended(s.second_start))
            ],
        }
    )


# -- internals ----------------------------------------------------------------------------


def _apply_overrides(
    rotation: str,
    layer: str,
    slot: Slot,
    lo: datetime,
    hi: datetime,
    overrides: list[Override],
) -> list[ShiftSpan]:
    """``[lo, hi)`` of ``slot`` cut where overrides begin or end; ``overrides`` oldest first."""
    cuts = sorted({lo, hi} | {t for o in overrides for t in (o.start, o.end) if lo < t < hi})
    pieces: list[ShiftSpan] = []
    for begin, finish in pairwise(cuts):
        winner = next(
            (o for o in reversed(overrides) if o.start <= begin and o.end >= finish), None
        )
        if winner is None:
            piece = ShiftSpan(
                rotation=rotation,
                layer=layer,
                person=slot.person,
                start=begin,
                end=finish,
                source=slot.source,
            )
        else:
            piece = ShiftSpan(
                rotation=rotation,
                layer=layer,
                person=winner.person,
                start=begin,
                end=finish,
                source="override",
                override_id=winner.id,
            )
        last = pieces[-1] if pieces else None
        if last is not None and (last.person, last.source, last.override_id) == (
            piece.person,
            piece.source,
            piece.override_id,
        ):
            last.end = finish
        else:
            pieces.append(piece)
    return pieces
