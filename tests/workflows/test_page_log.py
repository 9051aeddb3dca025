"""The page log on the time-skipping server: a page's opening, escalation, acknowledgement,
resolution and flaps land in its row of the SQL store, as the noise report reads them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from tests.fakes.notifier import RecordingNotifier
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.models import Alert, AlertBatch, PageActionInput, PageInput, PageState
from workflows.page import PageWorkflow
from workflows.page_log import PageLogEntry

CONFIG = """
people:
  alice: {name: Alice, contact: [console]}
  bob: {name: Bob, contact: [console]}
teams:
  delivery:
    members: [alice, bob]
    escalation_policy: delivery
escalation_policies:
  delivery:
    steps:
      - {targets: ["person:alice"], ack_timeout: 10m}
      - {targets: ["person:bob"], ack_timeout: 10m}
"""

EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


class Desk:
    """A page worker whose store is SQLite in a temporary file; the page log over it."""

    def __init__(self, env: WorkflowEnvironment, task_queue: str, log: SqlPageLog) -> None:
        self.env, self.task_queue, self.log = env, task_queue, log

    async def open(
        self, key: str, alert: Alert, flap_seconds: float = 0
    ) -> WorkflowHandle[PageWorkflow, PageState]:
        return await self.env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team="delivery",
                summary=alert.summary,
                source="alertmanager",
                service="web",
                flap_window_seconds=flap_seconds,
            ),
            id=f"page-{key}",
            task_queue=self.task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="alertmanager", alerts=[alert])],
        )

    async def row(self, key: str) -> PageLogEntry:
        rows = [r for r in await self.log.list_pages(*EVER) if r.page_id == key]
        assert len(rows) == 1, rows
        return rows[0]


@pytest.fixture
async def desk(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    config = tmp_path / "tocsin.yaml"
    config.write_text(CONFIG)
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path}/tocsin.db")
    task_queue = f"log-{uuid.uuid4()}"
    notifier = RecordingNotifier()
    worker = build_worker(
        time_skipping_env.client,
        Settings(),
        ConfigFile(config),
        store=store,
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    )
    async with worker:
        yield Desk(time_skipping_env, task_queue, SqlPageLog(store))
    await store.close()


def firing(rule: str, status: str = "firing") -> Alert:
    return Alert(
        fingerprint=rule,
        status="firing" if status == "firing" else "resolved",
        summary=f"{rule} on web-1",
        labels={"alertname": rule},
    )


class TestPageLog:
    async def test_open_escalate_ack_resolve_land_in_one_row(self, desk: Desk) -> None:
        """A page that escalated to step 2 and was acknowledged and resolved by bob."""
        key = f"latency-{uuid.uuid4().hex[:6]}"
        handle = await desk.open(key, firing("HighLatency"))
        await desk.env.sleep(timedelta(minutes=11))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="bob"))
        state = await handle.result()
        row = await desk.row(key)
        assert (row.rule, row.source, row.service, row.team) == (
            "HighLatency",
            "alertmanager",
            "web",
            "delivery",
        )
        assert row.opened_at == state.created_at
        assert (row.steps_reached, row.acked_by, row.resolved_by) == (2, "bob", "bob")
        assert row.acked_at == state.acknowledged_at
        assert row.resolved_at == state.resolved_at
        assert not row.auto_resolved_unacked

    async def test_flap_stays_on_the_row_and_self_resolution_counts(self, desk: Desk) -> None:
        """Alerts that resolve, fire again within the window and resolve again: one row,
        one flap, resolved by its source with nobody having acknowledged it."""
        key = f"disk-{uuid.uuid4().hex[:6]}"
        handle = await desk.open(key, firing("DiskFull"), flap_seconds=300)
        await desk.env.sleep(timedelta(minutes=1))
        gone = AlertBatch(source="alertmanager", alerts=[firing("DiskFull", "resolved")])
        back = AlertBatch(source="alertmanager", alerts=[firing("DiskFull")])
        await handle.signal(PageWorkflow.receive_alerts, gone)
        await desk.env.sleep(timedelta(minutes=2))
        await handle.signal(PageWorkflow.receive_alerts, back)
        await desk.env.sleep(timedelta(minutes=1))
        await handle.signal(PageWorkflow.receive_alerts, gone)
        await handle.result()
        row = await desk.row(key)
        assert (row.flaps, row.steps_reached, row.acked_by) == (1, 1, None)
        assert row.auto_resolved_unacked
        assert row.resolved_by == "alertmanager"
