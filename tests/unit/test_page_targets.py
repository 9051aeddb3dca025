"""Whom a new page reaches: a team (its low-urgency policy when low), or one person."""

from __future__ import annotations

import pytest

from starters.errors import InvalidRequest
from starters.page_targets import find_person, page_target
from workflows.config import TocsinConfig
from workflows.page_actions import PERSON_NOTIFICATIONS

CONFIG = TocsinConfig.model_validate(
    {
        "people": {
            "alice": {"name": "Alice", "email": "Alice@Example.com"},
            "bob": {"name": "Bob"},
            "zed": {"name": "Zed"},
        },
        "teams": {
            "web": {"members": ["alice"], "escalation_policy": "web", "low_urgency_policy": "q"},
            "db": {"members": ["bob", "alice"], "escalation_policy": "gone"},
        },
        "escalation_policies": {
            "web": {"steps": [{"targets": ["team:web"], "ack_timeout": "7m"}]},
            "q": {"urgency": "low", "steps": [{"targets": ["team:web"], "ack_timeout": "4h"}]},
        },
    }
)


class TestTeam:
    def test_high_urgency_uses_the_teams_policy(self) -> None:
        target = page_target(CONFIG, "web", None, "high")
        assert (target.team, target.policy, target.steps) == ("web", None, None)

    def test_low_urgency_uses_the_low_urgency_policy(self) -> None:
        assert page_target(CONFIG, "web", None, "low").policy == "q"

    def test_unknown_team(self) -> None:
        with pytest.raises(InvalidRequest, match="unknown team 'ops'"):
            page_target(CONFIG, "ops", None, "high")


class TestPerson:
    def test_by_id_on_behalf_of_their_first_team(self) -> None:
        target = page_target(CONFIG, None, "alice", "high")
        assert (target.team, target.person) == ("web", "alice")
        assert target.steps is not None
        assert len(target.steps) == PERSON_NOTIFICATIONS
        assert {tuple(s.targets) for s in target.steps} == {("person:alice",)}
        # The team policy's first acknowledgement timeout.
        assert target.steps[0].ack_timeout_seconds == 420

    def test_by_email_in_any_case(self) -> None:
        assert find_person(CONFIG, "alice@example.COM") == "alice"

    def test_for_a_named_team(self) -> None:
        target = page_target(CONFIG, "db", "alice", "high")
        assert target.team == "db"
        assert target.steps is not None
        assert target.steps[0].ack_timeout_seconds == 600  # the team's policy is gone

    def test_in_no_team(self) -> None:
        with pytest.raises(InvalidRequest, match="zed is in no team"):
            page_target(CONFIG, None, "zed", "high")

    def test_unknown(self) -> None:
        with pytest.raises(InvalidRequest, match="unknown person 'carol'"):
            page_target(CONFIG, None, "carol", "high")
