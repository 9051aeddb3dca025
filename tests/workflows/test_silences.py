"""Maintenance windows and silences on the time-skipping server: an alert page held by one
notifies nobody and shows silenced; it pages when the window ends while still firing,
never when its alerts resolve inside it, and at once when its silence is ended early. A
page a person opens is never held."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.silences import SilenceDesk
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.silences import MemorySilences
from tests.fakes.store import MemoryStore
from tests.workflows.page_desk import terminate_open
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.models import Alert, AlertBatch, PageInput, PageState, PageStatus
from workflows.page import PageWorkflow
from workflows.silence_models import Silence

# The window covers service db from an hour before the test server's clock to two hours
# after it; silences cover team ops.
CONFIG = """
timezone: UTC
people:
  sam: {{name: Sam, contact: [console]}}
teams:
  ops: {{members: [sam], escalation_policy: ops}}
  web: {{members: [sam], escalation_policy: ops}}
services:
  db: {{team: ops}}
  shop: {{team: web}}
escalation_policies:
  ops:
    steps:
      - {{targets: ["person:sam"], ack_timeout: 10m}}
maintenance:
  db-upgrade:
    start: "{start}"
    end: "{end}"
    timezone: UTC
    services: [db]
    reason: Postgres 16 upgrade
"""


@dataclass
class SilencingStore(MemoryStore, MemorySilences):
    """The workflow tests' store, keeping silences too."""


@dataclass
class Desk:
    env: WorkflowEnvironment
    notifier: RecordingNotifier
    store: SilencingStore
    config: ConfigFile
    task_queue: str
    window_end: datetime
    handles: list[WorkflowHandle[PageWorkflow, PageState]] = field(default_factory=list)

    async def page(
        self, team: str, service: str, source: str = "alertmanager"
    ) -> WorkflowHandle[PageWorkflow, PageState]:
        key = uuid.uuid4().hex[:12]
        alert = Alert(
            fingerprint="f1", status="firing", summary="replica lag", labels={"alertname": "Lag"}
        )
        handle = await self.env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team=team, service=service, summary="replica lag", source=source),
            id=f"page-{key}",
            task_queue=self.task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source=source, alerts=[alert])],
        )
        self.handles.append(handle)
        return handle


@pytest.fixture
async def desk(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    now = (await time_skipping_env.get_current_time()).astimezone(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    path = tmp_path / "tocsin.yaml"
    fmt = "%Y-%m-%d %H:%M:%S"
    path.write_text(CONFIG.format(start=start.strftime(fmt), end=end.strftime(fmt)))
    config = ConfigFile(path)
    notifier, store = RecordingNotifier(), SilencingStore()
    task_queue = f"tq-{uuid.uuid4()}"
    worker = build_worker(
        time_skipping_env.client,
        Settings(),
        config,
        store=store,
        notifiers={"console": notifier},
        task_queue=task_queue,
    )
    async with worker:
        found = Desk(time_skipping_env, notifier, store, config, task_queue, end)
        yield found
        await terminate_open(found.handles)


async def settled(
    handle: WorkflowHandle[PageWorkflow, PageState], done: Callable[[PageState], bool]
) -> PageState:
    """The page's state once ``done`` holds (the worker works in real time)."""
    for _ in range(200):
        state = await handle.query(PageWorkflow.get_state)
        if done(state):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"never settled: {state.timeline}")


def kinds(state: PageState) -> list[str]:
    return [e.kind for e in state.timeline]


class TestMaintenanceWindow:
    async def test_held_then_pages_when_the_window_ends_still_firing(self, desk: Desk) -> None:
        """Nobody is notified during the window; the page shows silenced until its end,
        by the window, with its reason; at the end, still firing, Sam is paged."""
        handle = await desk.page("ops", "db")
        state = await settled(handle, lambda s: "silenced" in kinds(s))
        assert (state.silenced, state.silenced_until) == (True, desk.window_end)
        assert state.silenced_by == "maintenance db-upgrade"
        entry = next(e for e in state.timeline if e.kind == "silenced")
        assert entry.text.endswith("by maintenance db-upgrade: Postgres 16 upgrade")
        assert desk.notifier.sent == []
        assert state.notified == []
        await desk.env.sleep(timedelta(hours=2, minutes=1))
        state = await settled(handle, lambda s: bool(s.notified))
        assert [n.person for n in state.notified] == ["sam"]
        assert state.silenced_until is None
        assert state.silenced

    async def test_resolved_inside_the_window_never_notifies(self, desk: Desk) -> None:
        """An alert that resolves during the window resolves the page; nobody heard of it."""
        handle = await desk.page("ops", "db")
        await settled(handle, lambda s: "silenced" in kinds(s))
        resolved = Alert(fingerprint="f1", status="resolved", summary="replica lag")
        await handle.signal(
            PageWorkflow.receive_alerts, AlertBatch(source="alertmanager", alerts=[resolved])
        )
        state = await handle.result()
        assert state.status == PageStatus.resolved
        assert state.silenced
        assert state.notified == []
        assert desk.notifier.sent == []

    async def test_a_page_opened_by_hand_is_not_held(self, desk: Desk) -> None:
        handle = await desk.page("ops", "db", source="api")
        state = await settled(handle, lambda s: bool(s.notified))
        assert not state.silenced
        assert "silenced" not in kinds(state)


class TestSilence:
    async def test_ending_a_silence_early_pages_at_once(self, desk: Desk) -> None:
        """A silence on team web holds the shop page for six hours; ended early, the page
        notifies Sam without any time passing."""
        now = (await desk.env.get_current_time()).astimezone(UTC)
        silence = Silence(
            id="s1",
            teams=["web"],
            matchers=["alertname=~La.*"],
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=6),
            reason="shop migration",
            created_by="alice",
            created_at=now,
        )
        await desk.store.add_silence(silence)
        handle = await desk.page("web", "shop")
        state = await settled(handle, lambda s: "silenced" in kinds(s))
        assert state.silenced_by == "alice (silence s1)"
        assert state.notified == []
        assert await desk.store.held_pages("s1") == [handle.id]
        ended = await SilenceDesk(desk.store, desk.config, desk.env.client).end("s1", "bob", now)
        assert ended.ended_by == "bob"
        state = await settled(handle, lambda s: bool(s.notified))
        assert [n.person for n in state.notified] == ["sam"]
        assert state.silenced_until is None
