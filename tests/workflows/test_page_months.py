"""A page that lives for months: 20,000 alert deliveries into one page on the time-skipping
server. It keeps answering, continues as new many times with a bounded history, archives
its older timeline and resolved alerts, and its escalation timer fires on time after a
continue-as-new."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.archive_models import TimelineSlice
from workflows.models import Alert, AlertBatch, AlertQuery, PageInput, PageState, PageStatus
from workflows.page import PageWorkflow

CONFIG = """
people:
  alice: {name: Alice, contact: [console]}
  dana: {name: Dana, contact: [console]}
teams:
  delivery: {members: [alice, dana], escalation_policy: delivery}
escalation_policies:
  delivery:
    steps:
      - {targets: ["person:alice"], ack_timeout: 6h}
      - {targets: ["person:dana"], ack_timeout: 6h}
"""

# What the size proves is the page's life across many runs: some twenty continue-as-news
# (more than the ten asserted), each spilling timeline and resolved alerts to the archive,
# with flaps, resolved and fresh alerts in runs long gone. 60,000 deliveries under a 2,000
# event limit gave 28 of them in 56 s; a third of the deliveries under a third of the limit
# gives as many, every run still far past what a continued page holds (200 entries).
DELIVERIES = 20_000
# Deliveries go in bursts, all at once (as many webhooks in flight), each burst after the
# page took the one before; no two deliveries of a burst touch the same alert, so their
# order does not matter. After a burst that took the history past the limit, the source
# pauses until the page has continued as new: Temporal refuses a continue-as-new while
# signals keep arriving during its workflow task, and a page under a ceaseless stream
# continues only in a pause (temporalio/temporal#1289).
BURST = 300
PAUSE = 0.1
HISTORY_LIMIT = 700
# Bursts after which everything resolves at once (the page resolves), then fires again
# (the page flaps: reopens within its flap window and escalates again).
FLAP_AFTER = (7, 20, 37)
CYCLING = 5


@dataclass
class Source:
    """An alert source that remembers what it sent, to check the page against: one steady
    alert, alerts that fire and resolve a burst later, a few that flap, resends."""

    status: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    bursts: int = 0
    fresh: list[str] = field(default_factory=list)

    def first(self) -> list[Alert]:
        return self._send({"steady": "firing", **{f"c{k}": "firing" for k in range(CYCLING)}})[0]

    def burst(self) -> list[list[Alert]]:
        """The next burst's deliveries, one alert each (a flap's are bursts of their own)."""
        self.bursts += 1
        left = DELIVERIES - self.sent
        if left == 1:
            return self._send({"last": "firing"})  # the page took them all once it shows this
        if self.bursts - 1 in FLAP_AFTER:
            return self._send({fp: "resolved" for fp, s in self.status.items() if s == "firing"})
        if self.bursts - 2 in FLAP_AFTER:
            return self._send({"steady": "firing"})
        size = min(BURST, left - 1)
        changes = [{fp: "resolved"} for fp in self.fresh]
        changes += [
            {f"c{k}": "resolved" if self.status[f"c{k}"] == "firing" else "firing"}
            for k in range(CYCLING)
        ]
        self.fresh = [f"n{self.sent + n}" for n in range(max(0, (size - len(changes)) // 2))]
        changes += [{fp: "firing"} for fp in self.fresh]
        changes += [{"steady": "firing"}] * (size - len(changes))  # resends, nothing new
        deliveries: list[list[Alert]] = []
        for change in changes[:size]:
            deliveries += self._send(change)
        return deliveries

    def _send(self, changes: dict[str, str]) -> list[list[Alert]]:
        self.status.update(changes)
        self.sent += 1
        return [
            [
                Alert(fingerprint=fp, status=s, summary=f"{fp} on gitserver")
                for fp, s in changes.items()
            ]
        ]  # type: ignore[arg-type]

    def firing(self) -> dict[str, str]:
        return {fp: s for fp, s in self.status.items() if s == "firing"}


@dataclass
class Desk:
    env: WorkflowEnvironment
    store: MemoryStore
    notifier: RecordingNotifier
    task_queue: str


@pytest.fixture
async def desk(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    config = tmp_path / "tocsin.yaml"
    config.write_text(CONFIG)
    store = MemoryStore()
    notifier = RecordingNotifier()
    task_queue = f"months-{uuid.uuid4()}"
    async with build_worker(
        time_skipping_env.client,
        Settings(),
        ConfigFile(config),
        store=store,
        notifiers={"console": notifier},
        task_queue=task_queue,
    ):
        yield Desk(time_skipping_env, store, notifier, task_queue)


async def runs(client: Client, workflow_id: str) -> list[WorkflowExecutionDescription]:
    """Each run of a workflow that continued as new, oldest first."""
    found: list[WorkflowExecutionDescription] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        found.append(await handle.describe())
        async for first in handle.fetch_history_events():
            started = first.workflow_execution_started_event_attributes
            break
        if not started.continued_execution_run_id:
            return list(reversed(found))
        run_id = started.continued_execution_run_id


async def ask(
    page: WorkflowHandle[PageWorkflow, PageState], check: Callable[[PageState], bool]
) -> PageState:
    """The page's state once ``check`` holds. The test server may leave a query that races
    a workflow task unanswered: each try is short, and tried again."""
    for _ in range(100):
        try:
            state = await page.query(PageWorkflow.get_state, rpc_timeout=timedelta(seconds=3))
        except RPCError:
            continue
        if check(state):
            return state
        await asyncio.sleep(0.1)
    pytest.fail("the page never reached the expected state")


async def deliver(
    page: WorkflowHandle[PageWorkflow, PageState],
    deliveries: list[list[Alert]],
    limit: int = HISTORY_LIMIT,
) -> None:
    """One burst, then a pause; past the history limit, until the page has continued as new."""
    await asyncio.gather(
        *(
            page.signal(PageWorkflow.receive_alerts, AlertBatch(source="alertmanager", alerts=d))
            for d in deliveries
        )
    )
    await asyncio.sleep(PAUSE)
    described = await page.describe()
    if described.history_length <= limit:
        return
    for _ in range(600):
        await asyncio.sleep(0.05)
        if (await page.describe()).run_id != described.run_id:
            return
    pytest.fail(f"the page did not continue as new ({described.history_length} events)")


class TestTwentyThousandDeliveries:
    async def test_one_page_lives_through_them(self, desk: Desk) -> None:
        """Continues as new, history bounded, counts right, archive whole, escalation on time."""
        client = desk.env.client
        source = Source()
        key = f"months-{uuid.uuid4().hex[:8]}"
        workflow_id = f"page-{key}"
        await client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary="DiskFull on gitserver",
                source="alertmanager",
                team_members=["alice", "dana"],
                flap_window_seconds=3600,
                history_limit=HISTORY_LIMIT,
            ),
            id=workflow_id,
            task_queue=desk.task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="alertmanager", alerts=source.first())],
        )
        page = client.get_workflow_handle_for(PageWorkflow.run, workflow_id)
        started = time.monotonic()
        while source.sent < DELIVERIES:
            await deliver(page, source.burst())
        state = await ask(page, lambda s: s.timeline[-1].text.startswith("Alert: last on"))
        took = time.monotonic() - started
        print(f"\n{source.sent} deliveries in {took:.1f} s, {state.continued} continue-as-new")  # noqa: T201

        # Still running and answering; continued as new many times, every run short.
        chain = await runs(client, workflow_id)
        assert chain[-1].status == WorkflowExecutionStatus.RUNNING
        assert len(chain) == state.continued + 1
        assert state.continued > 10
        assert max(r.history_length for r in chain) < 10_240, "Temporal warns from 10,240"

        # What the page says matches what the source sent.
        assert state.status == PageStatus.triggered
        assert state.flaps == len(FLAP_AFTER)
        assert state.alerts_firing == len(source.firing())
        held = await alerts_held(page)
        archived = desk.store.alerts.get(workflow_id, {})
        assert state.alerts_archived == len(archived) > 0
        assert state.alerts_total == len(held) + len(archived)
        assert len(held) == len({a.fingerprint for a in held}), "no alert held twice"
        assert {a.fingerprint: a.status for a in held if a.status == "firing"} == source.firing()
        assert {a.fingerprint for a in held} | {a.fingerprint for a in archived.values()} == set(
            source.status
        ), "every alert is held or archived"
        assert all(a.status == "resolved" for a in archived.values())

        # The archive holds the spilled timeline, numbered without a gap from the opening;
        # the page holds the rest.
        timeline = desk.store.timelines[workflow_id]
        assert state.timeline_dropped == 0
        assert sorted(timeline) == list(range(state.timeline_archived))
        assert timeline[0].kind == "triggered"
        whole = [timeline[n] for n in sorted(timeline)]
        while True:
            wanted = TimelineSlice(subject=workflow_id, offset=len(whole), limit=1000)
            part = await page.query(PageWorkflow.get_timeline, wanted)
            assert part.archived == state.timeline_archived
            assert part.offset == len(whole)
            whole += part.entries
            if len(whole) >= part.total:
                break
        assert whole[-1] == state.timeline[-1]
        assert [e.kind for e in whole].count("flap") == len(FLAP_AFTER)
        assert sum(e.kind == "alert" for e in whole) > DELIVERIES / 2

        # The last flap restarted the escalation in a run long gone; its timer fires on time.
        due = state.next_escalation_at
        assert due is not None
        step_started = next(e.at for e in reversed(whole) if e.kind == "step")
        assert due == step_started + timedelta(hours=6)
        assert chain[-1].start_time is not None
        assert step_started < chain[-1].start_time, "a continue-as-new since the step began"
        now = await desk.env.get_current_time()
        await desk.env.sleep(due - now + timedelta(seconds=30))
        state = await ask(page, lambda s: s.step == 2 and bool(s.notified))
        timeout = next(e for e in reversed(state.timeline) if e.kind == "timeout")
        assert timedelta(0) <= timeout.at - due < timedelta(seconds=1)
        assert state.notified[-1].person == "dana"
        assert timedelta(0) <= state.notified[-1].at - due < timedelta(seconds=5)
        await page.terminate("test finished")


async def alerts_held(page: WorkflowHandle[PageWorkflow, PageState]) -> list[Alert]:
    """Every alert the page holds, read through ``get_alerts`` a slice at a time."""
    held: list[Alert] = []
    while True:
        chunk = await page.query(PageWorkflow.get_alerts, AlertQuery(offset=len(held), limit=1000))
        held += chunk.alerts
        if len(held) >= chunk.total:
            return held
