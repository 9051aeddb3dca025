"""Escalation rules: walking a policy's steps and resolving targets to the people on call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.config import TocsinConfig
from workflows.policy import Position, Resolution, next_position, resolve_targets

CONFIG = TocsinConfig.model_validate(
    {
        "timezone": "America/Chicago",
        "people": {
            "alice": {"name": "Alice"},
            "bob": {"name": "Bob"},
            "dana": {"name": "Dana"},
            "erin": {"name": "Erin"},
        },
        "teams": {
            "delivery": {
                "members": ["dana", "alice", "bob"],
                "rotation": "delivery",
                "escalation_policy": "delivery",
            },
        },
        "rotations": {
            "delivery": {
                "timezone": "America/Chicago",
                "handoff": {"weekday": "monday", "time": "10:00"},
                "shift": "1w",
                "start": "2026-11-23",
                "layers": {"eoc": ["alice", "bob"], "tm": ["dana"]},
            },
        },
        "escalation_policies": {
            "delivery": {
                "steps": [
                    {"targets": ["rotation:delivery/eoc"], "ack_timeout": "10m"},
                    {"targets": ["team:delivery"], "ack_timeout": "5m"},
                ],
            },
        },
    }
)

FIRST_SHIFT = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # Monday 10:00 CST: alice holds eoc
SECOND_SHIFT = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # bob holds eoc
BEFORE_START = datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC)


def walk(step_count: int, repeat: int) -> list[Position]:
    """Every position a page visits, from the first step until the policy is exhausted."""
    visited = [Position()]
    while (following := next_position(visited[-1], step_count, repeat)) is not None:
        visited.append(following)
        assert len(visited) < 1000, "next_position never ended"
    return visited


class TestNextPosition:
    def test_three_steps_no_repeat(self) -> None:
        """With repeat 0, three steps are visited once each and then the policy ends."""
        assert next_position(Position(0, 0), 3, 0) == Position(0, 1)
        assert next_position(Position(0, 1), 3, 0) == Position(0, 2)
        assert next_position(Position(0, 2), 3, 0) is None

    def test_two_steps_repeat_twice(self) -> None:
        """With repeat 2, two steps are walked three times over: six positions, then None."""
        assert walk(2, 2) == [
            Position(0, 0),
            Position(0, 1),
            Position(1, 0),
            Position(1, 1),
            Position(2, 0),
            Position(2, 1),
        ]

    def test_single_step_repeat(self) -> None:
        """A one-step policy with repeat 3 notifies the same step four times."""
        assert walk(1, 3) == [Position(r, 0) for r in range(4)]

    @pytest.mark.parametrize(("step_count", "repeat"), [(1, 0), (3, 0), (2, 2), (4, 5)])
    def test_visit_count(self, step_count: int, repeat: int) -> None:
        """A policy is walked exactly step_count * (repeat + 1) times, in increasing order."""
        visited = walk(step_count, repeat)
        assert len(visited) == step_count * (repeat + 1)
        assert visited == sorted(visited)

    def test_default_position_is_first_step(self) -> None:
        """A new page stands at round 0, step 0."""
        assert Position() == Position(round=0, index=0)


class TestResolveTargets:
    def test_rotation_layer_gives_holder(self) -> None:
        """A rotation layer target resolves to whoever holds that layer at the given instant."""
        assert resolve_targets(CONFIG, ["rotation:delivery/eoc"], FIRST_SHIFT).people == ["alice"]
        assert resolve_targets(CONFIG, ["rotation:delivery/eoc"], SECOND_SHIFT).people == ["bob"]
        assert resolve_targets(CONFIG, ["rotation:delivery/tm"], SECOND_SHIFT).people == ["dana"]

    def test_team_gives_members_in_order(self) -> None:
        """A team target resolves to all its members, in the order the config lists them."""
        assert resolve_targets(CONFIG, ["team:delivery"], FIRST_SHIFT) == Resolution(
            people=["dana", "alice", "bob"], empty=[]
        )

    def test_person_target(self) -> None:
        """A person target resolves to that person, whatever the rotation says."""
        assert resolve_targets(CONFIG, ["person:erin"], BEFORE_START).people == ["erin"]

    def test_duplicates_removed_keeping_first(self) -> None:
        """Someone reached by several targets appears once, where first reached."""
        targets = ["rotation:delivery/eoc", "team:delivery", "person:alice", "person:erin"]
        assert resolve_targets(CONFIG, targets, SECOND_SHIFT).people == [
            "bob",
            "dana",
            "alice",
            "erin",
        ]

    def test_rotation_before_start_is_empty(self) -> None:
        """A rotation target before the rotation starts reaches nobody and is listed as empty."""
        resolution = resolve_targets(CONFIG, ["rotation:delivery/eoc", "person:erin"], BEFORE_START)
        assert resolution == Resolution(people=["erin"], empty=["rotation:delivery/eoc"])

    def test_unresolvable_targets_are_empty(self) -> None:
        """Targets naming nothing in the config (it may have changed) are listed as empty."""
        targets = ["person:zed", "team:ghost", "rotation:ghost/eoc", "rotation:delivery/lead"]
        assert resolve_targets(CONFIG, targets, FIRST_SHIFT) == Resolution(people=[], empty=targets)

    def test_no_targets(self) -> None:
        """An empty target list resolves to nobody and nothing empty."""
        assert resolve_targets(CONFIG, [], FIRST_SHIFT) == Resolution()
