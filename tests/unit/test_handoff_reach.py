"""An incoming engineer no contact method can reach is flagged at their handoff."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.config import TocsinConfig
from workflows.rotation_models import ShiftInput
from workflows.rotation_warnings import unreachable_people
from workflows.shift_report import announcement

CONFIG = TocsinConfig.model_validate(
    {
        "people": {
            "ann": {"name": "Ann", "contact": ["email"]},
            "bo": {"name": "Bo", "notify": [{"after": "0m", "via": "slack"}]},
            "cy": {"name": "Cy"},
        },
        "teams": {"web": {"members": ["ann", "bo", "cy"], "escalation_policy": "web"}},
        "escalation_policies": {"web": {"steps": [{"targets": ["team:web"], "ack_timeout": "5m"}]}},
    }
)


def test_who_cannot_be_reached_and_why() -> None:
    assert unreachable_people(CONFIG) == {
        "ann": "'email' needs people.ann.email",
        "bo": "'slack' needs people.bo.slack",
    }


def test_the_handoff_says_so() -> None:
    shift = ShiftInput(
        rotation="web",
        team="web",
        start=datetime(2026, 12, 7, 16, tzinfo=UTC),
        end=datetime(2026, 12, 14, 16, tzinfo=UTC),
        holders={"eoc": "ann"},
        unreachable={"ann": "'email' needs people.ann.email"},
    )
    text = announcement(shift, None, [], [])
    assert (
        ":warning: Tocsin cannot reach ann: 'email' needs people.ann.email. Their pages go "
        "to the next step at once until a contact method works"
    ) in text
