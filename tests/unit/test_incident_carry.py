"""What an incident carries into its next run: bounded, and nothing lost on the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows.incident_carry import (
    TIMELINE_HELD,
    UPDATES_HELD,
    after_spill,
    carried,
    timeline_spill,
)
from workflows.incident_models import IncidentState, StatusUpdate
from workflows.models import TimelineEntry

T0 = datetime(2026, 11, 30, tzinfo=UTC)


def incident(entries: int, updates: int = 0, archived: int = 0) -> IncidentState:
    return IncidentState(
        id="INC-3",
        title="t",
        severity="minor",
        team="ops",
        declared_by="alice",
        declared_at=T0,
        timeline=[
            TimelineEntry(at=T0 + timedelta(minutes=i), kind="chat", text=f"entry {archived + i}")
            for i in range(entries)
        ],
        timeline_archived=archived,
        updates=[StatusUpdate(at=T0, by="alice", text=f"u{i}") for i in range(updates)],
    )


def test_nothing_spills_within_the_bound() -> None:
    assert timeline_spill(incident(TIMELINE_HELD)) is None


def test_the_oldest_entries_spill_numbered_after_those_archived_before() -> None:
    state = incident(TIMELINE_HELD + 30, archived=500)
    spill = timeline_spill(state)
    assert spill is not None
    assert (spill.subject, spill.start) == ("incident-INC-3", 500)
    assert [e.text for e in spill.entries] == [f"entry {500 + i}" for i in range(30)]


def test_after_the_spill_the_state_holds_the_newest_and_counts_the_rest() -> None:
    state = incident(TIMELINE_HELD + 30, archived=500)
    kept = after_spill(state, 30)
    assert kept.timeline_archived == 530
    assert kept.timeline[0].text == "entry 530"
    assert len(kept.timeline) == TIMELINE_HELD
    assert len(state.timeline) == TIMELINE_HELD + 30, "the state given is left alone"


def test_status_updates_carried_are_the_newest() -> None:
    state = carried(incident(3, updates=UPDATES_HELD + 5))
    assert len(state.updates) == UPDATES_HELD
    assert state.updates[0].text == "u5"
