"""Who is on call, from a :class:`RotationPlan`: versions, swaps and overrides applied.

A plan is a sequence of config versions; version ``i`` applies during
``[effective_from_i, effective_from_{i+1})`` (the first from the beginning of time when
its ``effective_from`` is None). Within its window a version's shifts follow
``workflows/schedule.py`` (handoffs at local wall-clock time, DST-correct); the first
shift after a change starts at the change and ends at the new version's next handoff.

On top of the schedule, swaps exchange whole shifts (anchored to their start instants
and to the people who hold them by schedule), then overrides give any range of a layer
to someone else; where overrides overlap, the most recently created wins.

Pure functions, no I/O and no clock: RotationWorkflow, activities and starters share them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from workflows import schedule
from workflows.config import Rotation
from workflows.rotation_models import Gap, Override, RotationPlan, RotationVersion, ShiftSpan

MAX_OVERRIDE = timedelta(days=90)


@dataclass(frozen=True)
class _Window:
    """Where one version applies: ``[start, end)``, None meaning unbounded."""

    spec: Rotation
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class _Slot:
    """A scheduled shift of one layer (swaps applied, overrides not), bounds unclipped."""

    start: datetime
    end: datetime
    person: str | None
    source: Literal["schedule", "swap"] = "schedule"


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
    _require_aware(at)
    first = _first_start(plan)
    if first is None or at < first:
        versions = [RotationVersion(spec=new)]
    else:
        index = _version_index(plan, at)
        current = plan.versions[index]
        versions = plan.versions[: index + 1]
        if new != current.spec:
            versions.append(
                RotationVersion(effective_from=schedule.next_handoff(current.spec, at), spec=new)
            )
    if versions == plan.versions:
        return None
    return plan.model_copy(update={"versions": versions})


def version_at(plan: RotationPlan, at: datetime) -> Rotation:
    """The config in effect at ``at`` (the earliest known version before the plan begins)."""
    _require_aware(at)
    return plan.versions[max(0, _version_index(plan, at))].spec


def shift_bounds(plan: RotationPlan, at: datetime) -> tuple[datetime, datetime] | None:
    """``[start, end)`` of the shift running at ``at``; None when no shift is running.

    No shift runs before the rotation starts, nor between a change to a version whose own
    start date is later and that version's first handoff.
    """
    _require_aware(at)
    index = _version_index(plan, at)
    if index < 0:
        return None
    window = _windows(plan)[index]
    shift = schedule.shift_index(window.spec, at)
    if shift is None:
        return None
    return _clip_to(window, schedule.shift_start(window.spec, shift), window.spec, shift)


def next_handoff_after(plan: RotationPlan, at: datetime) -> datetime:
    """The first instant strictly after ``at`` at which a shift starts or ends."""
    _require_aware(at)
    index = _version_index(plan, at)
    begins = plan.versions[0].effective_from
    if index < 0 and begins is not None:
        return begins
    window = _windows(plan)[max(0, index)]
    handoff = schedule.next_handoff(window.spec, at)
    return handoff if window.end is None or handoff < window.end else window.end


def layer_spans(plan: RotationPlan, layer: str, start: datetime, end: datetime) -> list[ShiftSpan]:
    """Who holds ``layer`` during ``[start, end)``: contiguous spans in time order.

    Scheduled shifts are clipped to the range, then swaps and overrides are applied;
    a span is split where an override begins or ends. Time no version schedules for the
    layer (before the rotation starts, or a version without the layer) has ``person`` None.
    """
    _require_aware(start)
    _require_aware(end)
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
    for slot in _slots(plan, layer, start, end):
        lo, hi = max(slot.start, start), min(slot.end, end)
        spans.extend(_apply_overrides(plan.name, layer, slot, lo, hi, ordered))
    return spans


def all_spans(plan: RotationPlan, start: datetime, end: datetime) -> list[ShiftSpan]:
    """:func:`layer_spans` of every layer any version has, ordered by (start, layer)."""
    spans = [s for layer in _layers(plan) for s in layer_spans(plan, layer, start, end)]
    return sorted(spans, key=lambda s: (s.start, s.layer))


def oncall_at(plan: RotationPlan, at: datetime) -> dict[str, ShiftSpan | None]:
    """The span holding each layer of the version in effect at ``at`` (None: nobody)."""
    _require_aware(at)
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
    for layer in _layers(plan):
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
        _require_aware(instant)
    _require_layer(plan, request_layer)
    if person not in people:
        raise ValueError(f"unknown person {person!r}")
    if end <= start:
        raise ValueError(
            f"an override must end after it starts ({_when(plan, start)} to {_when(plan, end)})"
        )
    if end <= now:
        raise ValueError(f"the override would end in the past ({_when(plan, end)})")
    if end - start > MAX_OVERRIDE:
        days = (end - start) / timedelta(days=1)
        raise ValueError(f"an override may last at most 90 days (this one lasts {days:g} days)")


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
        _require_aware(instant)
    _require_layer(plan, layer)
    if first_person == second_person:
        raise ValueError(f"a swap needs two different people (both sides are {first_person!r})")
    for person, start in ((first_person, first_start), (second_person, second_start)):
        _check_swap_side(plan, layer, person, start, now)


def prune(plan: RotationPlan, before: datetime) -> RotationPlan:
    """The plan without what no longer matters from ``before`` on.

    Drops overrides that ended by ``before``, swaps whose two shifts both ended by then,
    and versions superseded by then (the version in effect at ``before`` is kept with its
    ``effective_from``): every answer about an instant at or after ``before`` is unchanged.
    """
    _require_aware(before)
    index = max(0, _version_index(plan, before))

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


def _windows(plan: RotationPlan) -> list[_Window]:
    versions = plan.versions
    return [
        _Window(
            spec=v.spec,
            start=v.effective_from,
            end=versions[i + 1].effective_from if i + 1 < len(versions) else None,
        )
        for i, v in enumerate(versions)
    ]


def _version_index(plan: RotationPlan, at: datetime) -> int:
    """Index of the version in effect at ``at``; -1 before a first version that has a start."""
    index = -1
    for i, version in enumerate(plan.versions):
        if version.effective_from is None or version.effective_from <= at:
            index = i
        else:
            break
    return index


def _first_start(plan: RotationPlan) -> datetime | None:
    """The instant the first shift of the plan starts (None: no version ever starts)."""
    for window in _windows(plan):
        begin = schedule.shift_start(window.spec, 0)
        if window.start is not None and schedule.shift_index(window.spec, window.start) is not None:
            begin = window.start
        if window.end is None or begin < window.end:
            return begin
    return None


def _clip_to(
    window: _Window, begin: datetime, spec: Rotation, shift: int
) -> tuple[datetime, datetime]:
    """Shift ``shift`` of ``spec``, cut to ``window``."""
    end = schedule.shift_start(spec, shift + 1)
    if window.start is not None:
        begin = max(begin, window.start)
    if window.end is not None:
        end = min(end, window.end)
    return begin, end


def _layers(plan: RotationPlan) -> list[str]:
    """Every layer any version has, in order of first appearance."""
    return list(dict.fromkeys(layer for v in plan.versions for layer in v.spec.layers))


def _scheduled(plan: RotationPlan, layer: str, start: datetime, end: datetime) -> Iterator[_Slot]:
    """Scheduled shifts of ``layer`` overlapping ``[start, end)``, gaps as person None."""
    for window in _windows(plan):
        lo = start if window.start is None else max(start, window.start)
        hi = end if window.end is None else min(end, window.end)
        if lo >= hi:
            continue
        members = window.spec.layers.get(layer)
        first = schedule.shift_start(window.spec, 0)
        if members is None or hi <= first:
            yield _Slot(lo, hi, None)
            continue
        if lo < first:
            yield _Slot(lo, first, None)
            lo = first
        shift = schedule.shift_index(window.spec, lo) or 0  # never None: lo >= first
        while True:
            begin = schedule.shift_start(window.spec, shift)
            slot_start, slot_end = _clip_to(window, begin, window.spec, shift)
            if slot_start >= hi:
                break
            yield _Slot(slot_start, slot_end, members[shift % len(members)])
            shift += 1
    # Before a first version that has a start (a pruned plan), nothing is known.
    first_start = plan.versions[0].effective_from
    if first_start is not None and start < min(first_start, end):
        yield _Slot(start, min(first_start, end), None)


def _slots(plan: RotationPlan, layer: str, start: datetime, end: datetime) -> list[_Slot]:
    """:func:`_scheduled` in time order with swaps applied."""
    swaps = sorted(
        (s for s in plan.swaps if s.layer == layer), key=lambda s: s.created_at, reverse=True
    )
    slots: list[_Slot] = []
    for slot in sorted(_scheduled(plan, layer, start, end), key=lambda s: s.start):
        person: str | None = slot.person
        source: Literal["schedule", "swap"] = "schedule"
        for swap in swaps:  # most recent first: the first side that matches applies
            if slot.start == swap.first_start and slot.person == swap.first_person:
                person, source = swap.second_person, "swap"
                break
            if slot.start == swap.second_start and slot.person == swap.second_person:
                person, source = swap.first_person, "swap"
                break
        slots.append(_Slot(slot.start, slot.end, person, source))
    return slots


def _apply_overrides(
    rotation: str,
    layer: str,
    slot: _Slot,
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


def _check_swap_side(
    plan: RotationPlan, layer: str, person: str, start: datetime, now: datetime
) -> None:
    when = _when(plan, start)
    if start <= now:
        raise ValueError(f"the {layer} shift starting {when} has already started")
    slots = _slots(plan, layer, start, start + timedelta(microseconds=1))
    slot = slots[0] if slots else None
    if slot is None or slot.start != start or slot.person is None:
        following = next_handoff_after(plan, start)
        raise ValueError(
            f"no {layer} shift starts at {when} (the next handoff is {_when(plan, following)})"
        )
    for swap in plan.swaps:
        if swap.layer == layer and start in (swap.first_start, swap.second_start):
            raise ValueError(
                f"the {layer} shift starting {when} is already part of swap {swap.id} "
                "(remove that swap first)"
            )
    if slot.person != person:
        raise ValueError(
            f"{person} does not hold the {layer} shift starting {when} ({slot.person} does)"
        )


def _require_layer(plan: RotationPlan, layer: str) -> None:
    layers = _layers(plan)
    if layer not in layers:
        raise ValueError(f"unknown layer {layer!r} (layers: {', '.join(layers)})")


def _when(plan: RotationPlan, at: datetime) -> str:
    """``at`` in the rotation's own time zone, as people set its handoffs."""
    return f"{at.astimezone(version_at(plan, at).zone):%a %Y-%m-%d %H:%M %Z}"


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("rotation times must be timezone-aware")
