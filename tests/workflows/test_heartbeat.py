"""HeartbeatWorkflow on the time-skipping server: a missed heartbeat pages after interval +
grace (not before), the next ping resolves the page, a config change applies at once and a
retired heartbeat resolves its page and ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from starters.clients.heartbeats import HeartbeatWorkflowClient
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from worker.build import build_worker
from worker.config import ConfigFile, parse_config
from worker.heartbeats import sync_heartbeats
from worker.settings import Settings
from workflows.heartbeat import HeartbeatWorkflow, heartbeat_workflow_id
from workflows.heartbeat_models import HeartbeatConfig, HeartbeatPing, HeartbeatState
from workflows.models import PageState, PageStatus
from workflows.page import PageWorkflow

CONFIG = """
people:
  alice: {name: Alice, contact: [console]}
teams:
  ops: {members: [alice], escalation_policy: ops}
escalation_policies:
  ops:
    steps:
      - {targets: ["person:alice"], ack_timeout: 10m}
"""


@dataclass
class Beat:
    """One heartbeat (a fresh name per test) served by a worker on its own task queue."""

    env: WorkflowEnvironment
    task_queue: str
    name: str
    notifier: RecordingNotifier
    synced: dict[str, HeartbeatConfig] | None = None

    async def configure(self, **spec: Any) -> None:
        """Sync the config with this heartbeat as ``spec`` (none: retired)."""
        data = yaml.safe_load(CONFIG)
        if spec:
            data["heartbeats"] = {self.name: spec}
        config = parse_config(data, "tocsin.yaml")
        self.synced = await sync_heartbeats(self.env.client, config, self.task_queue, self.synced)

    async def ping(self) -> None:
        await HeartbeatWorkflowClient(self.env.client).ping(self.name, HeartbeatPing(by="cron"))

    def handle(self) -> WorkflowHandle[HeartbeatWorkflow, HeartbeatState]:
        return self.env.client.get_workflow_handle_for(
            HeartbeatWorkflow.run, heartbeat_workflow_id(self.name)
        )

    async def state(self, check: Callable[[HeartbeatState], bool]) -> HeartbeatState:
        """The heartbeat's state once ``check`` holds (signals land with the next task)."""
        for _ in range(200):
            state = await self.handle().query(HeartbeatWorkflow.get_state)
            if check(state):
                return state
            await asyncio.sleep(0.02)
        pytest.fail(f"heartbeat never reached the expected state: {state}")

    def page_handle(self) -> WorkflowHandle[PageWorkflow, PageState]:
        return self.env.client.get_workflow_handle_for(
            PageWorkflow.run, f"page-heartbeat-{self.name}"
        )

    async def page(self, check: Callable[[PageState], bool]) -> PageState:
        for _ in range(200):
            try:
                state = await self.page_handle().query(PageWorkflow.get_state)
            except RPCError:
                state = None
            if state is not None and check(state):
                return state
            await asyncio.sleep(0.02)
        pytest.fail(f"page never reached the expected state: {state}")

    async def has_page(self) -> bool:
        try:
            await self.page_handle().describe()
        except RPCError:
            return False
        return True

    async def close(self) -> None:
        """End what the test left running so it cannot hold up the shared test server."""
        for handle in (self.handle(), self.page_handle()):
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test finished")
            except RPCError:
                continue


@pytest.fixture
async def beat(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Beat]:
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    notifier = RecordingNotifier()
    task_queue = f"heartbeats-{uuid.uuid4()}"
    worker = build_worker(
        time_skipping_env.client,
        Settings(),
        ConfigFile(path),
        store=MemoryStore(),
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    )
    async with worker:
        harness = Beat(time_skipping_env, task_queue, f"hb-{uuid.uuid4().hex[:8]}", notifier)
        yield harness
        await harness.close()


class TestMissedHeartbeat:
    """No ping within interval + grace pages the heartbeat's team; the next ping resolves."""

    async def test_pages_after_interval_and_grace_and_resolves_on_ping(self, beat: Beat) -> None:
        await beat.configure(interval="1h", grace="10m", team="ops")
        state = await beat.state(lambda s: s.status == "ok")
        assert state.overdue_at == state.started_at + timedelta(hours=1, minutes=10)

        await beat.env.sleep(timedelta(hours=1, minutes=9))
        assert (await beat.state(lambda s: True)).status == "ok"
        assert not await beat.has_page()

        await beat.env.sleep(timedelta(minutes=2))
        state = await beat.state(lambda s: s.page_id is not None)
        assert state.status == "overdue"
        page = await beat.page(lambda p: len(p.notified) == 1)
        assert state.page_id == page.id
        assert page.team == "ops"
        assert page.summary.startswith(f"{beat.name} is overdue; never seen since ")

        await beat.ping()
        state = await beat.state(lambda s: s.page_id is None)
        assert (state.status, state.last_by, state.pings) == ("ok", "cron", 1)
        assert state.last_seen is not None
        assert state.next_due == state.last_seen + timedelta(hours=1)
        page = await beat.page(lambda p: p.status == PageStatus.resolved)
        assert page.resolved_by == "heartbeat"

        # Missed again: the new page says when it was last seen, and how long ago.
        await beat.env.sleep(timedelta(hours=1, minutes=11))
        await beat.state(lambda s: s.status == "overdue" and s.page_id is not None)
        page = await beat.page(lambda p: p.status == PageStatus.triggered)
        assert page.summary.startswith(f"{beat.name} is overdue; last seen ")
        assert page.summary.endswith("(1h10m ago)")  # paged at the deadline itself

    async def test_pings_on_time_never_page(self, beat: Beat) -> None:
        await beat.configure(interval="1h", team="ops")
        await beat.state(lambda s: s.status == "ok")
        for count in range(1, 4):
            await beat.env.sleep(timedelta(minutes=55))
            await beat.ping()
            await beat.state(lambda s, n=count: s.pings == n)
        assert (await beat.state(lambda s: True)).status == "ok"
        assert not await beat.has_page()


class TestConfigChanges:
    """A changed interval applies at once, from the last ping; retiring resolves and ends."""

    async def test_shorter_interval_pages_at_once_longer_resolves(self, beat: Beat) -> None:
        await beat.configure(interval="1h", team="ops")
        await beat.ping()
        seen = (await beat.state(lambda s: s.pings == 1)).last_seen
        assert seen is not None
        await beat.env.sleep(timedelta(minutes=40))
        assert not await beat.has_page()

        await beat.configure(interval="30m", team="ops")
        state = await beat.state(lambda s: s.page_id is not None)
        assert state.overdue_at == seen + timedelta(minutes=30)
        await beat.page(lambda p: len(p.notified) == 1)

        await beat.configure(interval="2h", team="ops")
        state = await beat.state(lambda s: s.status == "ok" and s.page_id is None)
        assert state.next_due == seen + timedelta(hours=2)
        await beat.page(lambda p: p.status == PageStatus.resolved)

    async def test_retired_heartbeat_resolves_its_page_and_ends(self, beat: Beat) -> None:
        await beat.configure(interval="5m", team="ops")
        await beat.env.sleep(timedelta(minutes=6))
        await beat.state(lambda s: s.page_id is not None)

        await beat.configure()
        result = await beat.handle().result()
        assert result.name == beat.name
        page = await beat.page(lambda p: p.status == PageStatus.resolved)
        assert page.status == PageStatus.resolved
