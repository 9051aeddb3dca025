"""An incident that lives for months stays bounded: 120 simulated days, on the
time-skipping server.

Open for 60 days without a status update (a reminder every 2 hours), rollback put off
("not now"), then resolved and
waiting 60 more days on a follow-up issue (checked every 6 hours, reminded weekly). It
continues as new every couple of hundred history events; what it carries stays small,
because the timeline beyond the newest entries goes to the store, and nothing is lost:
the store and the state together hold every entry, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from starters.timelines import timeline_slice
from tests.conftest import start_time_skipping
from tests.workflows.test_incident import CONFIG, Desk, open_desk
from workflows.archive_models import TimelineEntries
from workflows.ids import incident_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_carry import TIMELINE_HELD
from workflows.incident_models import (
    FollowUpRequest,
    IncidentState,
    IncidentStatus,
    ResolveInput,
    RoleInput,
    RollbackDecision,
)

MONTHS_CONFIG = (
    CONFIG.replace(
        "  - {name: minor, page: false, update_interval: 1h}\n",
        "  - {name: minor, page: false, update_interval: 1h}\n"
        "  - {name: lingering, page: false, update_interval: 2h}\n",
    )
    + "  history_limit: 200\n"
)
# What the incident carries from run to run, whatever its age (200 timeline entries and
# the rest). Carried whole, this one would be ~110 KiB after 120 days; one reminded every
# 15 minutes grew ~40 KiB a day and reached Temporal's 2 MiB limit in about seven weeks.
CARRIED_MAX = 48 * 1024


@pytest.fixture
async def months_desk(tmp_path: Path) -> AsyncIterator[Desk]:
    env = await start_time_skipping()
    try:
        async for desk in open_desk(env, tmp_path, MONTHS_CONFIG):
            yield desk
    finally:
        await env.shutdown()


async def full_timeline(desk: Desk, state: IncidentState) -> TimelineEntries:
    """What ``GET /api/incidents/{id}/timeline`` reads: the store's part, then the state's."""
    subject = incident_workflow_id(state.id)
    archived = state.timeline_archived
    return await timeline_slice(desk.store, subject, state.timeline, archived, 0, 100_000)


class TestMonths:
    async def test_an_incident_for_120_days_stays_bounded_and_loses_nothing(
        self, months_desk: Desk
    ) -> None:
        desk = months_desk
        state = await desk.declare(title="Slow builds", severity="lingering")
        handle = desk.env.client.get_workflow_handle(incident_workflow_id(state.id))
        await handle.execute_update(
            IncidentWorkflow.assign_lead, RoleInput(person="alice", by="alice")
        )
        # "Not now": asked once more after 15 minutes, then left to the lead.
        await handle.execute_update(
            IncidentWorkflow.decide_rollback, RollbackDecision(choice="not_now", by="alice")
        )
        await handle.execute_update(
            IncidentWorkflow.add_followup,
            FollowUpRequest(title="Cache the toolchain", assignee="bob", by="alice"),
        )
        sizes: list[int] = []
        for _ in range(6):
            await desk.env.sleep(timedelta(days=10))
            state = await desk.incidents.get(state.id)
            sizes.append(len(state.model_dump_json()))
        assert state.status == IncidentStatus.active
        reminders = [
            e for e in state.timeline if e.text.startswith("Reminder for alice: no status")
        ]
        assert reminders, "update reminders still fire after weeks of continue-as-new"
        await handle.execute_update(
            IncidentWorkflow.resolve,
            ResolveInput(resolution="fixed", summary="bigger runners", by="alice"),
        )
        for _ in range(6):
            await desk.env.sleep(timedelta(days=10))
            state = await desk.incidents.get(state.id)
            sizes.append(len(state.model_dump_json()))
        assert state.status == IncidentStatus.resolved, "still waiting on the follow-up"

        assert state.timeline_archived > 0, "the oldest entries went to the store"
        assert len(state.timeline) < 2 * TIMELINE_HELD
        assert max(sizes) < CARRIED_MAX, f"carried state per 10 days (bytes): {sizes}"

        whole = await full_timeline(desk, state)
        assert whole.total == state.timeline_archived + len(state.timeline)
        assert whole.entries[0].kind == "declared"
        times = [e.at for e in whole.entries]
        assert times == sorted(times), "store and state join into one timeline, in order"
        update_reminders = [e for e in whole.entries if "no status update for" in e.text]
        # Every 2 hours for the 60 days it was open.
        assert 715 <= len(update_reminders) <= 720, len(update_reminders)
        whole_size = len(state.model_copy(update={"timeline": whole.entries}).model_dump_json())
        assert whole_size > 2 * max(sizes), "without the store it would carry it all"
        followup_reminders = [e for e in whole.entries if e.kind == "followup-reminder"]
        assert len(followup_reminders) >= 16, "weekly for 120 days"

        # The follow-up closes on GitHub; the next periodic check closes the incident.
        for issue in desk.tracker.issues.values():
            desk.tracker.set_state(issue.ref.repo, issue.ref.number, "closed")
        await desk.env.sleep(timedelta(hours=6, minutes=5))
        final = await desk.settled(state.id, lambda s: s.status == IncidentStatus.closed)
        assert final.followups[0].state == "closed"
        await handle.result()
