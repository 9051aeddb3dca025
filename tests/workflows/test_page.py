"""PageWorkflow on the time-skipping server: escalation timing, acks, repeats, fallbacks."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.contacts import contact_label
from activities.errors import Unavailable
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.models import PageActionInput, PageInput, PageState, PageStatus
from workflows.page import PageWorkflow

CONFIG = """
timezone: America/Chicago
people:
  alice: {name: Alice, timezone: America/Chicago, contact: [console]}
  bob: {name: Bob, contact: [console]}
  dana: {name: Dana, contact: [console]}
  erin: {name: Erin, contact: ["json://127.0.0.1:9/broken", console]}
teams:
  delivery: {members: [alice, bob, dana], rotation: delivery, escalation_policy: delivery}
  looping: {members: [alice, bob], rotation: delivery, escalation_policy: looping}
  fallback: {members: [erin, bob], escalation_policy: fallback}
rotations:
  delivery:
    timezone: America/Chicago
    handoff: {weekday: monday, time: "10:00"}
    shift: 1w
    start: 2020-01-06
    layers: {eoc: [alice], tm: [dana]}
escalation_policies:
  delivery:
    repeat: 0
    steps:
      - {targets: ["rotation:delivery/eoc"], ack_timeout: 10m}
      - {targets: ["rotation:delivery/tm"], ack_timeout: 5m}
      - {targets: ["team:delivery"], ack_timeout: 5m}
  looping:
    repeat: 2
    steps:
      - {targets: ["person:alice"], ack_timeout: 10m}
      - {targets: ["person:bob"], ack_timeout: 10m}
  fallback:
    steps:
      - {targets: ["person:erin"], ack_timeout: 10m}
      - {targets: ["person:bob"], ack_timeout: 10m}
"""


@dataclass
class Harness:
    env: WorkflowEnvironment
    notifier: RecordingNotifier
    task_queue: str
    handles: list[WorkflowHandle[PageWorkflow, PageState]] = field(default_factory=list)

    async def page(self, team: str = "delivery") -> WorkflowHandle[PageWorkflow, PageState]:
        key = uuid.uuid4().hex[:12]
        handle = await self.env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team=team,
                summary="DiskFull on gitserver-0",
                created_by="test",
                team_members=["alice", "bob", "dana", "erin"],
            ),
            id=f"page-{key}",
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def close(self) -> None:
        """Terminate pages a test left open, so they cannot hold up the shared test server."""
        for handle in self.handles:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


@pytest.fixture
async def harness(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Harness]:
    config_path = tmp_path / "tocsin.yaml"
    config_path.write_text(CONFIG)
    notifier = RecordingNotifier()
    notifier.failures["json://127.0.0.1:9/broken"] = Unavailable("connection refused")
    task_queue = f"tq-{uuid.uuid4()}"
    worker: Worker = build_worker(
        time_skipping_env.client,
        Settings(),
        ConfigFile(config_path),
        store=MemoryStore(),
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    )
    async with worker:
        harness = Harness(time_skipping_env, notifier, task_queue)
        yield harness
        await harness.close()


def offsets(state: PageState, ok: bool = True) -> list[tuple[str, int, float]]:
    """(person, step, minutes after the page opened) of each notification."""
    return [
        (n.person, n.step, round((n.at - state.created_at).total_seconds() / 60, 2))
        for n in state.notified
        if n.ok == ok
    ]


def decoded_payloads(history_json: str) -> str:
    """Every payload of a history, base64-decoded, as one text to search."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    found.append(base64.b64decode(value).decode("utf-8", "replace"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(history_json))
    return "\n".join(found)


async def state_of(handle: WorkflowHandle[PageWorkflow, PageState]) -> PageState:
    return await handle.query(PageWorkflow.get_state)


def ack(by: str) -> PageActionInput:
    return PageActionInput(by=by)


class TestEscalation:
    async def test_eoc_at_once_tm_at_10_minutes_team_at_15(self, harness: Harness) -> None:
        """Without an ack the EOC is paged at once, the TM at exactly 10 min, the team at 15 min."""
        handle = await harness.page()
        await harness.env.sleep(timedelta(minutes=9, seconds=50))
        assert offsets(await state_of(handle)) == [("alice", 1, 0.0)]
        await harness.env.sleep(timedelta(minutes=5, seconds=5))
        state = await state_of(handle)
        assert offsets(state) == [("alice", 1, 0.0), ("dana", 2, 10.0)]
        assert state.step == 2
        await harness.env.sleep(timedelta(minutes=1))
        state = await state_of(handle)
        assert sorted(offsets(state)[2:]) == [
            ("alice", 3, 15.0),
            ("bob", 3, 15.0),
            ("dana", 3, 15.0),
        ]
        await handle.execute_update(PageWorkflow.resolve, ack("alice"))
        await handle.result()

    async def test_nobody_acks_page_stays_triggered(self, harness: Harness) -> None:
        """After the last step times out the page stays open with a 'nobody acknowledged' entry."""
        handle = await harness.page()
        await harness.env.sleep(timedelta(minutes=21))
        state = await state_of(handle)
        assert state.status == PageStatus.triggered
        assert state.escalation_exhausted
        assert state.timeline[-1].kind == "exhausted"
        assert "Nobody acknowledged" in state.timeline[-1].text
        count = len(state.notified)
        await harness.env.sleep(timedelta(hours=2))
        assert len((await state_of(handle)).notified) == count
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(PageWorkflow.escalate, ack("alice"))
        assert "every escalation step" in str(info.value.cause)
        late = await handle.execute_update(PageWorkflow.acknowledge, ack("bob"))
        assert late.status == PageStatus.acknowledged
        await handle.execute_update(PageWorkflow.resolve, ack("bob"))
        await handle.result()

    async def test_ack_at_7_minutes_stops_all_notifications(self, harness: Harness) -> None:
        """An ack within the first step stops escalation: nobody else is ever notified."""
        handle = await harness.page()
        await harness.env.sleep(timedelta(minutes=7))
        state = await handle.execute_update(PageWorkflow.acknowledge, ack("alice"))
        assert state.status == PageStatus.acknowledged
        assert state.acknowledged_by == "alice"
        assert state.acknowledged_at is not None
        assert round((state.acknowledged_at - state.created_at).total_seconds() / 60) == 7
        await harness.env.sleep(timedelta(hours=1))
        state = await state_of(handle)
        assert offsets(state) == [("alice", 1, 0.0)]
        assert state.status == PageStatus.acknowledged
        assert len(harness.notifier.sent) == 1

    async def test_repeat_runs_the_policy_again(self, harness: Harness) -> None:
        """A policy with repeat 2 walks its steps three times in all, then stops."""
        handle = await harness.page(team="looping")
        await harness.env.sleep(timedelta(minutes=61))
        state = await state_of(handle)
        assert offsets(state) == [
            ("alice", 1, 0.0),
            ("bob", 2, 10.0),
            ("alice", 1, 20.0),
            ("bob", 2, 30.0),
            ("alice", 1, 40.0),
            ("bob", 2, 50.0),
        ]
        assert state.escalation_exhausted
        assert state.round == 2

    async def test_escalate_now_skips_the_wait(self, harness: Harness) -> None:
        """Escalate-now notifies the next step immediately instead of at 10 minutes."""
        handle = await harness.page()
        await harness.env.sleep(timedelta(minutes=2))
        await handle.execute_update(PageWorkflow.escalate, ack("alice"))
        await harness.env.sleep(timedelta(seconds=5))
        assert offsets(await state_of(handle))[1][:2] == ("dana", 2)
        assert 2.0 <= offsets(await state_of(handle))[1][2] < 2.2


class TestMessages:
    async def test_second_ack_is_rejected_with_a_reason(self, harness: Harness) -> None:
        """A second acknowledgement fails clearly and leaves the first one in place."""
        handle = await harness.page()
        await handle.execute_update(PageWorkflow.acknowledge, ack("alice"))
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(PageWorkflow.acknowledge, ack("bob"))
        assert "already acknowledged by alice" in str(info.value.cause)
        state = await state_of(handle)
        assert state.acknowledged_by == "alice"
        assert [e.kind for e in state.timeline].count("acknowledged") == 1

    async def test_stranger_cannot_ack(self, harness: Harness) -> None:
        """Only team members or people notified may acknowledge."""
        handle = await harness.page()
        await harness.env.sleep(timedelta(seconds=1))
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(PageWorkflow.acknowledge, ack("mallory"))
        assert "not a member of team delivery" in str(info.value.cause)
        assert (await state_of(handle)).status == PageStatus.triggered

    async def test_resolve_closes_the_page(self, harness: Harness) -> None:
        """Resolving ends the workflow with the resolver recorded and no further escalation."""
        handle = await harness.page()
        await harness.env.sleep(timedelta(minutes=1))
        await handle.execute_update(
            PageWorkflow.resolve, PageActionInput(by="bob", note="disk cleaned")
        )
        result = await handle.result()
        assert result.status == PageStatus.resolved
        assert result.resolved_by == "bob"
        assert result.timeline[-1].text == "Resolved by bob: disk cleaned"
        assert offsets(result) == [("alice", 1, 0.0)]
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


class TestContactFallback:
    async def test_failing_method_falls_through_to_the_next(self, harness: Harness) -> None:
        """Erin's webhook is down: it is retried, recorded as failed, and her console is used."""
        handle = await harness.page(team="fallback")
        await harness.env.sleep(timedelta(minutes=10, seconds=30))
        state = await state_of(handle)
        failed = [n for n in state.notified if not n.ok]
        assert [(n.person, n.method) for n in failed] == [
            ("erin", contact_label("json://127.0.0.1:9/broken"))
        ]
        history = decoded_payloads((await handle.fetch_history()).to_json())
        assert contact_label("json://127.0.0.1:9/broken") in history
        assert "broken" not in history, "contact URL paths never reach the history"
        assert failed[0].error is not None
        assert "connection refused" in failed[0].error
        assert harness.notifier.attempts["json://127.0.0.1:9/broken"] == 3
        erin = next(n for n in state.notified if n.ok)
        assert (erin.person, erin.method) == ("erin", "console")
        assert any(e.kind == "notify-failed" and "erin" in e.text for e in state.timeline)
        # The retries (seconds of backoff) never held up the escalation clock: bob at 10:00.
        assert offsets(state)[1] == ("bob", 2, 10.0)
