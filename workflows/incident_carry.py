"""What an incident carries into its next run when it continues as new.

An incident can stay open, or wait on its follow-ups, for months, and its timeline grows
all the while (~40 KiB a day with update reminders): carried whole, it reaches Temporal's
2 MiB payload limit in about seven weeks. Before continuing as new the workflow spills
all but the newest :data:`TIMELINE_HELD` timeline entries to the SQL store (read back by
the API) and keeps the newest :data:`UPDATES_HELD` status updates (each is also in the
timeline). Pure; the spill itself is an activity.
"""

from __future__ import annotations

from workflows.archive_models import TimelineSpill
from workflows.ids import incident_workflow_id
from workflows.incident_models import IncidentState

TIMELINE_HELD = 200
UPDATES_HELD = 100


def timeline_spill(state: IncidentState) -> TimelineSpill | None:
    """The oldest entries beyond what the next run holds; None when nothing is beyond."""
    excess = len(state.timeline) - TIMELINE_HELD
    if excess <= 0:
        return None
    return TimelineSpill(
        subject=incident_workflow_id(state.id),
        start=state.timeline_archived,
        entries=state.timeline[:excess],
    )


def after_spill(state: IncidentState, spilled: int) -> IncidentState:
    """The state without its ``spilled`` oldest entries, now in the store."""
    return state.model_copy(
        update={
            "timeline": state.timeline[spilled:],
            "timeline_archived": state.timeline_archived + spilled,
        }
    )


def carried(state: IncidentState) -> IncidentState:
    """What the next run starts from: the state with its status updates bounded."""
    if len(state.updates) <= UPDATES_HELD:
        return state
    return state.model_copy(update={"updates": state.updates[-UPDATES_HELD:]})
