"""A shift keeps its on-call report (time-skipping server): rendered from the configured
template, posted, and stored with the recovery days it suggests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from tests.conftest import start_time_skipping
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from tests.workflows.test_incident import RecordingChat
from tests.workflows.test_rotation import CHICAGO, CONFIG, Desk, FakeTeamActivity, next_monday_10
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.ids import rotation_workflow_id, shift_workflow_id
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    RecoveryDay,
    ShiftReport,
    TeamActivity,
    TeamActivityQuery,
)
from workflows.shift import ShiftWorkflow

TEMPLATE = """\
{{ report.rotation }} {{ report.start | local }}: {{ pages | length }} pages
{% for d in report.recovery %}
recovery {{ d.person }}: {{ d.off_hours_pages | join(',') }} {{ d.incidents | join(',') }}
{% endfor %}
"""


@dataclass
class TeamWithIncidents(FakeTeamActivity):
    """The team's pages and incidents as a canned answer (those declared in the window)."""

    incidents: list[IncidentSummary] = field(default_factory=list)

    async def activity(self, query: TeamActivityQuery) -> TeamActivity:
        found = await super().activity(query)
        found.incidents = [i for i in self.incidents if query.start <= i.declared_at < query.end]
        return found


@dataclass
class ReportDesk:
    desk: Desk
    store: MemoryStore
    activity: TeamWithIncidents


@pytest.fixture
async def kept(tmp_path: Path) -> AsyncIterator[ReportDesk]:
    """The rotation of test_rotation with a report template beside its config, a store
    that keeps reports, and a team that has pages and incidents."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "oncall.md.j2").write_text(TEMPLATE)
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG + "reports: {oncall_template: templates/oncall.md.j2}\n")
    env = await start_time_skipping()
    try:
        config = ConfigFile(path)
        chat, notifier, activity, store = (
            RecordingChat(),
            RecordingNotifier(),
            TeamWithIncidents(),
            MemoryStore(),
        )
        task_queue = f"reports-{uuid.uuid4()}"
        async with build_worker(
            env.client,
            Settings(),
            config,
            store=store,
            notifiers={"console": notifier},
            chat=chat,
            team_activity=activity,
            task_queue=task_queue,
        ):
            desk = Desk(env, env.client, chat, notifier, activity, config, task_queue)
            yield ReportDesk(desk, store, activity)
            rotation = env.client.get_workflow_handle(rotation_workflow_id("delivery"))
            await rotation.terminate("test finished")
    finally:
        await env.shutdown()


class TestKeptReport:
    async def test_a_shift_keeps_its_report(self, kept: ReportDesk) -> None:
        """At the end of a shift with a night page and an incident dana led, the report is
        rendered from the configured template, posted, and kept under the shift's id with a
        recovery day for each of them."""
        desk = kept.desk
        await desk.start()
        now = await desk.env.get_current_time()
        handoff = next_monday_10(now)
        await desk.env.sleep(handoff - now + timedelta(minutes=1))
        night = (handoff + timedelta(days=1)).astimezone(CHICAGO).replace(hour=3).astimezone(UTC)
        kept.activity.pages = [
            PageSummary(
                id="p-night",
                summary="DiskFull on gitserver-0",
                created_at=night,
                status="resolved",
                acknowledged_by="bob",
                acknowledged_at=night + timedelta(minutes=4),
                off_hours=True,
            )
        ]
        kept.activity.incidents = [
            IncidentSummary(
                id="INC-7",
                title="git pushes fail",
                severity="major",
                status="resolved",
                declared_at=handoff + timedelta(days=2),
                worked_by=["dana"],
            )
        ]
        shift_id = shift_workflow_id("delivery", handoff)
        handle = desk.client.get_workflow_handle_for(ShiftWorkflow.run, shift_id)

        await desk.env.sleep(timedelta(days=7, minutes=2))
        result: ShiftReport = await handle.result()

        stored = kept.store.shift_reports[shift_id]
        assert stored == result
        assert (stored.id, stored.team, stored.timezone) == (
            shift_id,
            "delivery",
            "America/Chicago",
        )
        assert stored.recovery == [
            RecoveryDay(person="bob", off_hours_pages=["p-night"]),
            RecoveryDay(person="dana", incidents=["INC-7"]),
        ]
        local = handoff.astimezone(CHICAGO).strftime("%a %Y-%m-%d %H:%M %Z")
        assert stored.text == (
            f"delivery {local}: 1 pages\nrecovery bob: p-night \nrecovery dana:  INC-7"
        )
        posted = desk.chat.said("#delivery-support", "")
        assert stored.text in posted
        assert desk.reports() == [], "the built-in text was not posted"
