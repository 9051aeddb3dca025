"""Escalation rules: stepping through a policy and resolving its targets to people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from workflows.config import TocsinConfig, parse_target
from workflows.rotation_models import RotationPlan
from workflows.rotation_rules import oncall_at
from workflows.schedule import holder


@dataclass(frozen=True, order=True)
class Position:
    """Where a page stands in its policy: ``round`` 0 is the first pass over the steps."""

    round: int = 0
    index: int = 0


def next_position(at: Position, step_count: int, repeat: int) -> Position | None:
    """The step after ``at``; wraps to the first step ``repeat`` times, then ``None``."""
    if at.index + 1 < step_count:
        return Position(at.round, at.index + 1)
    if at.round < repeat:
        return Position(at.round + 1, 0)
    return None


@dataclass
class Resolution:
    """People a step reaches, in target order without repeats, and targets that reached nobody."""

    people: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def resolve_targets(
    config: TocsinConfig,
    targets: list[str],
    at: datetime,
    plans: Mapping[str, RotationPlan] | None = None,
) -> Resolution:
    """Turn ``person:``/``team:``/``rotation:`` targets into people on call at ``at``.

    A rotation with a live plan in ``plans`` (overrides and swaps) answers from it; one
    without answers from its config.
    """
    result = Resolution()
    for text in targets:
        target = parse_target(text)
        found: list[str] = []
        if target.kind == "person" and target.id in config.people:
            found = [target.id]
        elif target.kind == "team" and target.id in config.teams:
            found = list(config.teams[target.id].members)
        elif target.kind == "rotation" and target.id in config.rotations:
            plan = (plans or {}).get(target.id)
            if plan is not None:
                span = oncall_at(plan, at).get(target.layer or "")
                found = [span.person] if span is not None and span.person else []
            else:
                rotation = config.rotations[target.id]
                if target.layer in rotation.layers:
                    shift = holder(rotation, target.layer, at)
                    found = [shift.person] if shift else []
        if not found:
            result.empty.append(text)
        for person in found:
            if person not in result.people:
                result.people.append(person)
    return result
