"""Responder actions on the time-skipping server: un-acknowledge, snooze, the policy's
acknowledgement timeout, reassign to a team or a person, and adding responders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from tests.fakes.notifier import RecordingNotifier
from tests.workflows.page_desk import page_worker, terminate_open
from workflows.models import PageActionInput, PageInput, PageState, PageStatus
from workflows.page import PageWorkflow
from workflows.page_actions import ReassignInput, RespondersInput, SnoozeInput

CONFIG = """
timezone: UTC
people:
  alice: {name: Alice, contact: [console]}
  bob: {name: Bob, contact: [console]}
  cleo: {name: Cleo, contact: [console]}
  dana: {name: Dana, contact: [console]}
teams:
  web: {members: [alice, bob], escalation_policy: web}
  db: {members: [cleo], escalation_policy: db}
  ops: {members: [dana], escalation_policy: ops}
escalation_policies:
  web:
    steps:
      - {targets: ["person:alice"], ack_timeout: 10m}
      - {targets: ["person:bob"], ack_timeout: 10m}
  db:
    steps:
      - {targets: ["person:cleo"], ack_timeout: 10m}
  ops:
    acknowledgement_timeout: 30m
    steps:
      - {targets: ["person:dana"], ack_timeout: 10m}
"""


@dataclass
class Desk:
    env: WorkflowEnvironment
    notifier: RecordingNotifier
    task_queue: str
    handles: list[WorkflowHandle[PageWorkflow, PageState]] = field(default_factory=list)

    async def page(self, team: str = "web") -> WorkflowHandle[PageWorkflow, PageState]:
        key = uuid.uuid4().hex[:12]
        members = {"web": ["alice", "bob"], "db": ["cleo"], "ops": ["dana"]}[team]
        handle = await self.env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team=team, summary="checkout 500s", team_members=members),
            id=f"page-{key}",
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        await self.env.sleep(timedelta(seconds=2))
        return handle


@pytest.fixture
async def desk(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    config = tmp_path / "tocsin.yaml"
    config.write_text(CONFIG)
    notifier = RecordingNotifier()
    async with page_worker(time_skipping_env, config, notifier) as task_queue:
        found = Desk(time_skipping_env, notifier, task_queue)
        yield found
        await terminate_open(found.handles)


async def state_of(handle: WorkflowHandle[PageWorkflow, PageState]) -> PageState:
    return await handle.query(PageWorkflow.get_state)


def who(state: PageState) -> list[tuple[str, int]]:
    return [(n.person, n.step) for n in state.notified]


def by(person: str) -> PageActionInput:
    return PageActionInput(by=person)


class TestUnacknowledge:
    async def test_gives_the_page_back_and_it_escalates_again(self, desk: Desk) -> None:
        handle = await desk.page()
        await handle.execute_update(PageWorkflow.acknowledge, by("alice"))
        await desk.env.sleep(timedelta(minutes=30))
        assert who(await state_of(handle)) == [("alice", 1)]

        state = await handle.execute_update(PageWorkflow.unacknowledge, by("alice"))
        assert (state.status, state.acknowledged_by) == (PageStatus.triggered, None)
        await desk.env.sleep(timedelta(seconds=5))
        assert who(await state_of(handle)) == [("alice", 1), ("alice", 1)]
        await desk.env.sleep(timedelta(minutes=10))
        assert who(await state_of(handle))[-1] == ("bob", 2)
        assert "Un-acknowledged by alice" in [e.text for e in (await state_of(handle)).timeline]

    async def test_only_an_acknowledged_page(self, desk: Desk) -> None:
        handle = await desk.page()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(PageWorkflow.unacknowledge, by("alice"))
        assert "not acknowledged" in str(refused.value.cause)


class TestSnooze:
    async def test_triggers_again_when_the_snooze_is_over(self, desk: Desk) -> None:
        handle = await desk.page()
        await handle.execute_update(PageWorkflow.acknowledge, by("alice"))
        snooze = SnoozeInput(by="alice", seconds=3600, note="deploy at 3")
        state = await handle.execute_update(PageWorkflow.snooze, snooze)
        assert state.snoozed_until is not None
        await desk.env.sleep(timedelta(minutes=59))
        state = await state_of(handle)
        assert (state.status, who(state)) == (PageStatus.acknowledged, [("alice", 1)])
        await desk.env.sleep(timedelta(minutes=2))
        state = await state_of(handle)
        assert state.status == PageStatus.triggered
        assert who(state) == [("alice", 1), ("alice", 1)]
        texts = [e.text for e in state.timeline]
        assert any(t.startswith("Snoozed by alice for 1h") and "deploy at 3" in t for t in texts)
        assert "Snooze over: triggered again" in texts

    async def test_a_triggered_page_cannot_be_snoozed(self, desk: Desk) -> None:
        handle = await desk.page()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(PageWorkflow.snooze, SnoozeInput(by="alice", seconds=60))
        assert "acknowledge it before snoozing" in str(refused.value.cause)


class TestAcknowledgementTimeout:
    async def test_acknowledged_but_unresolved_triggers_again(self, desk: Desk) -> None:
        """The ops policy's acknowledgement_timeout: 30m."""
        handle = await desk.page("ops")
        await handle.execute_update(PageWorkflow.acknowledge, by("dana"))
        await desk.env.sleep(timedelta(minutes=29))
        assert (await state_of(handle)).status == PageStatus.acknowledged
        await desk.env.sleep(timedelta(minutes=2))
        state = await state_of(handle)
        assert state.status == PageStatus.triggered
        assert who(state) == [("dana", 1), ("dana", 1)]
        assert "Acknowledged 30m ago and not resolved: triggered again" in [
            e.text for e in state.timeline
        ]

    async def test_off_by_default(self, desk: Desk) -> None:
        handle = await desk.page()
        await handle.execute_update(PageWorkflow.acknowledge, by("alice"))
        await desk.env.sleep(timedelta(hours=6))
        state = await state_of(handle)
        assert (state.status, who(state)) == (PageStatus.acknowledged, [("alice", 1)])


class TestReassign:
    async def test_to_a_team_runs_its_policy(self, desk: Desk) -> None:
        handle = await desk.page()
        await handle.execute_update(PageWorkflow.acknowledge, by("alice"))
        state = await handle.execute_update(
            PageWorkflow.reassign, ReassignInput(by="alice", team="db", note="it is the db")
        )
        assert (state.team, state.status) == ("db", PageStatus.triggered)
        await desk.env.sleep(timedelta(seconds=5))
        state = await state_of(handle)
        assert who(state) == [("alice", 1), ("cleo", 1)]
        assert "Reassigned to team db by alice: it is the db" in [e.text for e in state.timeline]
        await handle.execute_update(PageWorkflow.acknowledge, by("cleo"))

    async def test_while_escalating_to_a_person(self, desk: Desk) -> None:
        handle = await desk.page()
        await handle.execute_update(
            PageWorkflow.reassign, ReassignInput(by="bob", person="dana", ack_timeout_seconds=300)
        )
        await desk.env.sleep(timedelta(seconds=5))
        assert who(await state_of(handle)) == [("alice", 1), ("dana", 1)]
        # Dana alone, again after each 5 minutes; alice's old step 2 (bob) never comes.
        await desk.env.sleep(timedelta(minutes=11))
        assert who(await state_of(handle)) == [("alice", 1), ("dana", 1), ("dana", 2), ("dana", 3)]

    async def test_only_a_responder(self, desk: Desk) -> None:
        handle = await desk.page()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(PageWorkflow.reassign, ReassignInput(by="cleo", team="db"))
        assert "'cleo' may not reassign" in str(refused.value.cause)


class TestAddResponders:
    async def test_notified_now_and_may_act(self, desk: Desk) -> None:
        handle = await desk.page()
        await handle.execute_update(PageWorkflow.acknowledge, by("alice"))
        asked = RespondersInput(by="alice", targets=["person:cleo", "team:ops"], note="db?")
        await handle.execute_update(PageWorkflow.add_responders, asked)
        await desk.env.sleep(timedelta(seconds=5))
        state = await state_of(handle)
        assert sorted(who(state)) == [("alice", 1), ("cleo", 1), ("dana", 1)]
        assert state.status == PageStatus.acknowledged
        assert "alice asked cleo, dana to help: db?" in [e.text for e in state.timeline]
        resolved = await handle.execute_update(PageWorkflow.resolve, by("cleo"))
        assert resolved.resolved_by == "cleo"
