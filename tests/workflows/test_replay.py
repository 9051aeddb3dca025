"""Determinism: stored page histories replay against today's workflow code.

A change that alters the commands a running page would issue (an inserted activity, a
reordered timer) fails here with a non-determinism error; such changes go behind
``workflow.patched()``. To record a new reference history after a deliberate,
patched change, run this module with ``TOCSIN_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.errors import Unavailable
from tests.conftest import start_time_skipping
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from tests.unit.test_adapters import LoopbackController, RecordingHandler
from tests.workflows.test_heartbeat import CONFIG as HEARTBEAT_CONFIG
from tests.workflows.test_heartbeat import Beat
from tests.workflows.test_incident import CONFIG as INCIDENT_CONFIG
from tests.workflows.test_incident import open_desk
from tests.workflows.test_incident_mail import MAIL_CONFIG
from tests.workflows.test_incident_months import MONTHS_CONFIG
from tests.workflows.test_notify_rules import BROKEN as RULES_BROKEN
from tests.workflows.test_notify_rules import CONFIG as RULES_CONFIG
from tests.workflows.test_page import CONFIG
from tests.workflows.test_rotation import next_monday_10, rotation_desk
from tests.workflows.test_silences import CONFIG as SILENCE_CONFIG
from tests.workflows.test_uptime_check import record_check_history
from worker.build import WORKFLOWS, build_worker, workflow_runner
from worker.config import ConfigFile
from worker.rotations import sync_rotations
from worker.settings import Settings
from workflows.actors import Acted
from workflows.ids import incident_workflow_id, rotation_workflow_id, shift_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_models import (
    CommsConfirmation,
    FollowUpRequest,
    IncidentEdit,
    IncidentStatus,
    IssueEvent,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    UpdateInput,
)
from workflows.models import Alert, AlertBatch, PageActionInput, PageInput
from workflows.page import PageWorkflow
from workflows.page_actions import ReassignInput, RespondersInput, SnoozeInput
from workflows.rotation import RotationWorkflow
from workflows.rotation_models import (
    NoteRequest,
    OverrideRequest,
    SwapRequest,
)
from workflows.shift import ShiftWorkflow
from workflows.silence_models import SilenceEnded

HISTORIES = Path(__file__).parent / "histories"
# What fresh page histories are recorded as (the latest patch they carry); the ones
# recorded before stay, so each patch's both sides keep replaying.
PAGE_RECORDING = "local-resolve"
# Likewise for shifts: "shift-week" is a shift from before reports were kept.
SHIFT_RECORDING = "report-kept"


def replayer() -> Replayer:
    return Replayer(
        workflows=list(WORKFLOWS),
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


async def replay_and_keep(history: WorkflowHistory, name: str) -> None:
    """Replay ``history``; keep it as ``histories/<name>.json`` when recording."""
    await replayer().replay_workflow(history)
    if os.environ.get("TOCSIN_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json())


def page_worker(
    env: WorkflowEnvironment, config: Path, task_queue: str, notifier: RecordingNotifier
) -> Worker:
    """A worker for pages on ``task_queue``: every contact goes to ``notifier``."""
    return build_worker(
        env.client,
        Settings(),
        ConfigFile(config),
        store=MemoryStore(),
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    )


async def record_page_history(env: WorkflowEnvironment, config: Path, team: str) -> WorkflowHistory:
    """Escalate a page two steps (one contact failing), escalate-now, ack, resolve."""
    notifier = RecordingNotifier()
    notifier.failures["json://127.0.0.1:9/broken"] = Unavailable("connection refused")
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-{team}"
    async with page_worker(env, config, task_queue, notifier):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team=team, summary="DiskFull on gitserver-0", team_members=["bob"]),
            id=f"page-{key}-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
        )
        await env.sleep(timedelta(minutes=11))
        await handle.execute_update(PageWorkflow.escalate, PageActionInput(by="bob"))
        await env.sleep(timedelta(seconds=5))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="bob", note="fixed"))
        await handle.result()
        return await handle.fetch_history()


class TestReplay:
    async def test_fresh_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """A page that escalated, fell back, was acked and resolved replays without divergence."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        for team in ("delivery", "fallback"):
            history = await record_page_history(time_skipping_env, config, team)
            await replay_and_keep(history, f"page-{team}-{PAGE_RECORDING}")

    @pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
    async def test_stored_history_replays(self, path: Path) -> None:
        """Histories recorded by earlier versions still replay on the current code."""
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        await replayer().replay_workflow(history)

    def test_reference_histories_exist(self) -> None:
        """The reference histories are committed (so the parametrized replay is not empty)."""
        assert {p.stem for p in HISTORIES.glob("*.json")} >= {
            "page-delivery",
            "page-fallback",
            f"page-delivery-{PAGE_RECORDING}",
            f"page-fallback-{PAGE_RECORDING}",
            "incident-rolled-back",
            "incident-transitions",
            "incident-continued",
            "incident-linked-followup",
            "page-continued",
            "page-intake-ack",
            "page-follows-alerts",
            "page-intake-notes",
            "page-working-hours",
            "page-responder-actions",
            "page-notify-rules",
            "page-unreachable-step",
            "rotation-handoff",
            "shift-week",
            f"shift-week-{SHIFT_RECORDING}",
            "incident-update-notes",
            "incident-announce-mail",
            "page-log",
            "page-silences",
            "heartbeat-missed",
            "check-down-up",
        }


async def record_incident_history(tmp_path: Path) -> WorkflowHistory:
    """An incident through lead, rollback, outcome, update and resolve, on its own server."""
    env = await start_time_skipping()
    try:
        async for desk in open_desk(env, tmp_path, INCIDENT_CONFIG):
            state = await desk.declare(service="search", customer_impact=True)
            await env.sleep(timedelta(minutes=6))
            await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
            await desk.incidents.decide_rollback(
                state.id, RollbackDecision(choice="roll_back", by="alice")
            )
            await desk.settled(state.id, lambda s: s.rollback.result is not None)
            await desk.incidents.report_rollback_outcome(
                state.id, RollbackOutcome(resolved=True, by="alice")
            )
            await desk.incidents.post_update(state.id, UpdateInput(text="recovered", by="alice"))
            await desk.incidents.add_followup(
                state.id, FollowUpRequest(title="Pin v41", assignee="alice", by="alice")
            )
            await env.sleep(timedelta(minutes=16))
            await desk.incidents.resolve(
                state.id,
                ResolveInput(resolution="rolled_back", summary="v41", by="alice"),
            )
            await desk.incidents.confirm_customer_comms(state.id, CommsConfirmation(by="alice"))
            # The follow-up and the postmortem close on GitHub without a webhook: the
            # periodic check finds both and the incident closes.
            state = await desk.settled(
                state.id,
                lambda s: s.postmortem_issue is not None and s.followups[0].state == "open",
            )
            for issue in desk.tracker.issues.values():
                desk.tracker.set_state(issue.ref.repo, issue.ref.number, "closed")
            await env.sleep(timedelta(hours=6, minutes=5))
            final = await desk.settled(state.id, lambda s: s.status == IncidentStatus.closed)
            assert final.postmortem_done
            handle = env.client.get_workflow_handle(incident_workflow_id(state.id))
            await handle.result()
            return await handle.fetch_history()
        raise AssertionError("open_desk yielded nothing")
    finally:
        await env.shutdown()


class TestIncidentReplay:
    async def test_fresh_incident_history_replays(self, tmp_path: Path) -> None:
        """An incident that paged for roles, rolled back, reminded and resolved replays cleanly."""
        history = await record_incident_history(tmp_path)
        await replayer().replay_workflow(history)
        if os.environ.get("TOCSIN_RECORD_HISTORIES"):
            # incident-rolled-back.json is the same story told by the incident workflow
            # before its decisions became pure transitions; it stays, and replays too.
            (HISTORIES / "incident-transitions.json").write_text(history.to_json())


async def record_linked_followup_history(tmp_path: Path) -> WorkflowHistory:
    """An incident whose follow-up links an issue someone opened: the link is recorded and
    labelled (patched), the webhook's closed event closes the follow-up and the incident."""
    env = await start_time_skipping()
    try:
        async for desk in open_desk(env, tmp_path, INCIDENT_CONFIG):
            state = await desk.declare(severity="minor", title="Flaky probe")
            issue = desk.tracker.existing("acme/ops", "Known flaky probe")
            await desk.incidents.add_followup(
                state.id, FollowUpRequest(issue_url=issue.url, by="bob")
            )
            await desk.incidents.resolve(
                state.id, ResolveInput(resolution="fixed", summary="probe fixed", by="bob")
            )
            await desk.settled(state.id, lambda s: s.followups[0].state == "open")
            assert desk.tracker.labels[(issue.repo, issue.number)] == [state.id]
            assert await desk.store.incidents_for_issue(issue.repo, issue.number) == [state.id]
            desk.tracker.set_state(issue.repo, issue.number, "closed")
            handle = env.client.get_workflow_handle_for(
                IncidentWorkflow.run, incident_workflow_id(state.id)
            )
            event = IssueEvent(repo=issue.repo, number=issue.number, state="closed", url=issue.url)
            await handle.signal(IncidentWorkflow.issue_changed, event)
            final = await handle.result()
            assert final.status == IncidentStatus.closed
            return await handle.fetch_history()
        raise AssertionError("open_desk yielded nothing")
    finally:
        await env.shutdown()


class TestLinkedFollowupReplay:
    async def test_fresh_linked_followup_history_replays(self, tmp_path: Path) -> None:
        """A follow-up linked by URL, recorded and labelled as the incident's (patched), replays."""
        history = await record_linked_followup_history(tmp_path)
        markers = [
            e.marker_recorded_event_attributes
            for e in history.events
            if e.HasField("marker_recorded_event_attributes")
        ]
        assert markers, "the link ran behind its patch"
        await replay_and_keep(history, "incident-linked-followup")


async def record_update_notes_history(tmp_path: Path) -> WorkflowHistory:
    """An incident whose summary is edited, with a note, and a status update from someone
    other than the lead recorded as their note (patched), resolved and closed."""
    env = await start_time_skipping()
    try:
        async for desk in open_desk(env, tmp_path, INCIDENT_CONFIG):
            state = await desk.declare(severity="minor", title="Slow search")
            await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
            await desk.incidents.edit(
                state.id, IncidentEdit(summary="Index shard 3 is hot", by="alice")
            )
            await desk.incidents.add_note(state.id, NoteInput(text="GC pauses", by="bob"))
            await desk.incidents.post_update(state.id, UpdateInput(text="CDN?", by="bob"))
            await desk.incidents.post_update(state.id, UpdateInput(text="moved", by="alice"))
            await env.sleep(timedelta(hours=1, minutes=5))
            await desk.incidents.resolve(
                state.id, ResolveInput(resolution="fixed", summary="shard moved", by="alice")
            )
            handle = env.client.get_workflow_handle_for(
                IncidentWorkflow.run, incident_workflow_id(state.id)
            )
            final = await handle.result()
            assert [u.by for u in final.updates] == ["alice"]
            return await handle.fetch_history()
        raise AssertionError("open_desk yielded nothing")
    finally:
        await env.shutdown()


class TestUpdateNotesReplay:
    async def test_fresh_update_notes_history_replays(self, tmp_path: Path) -> None:
        """Edits, notes and an update recorded as a note (patched) replay cleanly."""
        history = await record_update_notes_history(tmp_path)
        markers = [
            e.marker_recorded_event_attributes
            for e in history.events
            if e.HasField("marker_recorded_event_attributes")
        ]
        assert markers, "the update ran behind its patch"
        await replay_and_keep(history, "incident-update-notes")


async def record_announce_mail_history(tmp_path: Path) -> WorkflowHistory:
    """An incident announced by mail (patched) over a real SMTP server, raised to the
    top severity (mailed again), resolved, its postmortem published and mailed."""
    handler = RecordingHandler()
    smtp = LoopbackController(handler, hostname="127.0.0.1", port=0)
    smtp.start()
    env = await start_time_skipping()
    try:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_timeout=5)
        async for desk in open_desk(env, tmp_path, MAIL_CONFIG, settings):
            state = await desk.declare(severity="P3", title="Slow search")
            await desk.incidents.change_severity(state.id, "P1", Acted(by="bob"))
            await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
            await desk.incidents.resolve(
                state.id, ResolveInput(resolution="fixed", summary="shard moved", by="alice")
            )
            state = await desk.settled(state.id, lambda s: s.postmortem_issue is not None)
            issue = state.postmortem_issue
            assert issue is not None
            handle = env.client.get_workflow_handle_for(
                IncidentWorkflow.run, incident_workflow_id(state.id)
            )
            await handle.signal(
                IncidentWorkflow.issue_changed,
                IssueEvent(repo=issue.repo, number=issue.number, state="closed", url=issue.url),
            )
            final = await handle.result()
            mailed = [e for e in final.timeline if e.kind == "announced-mail"]
            assert len(mailed) == 2
            assert len(handler.envelopes) == 3, "two announcements and the postmortem"
            return await handle.fetch_history()
        raise AssertionError("open_desk yielded nothing")
    finally:
        await env.shutdown()
        smtp.stop()


class TestAnnounceMailReplay:
    async def test_fresh_announce_mail_history_replays(self, tmp_path: Path) -> None:
        """Announcements mailed (patched), and the postmortem mailed, replay cleanly."""
        history = await record_announce_mail_history(tmp_path)
        mailed = [
            e
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "mail_announcement"
        ]
        assert len(mailed) == 2
        await replay_and_keep(history, "incident-announce-mail")


async def record_continued_incident_history(tmp_path: Path) -> WorkflowHistory:
    """An incident's first run up to its continue-as-new, past 1,400 history events with
    more than 200 timeline entries: it spills the oldest to the store, then continues."""
    env = await start_time_skipping()
    try:
        config = MONTHS_CONFIG.replace("history_limit: 200", "history_limit: 1400")
        async for desk in open_desk(env, tmp_path, config):
            state = await desk.declare(title="Slow builds", severity="lingering")
            handle = env.client.get_workflow_handle(incident_workflow_id(state.id))
            first_run = (await handle.describe()).run_id
            # Nobody decides on the rollback: asked every 15 minutes, two entries each time.
            await env.sleep(timedelta(days=2))
            state = await desk.settled(state.id, lambda s: s.timeline_archived > 0)
            first = env.client.get_workflow_handle(handle.id, run_id=first_run)
            return await first.fetch_history()
        raise AssertionError("open_desk yielded nothing")
    finally:
        await env.shutdown()


class TestContinuedIncidentReplay:
    async def test_fresh_continued_incident_history_replays(self, tmp_path: Path) -> None:
        """A run that spilled its timeline to the store and continued as new replays cleanly."""
        history = await record_continued_incident_history(tmp_path)
        archived = [
            e
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "archive_timeline"
        ]
        assert len(archived) == 1
        assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
        await replayer().replay_workflow(history)
        if os.environ.get("TOCSIN_RECORD_HISTORIES"):
            (HISTORIES / "incident-continued.json").write_text(history.to_json())


async def record_continued_page_histories(
    env: WorkflowEnvironment, config: Path
) -> list[WorkflowHistory]:
    """A page whose alerts churn while it escalates: past 400 history events it spills its
    timeline and resolved alerts to the archive and continues as new, three times; its
    second step's timer, set in the first run, fires in a later one. Acknowledged, then
    resolved by its alerts, it ends after its flap window. Every run's history."""
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-continued-{uuid.uuid4().hex[:6]}"
    async with build_worker(
        env.client,
        Settings(),
        ConfigFile(config),
        store=MemoryStore(),
        notifiers={"console": RecordingNotifier(), "apprise": RecordingNotifier()},
        task_queue=task_queue,
    ):
        first = [Alert(fingerprint="steady", status="firing", summary="disk full")]
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="DiskFull on gitserver-0",
                source="alertmanager",
                team_members=["alice", "bob", "dana"],
                flap_window_seconds=300,
                history_limit=400,
            ),
            id=f"page-{key}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="alertmanager", alerts=first)],
        )
        page = env.client.get_workflow_handle_for(PageWorkflow.run, handle.id)
        sent = 0
        while len(await run_ids(env.client, handle.id)) < 4:
            described = await page.describe()
            for n in range(sent + 1, sent + 121):
                churn = [
                    Alert(fingerprint=f"n{n}", status="firing", summary=f"n{n}"),
                    Alert(fingerprint=f"n{n - 1}", status="resolved", summary=f"n{n - 1}"),
                ]
                await page.signal(
                    PageWorkflow.receive_alerts, AlertBatch(source="am", alerts=churn)
                )
            for _ in range(200):
                now = await page.describe()
                if now.run_id != described.run_id or now.history_length <= 400:
                    break
                await asyncio.sleep(0.05)
            sent += 120
            await env.sleep(timedelta(minutes=4))
        await page.execute_update(PageWorkflow.acknowledge, PageActionInput(by="alice"))
        done = [
            Alert(fingerprint=fp, status="resolved", summary=fp) for fp in (f"n{sent}", "steady")
        ]
        await page.signal(PageWorkflow.receive_alerts, AlertBatch(source="am", alerts=done))
        await env.sleep(timedelta(minutes=6))
        final = await page.result()
        # The second step's timer, set in the first run, fired on time in a later one.
        (second,) = [n for n in final.notified if n.step == 2]
        assert final.continued >= 3
        assert (
            timedelta(minutes=10) <= second.at - final.created_at < timedelta(minutes=10, seconds=5)
        )
        return [
            await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
            for run_id in await run_ids(env.client, handle.id)
        ]


class TestContinuedPageReplay:
    async def test_fresh_continued_page_histories_replay(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """Every run of a page that continued as new replays; a middle run resumed from
        the carry, archived, and continued again."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        histories = await record_continued_page_histories(time_skipping_env, config)
        assert len(histories) >= 3
        middle = histories[1]
        started = middle.events[0].workflow_execution_started_event_attributes
        assert started.continued_execution_run_id
        activities = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in middle.events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert "archive_timeline" in activities
        assert "archive_alerts" in activities
        assert middle.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
        for history in histories:
            await replayer().replay_workflow(history)
        if os.environ.get("TOCSIN_RECORD_HISTORIES"):
            (HISTORIES / "page-continued.json").write_text(middle.to_json())


async def record_intake_ack_history(env: WorkflowEnvironment, config: Path) -> WorkflowHistory:
    """A page an Events API integration opened: an acknowledgement from another integration
    refused, its own accepted; resolved by a person with a token (``via`` recorded)."""
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-intake-{uuid.uuid4().hex[:6]}"
    firing = Alert(fingerprint="disk", status="firing", summary="disk full")
    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="disk full",
                source="events",
                integration="events:gitserver",
                team_members=["bob"],
            ),
            id=f"page-{key}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="events", alerts=[firing])],
        )
        for integration in ("events:billing", "events:gitserver"):
            ack = AlertBatch(
                source="events", action="acknowledge", by=integration, via="integration key"
            )
            await handle.signal(PageWorkflow.receive_alerts, ack)
            await env.sleep(timedelta(seconds=5))
        resolve = PageActionInput(by="bob", via="token laptop", note="disk cleaned")
        await handle.execute_update(PageWorkflow.resolve, resolve)
        state = await handle.result()
        texts = [e.text for e in state.timeline]
        assert any(t.startswith("Acknowledgement refused: 'events:billing' may not") for t in texts)
        assert "Acknowledged by events:gitserver (integration key)" in texts
        assert "Resolved by bob (token laptop): disk cleaned" in texts
        return await handle.fetch_history()


class TestIntakeAckReplay:
    async def test_fresh_intake_ack_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """The responder check on intake acknowledgements (patched) replays."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        history = await record_intake_ack_history(time_skipping_env, config)
        await replay_and_keep(history, "page-intake-ack")


async def record_follows_alerts_history(env: WorkflowEnvironment, config: Path) -> WorkflowHistory:
    """A page that follows its deliveries (patched): a warning re-triggered critical with a
    new summary, a second alert firing less severely, the critical one resolving."""
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-follows-{uuid.uuid4().hex[:6]}"
    urgencies: dict[str, Literal["high", "low"]] = {"critical": "high", "warning": "low"}

    def firing(fingerprint: str, severity: str, summary: str) -> Alert:
        return Alert(fingerprint=fingerprint, status="firing", summary=summary, severity=severity)

    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="disk 80%",
                source="events",
                severity="warning",
                urgency="low",
                team_members=["bob"],
            ),
            id=f"page-{key}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[
                AlertBatch(source="events", alerts=[firing("disk", "warning", "disk 80%")])
            ],
        )
        for _ in range(200):  # opened: the deliveries below are not merged into the opening
            if (await handle.query(PageWorkflow.get_state)).timeline:
                break
            await asyncio.sleep(0.02)
        batches = [
            AlertBatch(
                source="events",
                alerts=[firing("disk", "critical", "disk 99%")],
                summary="disk 99%",
                urgencies=urgencies,
            ),
            AlertBatch(
                source="events", alerts=[firing("inodes", "warning", "inodes")], urgencies=urgencies
            ),
            AlertBatch(
                source="events",
                alerts=[Alert(fingerprint="disk", status="resolved", summary="disk 99%")],
                urgencies=urgencies,
            ),
        ]
        for batch in batches:
            await handle.signal(PageWorkflow.receive_alerts, batch)
            await env.sleep(timedelta(seconds=5))
        state = await handle.query(PageWorkflow.get_state)
        texts = [e.text for e in state.timeline]
        assert "Severity critical, high urgency (was warning, low urgency)" in texts
        assert (state.summary, state.severity, state.urgency) == ("disk 99%", "warning", "low")
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="bob"))
        await handle.result()
        return await handle.fetch_history()


class TestFollowsAlertsReplay:
    async def test_fresh_follows_alerts_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """Pages following their deliveries' summary, severity and urgency (patched) replay."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        history = await record_follows_alerts_history(time_skipping_env, config)
        await replay_and_keep(history, "page-follows-alerts")


async def record_intake_notes_history(env: WorkflowEnvironment, config: Path) -> WorkflowHistory:
    """A page an Opsgenie-API integration opened: a note from another integration refused,
    its own note kept, its acknowledgement with a note, its close with a note."""
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-notes-{uuid.uuid4().hex[:6]}"
    firing = Alert(fingerprint="disk", status="firing", summary="disk full")
    own = {"by": "events:gitserver", "via": "integration key"}
    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="disk full",
                source="opsgenie",
                integration="events:gitserver",
                team_members=["bob"],
            ),
            id=f"page-{key}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="opsgenie", alerts=[firing], **own)],
        )
        batches = [
            AlertBatch(source="opsgenie", action="note", by="events:billing", note="not mine"),
            AlertBatch(source="opsgenie", action="note", note="looking (sent for bob)", **own),
            AlertBatch(source="opsgenie", action="acknowledge", note="sent for bob", **own),
            AlertBatch(
                source="opsgenie",
                alerts=[Alert(fingerprint="disk", status="resolved", summary="disk")],
                note="cleaned up",
                **own,
            ),
        ]
        for batch in batches:
            await handle.signal(PageWorkflow.receive_alerts, batch)
            await env.sleep(timedelta(seconds=5))
        state = await handle.result()
        texts = [e.text for e in state.timeline]
        assert "Note refused: not the integration of this page" in texts
        assert "looking (sent for bob)" in texts
        assert "Acknowledged by events:gitserver (integration key): sent for bob" in texts
        assert "cleaned up" in texts
        return await handle.fetch_history()


class TestIntakeNotesReplay:
    async def test_fresh_intake_notes_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """Notes from the integration of a page (a new kind of delivery) replay."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        history = await record_intake_notes_history(time_skipping_env, config)
        await replay_and_keep(history, "page-intake-notes")


async def record_working_hours_history(env: WorkflowEnvironment, tmp_path: Path) -> WorkflowHistory:
    """A low-urgency page opened outside working hours (patched): it waits, then notifies
    its first step when they begin; acknowledged, then resolved."""
    now = (await env.get_current_time()).astimezone(UTC)
    hour = (now.hour + 12) % 24
    hour = 22 if hour == 23 else hour
    config = tmp_path / "tocsin.yaml"
    config.write_text(
        CONFIG
        + f"""working_hours:
  days: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]
  start: "{hour:02d}:00"
  end: "{hour + 1:02d}:00"
  timezone: UTC
"""
    )
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-hours-{uuid.uuid4().hex[:6]}"
    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="invoice export",
                urgency="low",
                team_members=["bob"],
            ),
            id=f"page-{key}",
            task_queue=task_queue,
        )
        await env.sleep(timedelta(hours=24))
        state = await handle.query(PageWorkflow.get_state)
        assert [e.kind for e in state.timeline].count("deferred") == 1
        assert state.notified
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="bob"))
        await handle.result()
        return await handle.fetch_history()


class TestWorkingHoursReplay:
    async def test_fresh_working_hours_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """A low-urgency step waiting for working hours (patched) replays."""
        history = await record_working_hours_history(time_skipping_env, tmp_path)
        await replay_and_keep(history, "page-working-hours")


async def record_responder_actions_history(
    env: WorkflowEnvironment, config: Path
) -> WorkflowHistory:
    """Responder actions (patched): acknowledged, snoozed and triggered again when the
    snooze ends, reassigned to a person, responders added, un-acknowledged, resolved."""
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-actions-{uuid.uuid4().hex[:6]}"
    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team="delivery", summary="checkout 500s", team_members=["bob"]),
            id=f"page-{key}",
            task_queue=task_queue,
        )
        await env.sleep(timedelta(seconds=5))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await handle.execute_update(PageWorkflow.snooze, SnoozeInput(by="bob", seconds=600))
        await env.sleep(timedelta(minutes=11))
        await handle.execute_update(
            PageWorkflow.reassign, ReassignInput(by="bob", person="dana", ack_timeout_seconds=300)
        )
        await env.sleep(timedelta(seconds=5))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="dana"))
        asked = RespondersInput(by="dana", targets=["person:alice"], note="payments?")
        await handle.execute_update(PageWorkflow.add_responders, asked)
        await env.sleep(timedelta(seconds=5))
        await handle.execute_update(PageWorkflow.unacknowledge, PageActionInput(by="dana"))
        await env.sleep(timedelta(seconds=5))
        state = await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="alice"))
        texts = [e.text for e in state.timeline]
        assert "Snooze over: triggered again" in texts
        assert "Reassigned to dana by bob" in texts
        await handle.result()
        return await handle.fetch_history()


class TestResponderActionsReplay:
    async def test_fresh_responder_actions_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """Un-acknowledge, snooze, reassign and added responders (patched) replay."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        history = await record_responder_actions_history(time_skipping_env, config)
        await replay_and_keep(history, "page-responder-actions")


async def record_notify_rules_histories(
    env: WorkflowEnvironment, tmp_path: Path
) -> tuple[WorkflowHistory, WorkflowHistory]:
    """Notification rules (patched): Ann's rules at 0, 2 and 5 minutes, acknowledged at 6;
    a step nobody can be reached at escalates at once."""
    config = tmp_path / "tocsin.yaml"
    config.write_text(RULES_CONFIG)
    notifier = RecordingNotifier()
    notifier.failures[RULES_BROKEN] = Unavailable("connection refused")
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-rules-{uuid.uuid4().hex[:6]}"
    async with page_worker(env, config, task_queue, notifier):
        handles = []
        for team in ("web", "old"):
            handles.append(
                await env.client.start_workflow(
                    PageWorkflow.run,
                    PageInput(key=f"{key}-{team}", team=team, summary="5xx", team_members=["bob"]),
                    id=f"page-{key}-{team}",
                    task_queue=task_queue,
                )
            )
        await env.sleep(timedelta(minutes=6))
        rules, unreachable = handles
        await rules.execute_update(PageWorkflow.acknowledge, PageActionInput(by="ann"))
        await unreachable.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await env.sleep(timedelta(seconds=5))
        await rules.execute_update(PageWorkflow.resolve, PageActionInput(by="ann"))
        await unreachable.execute_update(PageWorkflow.resolve, PageActionInput(by="bob"))
        state = await unreachable.query(PageWorkflow.get_state)
        assert "Nobody at step 1 could be reached: escalating now" in [
            e.text for e in state.timeline
        ]
        return await rules.fetch_history(), await unreachable.fetch_history()


class TestNotifyRulesReplay:
    async def test_fresh_notify_rules_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """People's notification rules and the escalation of an unreachable step replay."""
        rules, unreachable = await record_notify_rules_histories(time_skipping_env, tmp_path)
        await replay_and_keep(rules, "page-notify-rules")
        await replay_and_keep(unreachable, "page-unreachable-step")


class TestRotationReplay:
    """A rotation through a handoff (override, swap, config change) and the shift it started,
    replayed on the current code: the rotation's first run and a whole shift."""

    async def test_fresh_rotation_and_shift_histories_replay(self, tmp_path: Path) -> None:
        histories = await record_rotation_histories(tmp_path)
        for history in histories.values():
            await replayer().replay_workflow(history)
        if os.environ.get("TOCSIN_RECORD_HISTORIES"):
            for name, history in histories.items():
                path = HISTORIES / f"{name}.json"
                if not path.exists():  # a stored history is never overwritten
                    path.write_text(history.to_json())


async def record_rotation_histories(tmp_path: Path) -> dict[str, WorkflowHistory]:
    """A rotation that took an override and a swap, saw a config change, handed over once;
    and the shift that ran a whole week (test page acknowledged, a note, the report)."""
    env = await start_time_skipping()
    try:
        async for desk in rotation_desk(env, tmp_path):
            return await drive_rotation(env, desk)
        raise AssertionError("the rotation desk yielded nothing")
    finally:
        await env.shutdown()


async def drive_rotation(env: WorkflowEnvironment, desk: Any) -> dict[str, WorkflowHistory]:
    """Override, swap, config change, handoff; the test page acked, a note, a week, the report."""
    await desk.start()
    now = await env.get_current_time()
    rotation = desk.rotation()
    await rotation.execute_update(
        RotationWorkflow.add_override,
        OverrideRequest(layer="eoc", person="bob", end=now + timedelta(hours=1), by="dana"),
    )
    handoff = next_monday_10(now)
    following = next_monday_10(handoff + timedelta(hours=1))
    holders = [await desk.oncall(t + timedelta(hours=1)) for t in (handoff, following)]
    await rotation.execute_update(
        RotationWorkflow.add_swap,
        SwapRequest(
            layer="eoc",
            first_person=holders[0]["eoc"] or "",
            first_start=handoff,
            second_person=holders[1]["eoc"] or "",
            second_start=following,
            by="dana",
        ),
    )
    text = desk.config.path.read_text().replace("tm: [dana, erin]", "tm: [erin, dana]")
    desk.config.path.write_text(text)
    await sync_rotations(desk.client, desk.config.current(), desk.task_queue)
    await env.sleep(handoff - now + timedelta(minutes=1))
    shift = await desk.eventually(lambda: _shift_with_page(desk, handoff), "the shift")
    page = env.client.get_workflow_handle_for(PageWorkflow.run, f"page-{shift.test_page}")
    await desk.eventually(lambda: desk.notifier.sent, "the test page")
    await page.execute_update(
        PageWorkflow.acknowledge, PageActionInput(by=shift.holders["eoc"] or "")
    )
    shift_handle = env.client.get_workflow_handle_for(
        ShiftWorkflow.run, shift_workflow_id("delivery", handoff)
    )
    await shift_handle.execute_update(
        ShiftWorkflow.add_note, NoteRequest(text="all quiet", by="dana")
    )
    await env.sleep(timedelta(days=7))
    await desk.eventually(desk.reports, "the report")
    await shift_handle.result()
    first_run = await run_ids(env.client, rotation_workflow_id("delivery"))
    return {
        "rotation-handoff": await env.client.get_workflow_handle(
            rotation_workflow_id("delivery"), run_id=first_run[0]
        ).fetch_history(),
        f"shift-week-{SHIFT_RECORDING}": await shift_handle.fetch_history(),
    }


async def run_ids(client: Client, workflow_id: str) -> list[str]:
    """Run ids of a workflow that continued as new, oldest first."""
    ids: list[str] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        ids.append(history.run_id)
        previous = history.events[
            0
        ].workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous:
            return list(reversed(ids))
        run_id = previous


async def _shift_with_page(desk: Any, start: Any) -> Any:
    try:
        shift = await desk.shift(start)
    except RPCError:
        return None
    return shift if shift.test_page else None


async def record_page_log_history(env: WorkflowEnvironment, config: Path) -> WorkflowHistory:
    """An alert page written to the page log (patched) as it opens, escalates, flaps, is
    acknowledged and resolves."""
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-log-{uuid.uuid4().hex[:6]}"
    alert = Alert(fingerprint="f1", status="firing", summary="disk", labels={"alertname": "Disk"})
    gone = alert.model_copy(update={"status": "resolved"})
    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="disk",
                source="alertmanager",
                team_members=["bob"],
                flap_window_seconds=300,
            ),
            id=f"page-{key}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="alertmanager", alerts=[alert])],
        )
        await env.sleep(timedelta(minutes=11))
        for alerts in ([gone], [alert]):
            batch = AlertBatch(source="alertmanager", alerts=alerts)
            await handle.signal(PageWorkflow.receive_alerts, batch)
            await env.sleep(timedelta(minutes=1))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="bob"))
        await handle.result()
        return await handle.fetch_history()


class TestPageLogReplay:
    async def test_fresh_page_log_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """A page writing its page log rows (patched, local activities) replays."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        history = await record_page_log_history(time_skipping_env, config)
        markers = [
            e.marker_recorded_event_attributes.marker_name
            for e in history.events
            if e.HasField("marker_recorded_event_attributes")
        ]
        assert "core_patch" in markers
        assert "core_local_activity" in markers
        await replay_and_keep(history, "page-log")


async def record_silences_history(env: WorkflowEnvironment, tmp_path: Path) -> WorkflowHistory:
    """An alert page held by a maintenance window (patched): silenced, told to look
    again (still held), paged when the window ends, acknowledged, resolved."""
    now = (await env.get_current_time()).astimezone(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(minutes=30)
    fmt = "%Y-%m-%d %H:%M:%S"
    config = tmp_path / "tocsin.yaml"
    config.write_text(SILENCE_CONFIG.format(start=start.strftime(fmt), end=end.strftime(fmt)))
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-silences-{uuid.uuid4().hex[:6]}"
    alert = Alert(fingerprint="lag", status="firing", summary="replica lag")
    async with page_worker(env, config, task_queue, RecordingNotifier()):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team="ops", service="db", summary="lag", source="alertmanager"),
            id=f"page-{key}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="alertmanager", alerts=[alert])],
        )
        await env.sleep(timedelta(minutes=1))
        await handle.signal(PageWorkflow.recheck_silence, SilenceEnded(silence_id="s1"))
        await env.sleep(timedelta(minutes=31))
        state = await handle.query(PageWorkflow.get_state)
        assert [e.kind for e in state.timeline].count("silenced") == 2
        assert state.notified
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="sam"))
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="sam"))
        await handle.result()
        return await handle.fetch_history()


class TestSilencesReplay:
    async def test_fresh_silences_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """A page held by a maintenance window, then paged (patched), replays."""
        history = await record_silences_history(time_skipping_env, tmp_path)
        await replay_and_keep(history, "page-silences")


async def record_heartbeat_history(env: WorkflowEnvironment, tmp_path: Path) -> WorkflowHistory:
    """A heartbeat missed (its page opened), pinged (resolved), its interval changed,
    pinged again, then retired."""
    config = tmp_path / "tocsin.yaml"
    config.write_text(HEARTBEAT_CONFIG)
    task_queue = f"replay-{uuid.uuid4()}"
    beat = Beat(env, task_queue, f"replay-{uuid.uuid4().hex[:6]}", RecordingNotifier())
    async with page_worker(env, config, task_queue, beat.notifier):
        await beat.configure(interval="1h", grace="5m", team="ops")
        await env.sleep(timedelta(hours=1, minutes=6))
        await beat.state(lambda s: s.page_id is not None)
        await beat.ping()
        await beat.state(lambda s: s.status == "ok" and s.page_id is None)
        await beat.configure(interval="2h", team="ops")
        await beat.state(lambda s: s.interval == timedelta(hours=2))
        await env.sleep(timedelta(minutes=30))
        await beat.ping()
        await beat.state(lambda s: s.pings == 2)
        await beat.configure()
        result = await beat.handle().result()
        assert (result.status, result.pings) == ("ok", 2)
        await beat.close()
        return await beat.handle().fetch_history()


class TestHeartbeatReplay:
    async def test_fresh_heartbeat_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """A heartbeat missed, pinged, changed and retired replays."""
        history = await record_heartbeat_history(time_skipping_env, tmp_path)
        await replay_and_keep(history, "heartbeat-missed")


class TestCheckReplay:
    async def test_fresh_check_history_replays(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        """An uptime check down (paged), up (resolved), near certificate expiry, retired."""
        history = await record_check_history(time_skipping_env)
        await replay_and_keep(history, "check-down-up")
