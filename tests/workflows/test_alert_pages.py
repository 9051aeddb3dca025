"""Alert pages on the time-skipping server: one page per group, self-resolving, flapping."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.alertmanager import AmWebhook
from starters.events import Event
from starters.intake import AlertIntake
from tests.conftest import start_time_skipping
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows import search
from workflows.models import (
    Alert,
    AlertBatch,
    AlertQuery,
    PageActionInput,
    PageInput,
    PageState,
    PageStatus,
)
from workflows.page import PageWorkflow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

CONFIG = """
people:
  alice: {name: Alice, contact: [console], low_urgency_contact: ["json://127.0.0.1:9/quiet"]}
  dana: {name: Dana, contact: [console]}
teams:
  delivery:
    members: [alice, dana]
    escalation_policy: delivery
    low_urgency_policy: sla
escalation_policies:
  delivery:
    steps:
      - {targets: ["person:alice"], ack_timeout: 10m}
      - {targets: ["person:dana"], ack_timeout: 5m}
  sla:
    urgency: low
    steps:
      - {targets: ["person:alice"], ack_timeout: 24h}
services:
  gitserver: {team: delivery, integration_key: "${GIT_KEY}"}
routes:
  - {match: {service: gitserver}, service: gitserver}
  - {default: true, team: delivery}
alerting:
  flap_window: 5m
"""


def fixture(name: str, group: str) -> dict[str, Any]:
    """A captured Alertmanager body, moved to its own group so tests do not share pages."""
    body: dict[str, Any] = json.loads((FIXTURES / f"alertmanager-0.25-{name}.json").read_text())
    body["groupKey"] = f"{body['groupKey']}-{group}"
    return body


@dataclass
class Alerts:
    env: WorkflowEnvironment
    intake: AlertIntake
    notifier: RecordingNotifier
    group: str
    pages: set[str] = field(default_factory=set)

    async def deliver(self, body: dict[str, Any]) -> WorkflowHandle[Any, PageState]:
        delivered = await self.intake.alertmanager(AmWebhook.model_validate(body))
        return await self._current(delivered.page_id)

    async def event(self, body: dict[str, Any]) -> tuple[str, WorkflowHandle[Any, PageState]]:
        dedup_key, delivered = await self.intake.event(Event.model_validate(body))
        return dedup_key, await self._current(delivered.page_id)

    async def _current(self, page_id: str) -> WorkflowHandle[Any, PageState]:
        """A handle on the page's current run (so result() waits for that run)."""
        workflow_id = f"page-{page_id}"
        self.pages.add(workflow_id)
        run_id = (await self.env.client.get_workflow_handle(workflow_id).describe()).run_id
        return self.env.client.get_workflow_handle_for(PageWorkflow.run, workflow_id, run_id=run_id)

    async def outlast_flap_window(self, handle: WorkflowHandle[Any, PageState]) -> PageState:
        """Let the 5-minute flap window pass (skipped time), then the page's final state.

        ``result()`` on a handle looked up by id does not skip time by itself here.
        """
        await self.env.sleep(timedelta(minutes=5, seconds=30))
        return await handle.result()

    async def close(self) -> None:
        """Terminate pages a test left open so they cannot hold up the shared test server."""
        for workflow_id in self.pages:
            handle = self.env.client.get_workflow_handle(workflow_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")

    def fixture(self, name: str) -> dict[str, Any]:
        return fixture(name, self.group)


async def settled(
    handle: WorkflowHandle[Any, PageState], check: Callable[[PageState], bool]
) -> PageState:
    """The page's state once ``check`` holds (signals are applied by the next workflow task)."""
    for _ in range(200):
        state: PageState = await handle.query(PageWorkflow.get_state)
        if check(state):
            return state
        await asyncio.sleep(0.02)
    pytest.fail(f"page never reached the expected state: {state.timeline[-3:]}")


@pytest.fixture
async def alerts(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Alerts]:
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    config = ConfigFile(path)
    notifier = RecordingNotifier()
    task_queue = f"alerts-{uuid.uuid4()}"
    worker = build_worker(
        time_skipping_env.client,
        Settings(),
        config,
        store=MemoryStore(),
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    )
    intake = AlertIntake(
        time_skipping_env.client, config, task_queue, environ={"GIT_KEY": "k" * 32}
    )
    async with worker:
        harness = Alerts(time_skipping_env, intake, notifier, uuid.uuid4().hex[:8])
        yield harness
        await harness.close()


class TestAlertmanagerGroups:
    async def test_group_is_one_page_that_resolves_itself(self, alerts: Alerts) -> None:
        """Two alerts page once; a third joins without a new page; all resolved closes the page."""
        handle = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        state = await settled(handle, lambda s: len(s.notified) == 1)
        assert (state.service, state.severity, state.urgency) == ("gitserver", "critical", "high")
        assert state.timeline[0].text.endswith("(2 alerts firing)")

        again = await alerts.deliver(alerts.fixture("firing-3rd-alert-joins"))
        assert again.id == handle.id
        state = await settled(handle, lambda s: len(s.alerts) == 3)
        assert state.timeline[-1].text == "Alert: disk full on gitserver-2 firing (3 firing)"

        await alerts.deliver(alerts.fixture("resolved"))
        state = await settled(handle, lambda s: s.status == PageStatus.resolved)
        assert state.resolved_by == "alertmanager"
        assert [e.text for e in state.timeline[-2:]] == [
            "3 alerts: disk full on gitserver-0; disk full on gitserver-1; disk full on gitserver-2 resolved (0 firing)",
            "All alerts resolved",
        ]
        # Nobody else was paged: one notification for the whole group.
        assert len(alerts.notifier.sent) == 1
        # The page closes for good once the flap window has passed quietly.
        result = await alerts.outlast_flap_window(handle)
        assert result.status == PageStatus.resolved
        assert (result.resolved_at - result.created_at) < timedelta(minutes=1)

    async def test_partial_resolve_keeps_it_open_and_escalating(self, alerts: Alerts) -> None:
        """One of two alerts resolving leaves the page triggered; the TM is still paged at 10 min."""
        handle = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        await settled(handle, lambda s: len(s.notified) == 1)
        partial = alerts.fixture("firing-2-alerts")
        partial["alerts"][0]["status"] = "resolved"
        partial["alerts"][0]["endsAt"] = "2026-11-22T14:05:00Z"
        await alerts.deliver(partial)
        state = await settled(handle, lambda s: any(a.status == "resolved" for a in s.alerts))
        assert state.status == PageStatus.triggered
        assert state.timeline[-1].text == "Alert: disk full on gitserver-0 resolved (1 firing)"
        await alerts.env.sleep(timedelta(minutes=10, seconds=5))
        state = await handle.query(PageWorkflow.get_state)
        assert [(n.person, n.step) for n in state.notified] == [("alice", 1), ("dana", 2)]

    async def test_refire_within_flap_window_reopens_the_same_page(self, alerts: Alerts) -> None:
        """Resolved, then firing again 2 min later: the same page reopens and escalates again."""
        handle = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        await settled(handle, lambda s: len(s.notified) == 1)
        await alerts.deliver(alerts.fixture("resolved"))
        await settled(handle, lambda s: s.status == PageStatus.resolved)
        await alerts.env.sleep(timedelta(minutes=2))
        again = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        assert again.id == handle.id
        state = await settled(
            handle, lambda s: s.status == PageStatus.triggered and len(s.notified) == 2
        )
        assert state.flaps == 1
        assert "Fired again within 5m of resolving (flap 1): reopened, escalating again" in [
            e.text for e in state.timeline
        ]
        assert state.resolved_by is None
        # One workflow run throughout: the reopened page is the same page.
        description = await handle.describe()
        assert (
            description.run_id
            == (await alerts.env.client.get_workflow_handle(handle.id).describe()).run_id
        )

    async def test_acknowledged_page_reopens_acknowledged(self, alerts: Alerts) -> None:
        """A flap on a page someone already took does not page them again."""
        handle = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        await settled(handle, lambda s: len(s.notified) == 1)
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="alice"))
        await alerts.deliver(alerts.fixture("resolved"))
        await settled(handle, lambda s: s.status == PageStatus.resolved)
        await alerts.deliver(alerts.fixture("firing-3rd-alert-joins"))
        state = await settled(handle, lambda s: s.flaps == 1)
        assert state.status == PageStatus.acknowledged
        assert "still acknowledged by alice" in state.timeline[-1].text
        await alerts.env.sleep(timedelta(minutes=30))
        assert len((await handle.query(PageWorkflow.get_state)).notified) == 1

    async def test_refire_after_the_window_opens_a_new_page(self, alerts: Alerts) -> None:
        """Firing again after the flap window is a new page: a fresh run, fresh timeline."""
        handle = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        await settled(handle, lambda s: len(s.notified) == 1)
        await alerts.deliver(alerts.fixture("resolved"))
        first = await alerts.outlast_flap_window(handle)
        first_run = (await handle.describe()).run_id
        assert first.status == PageStatus.resolved

        again = await alerts.deliver(alerts.fixture("firing-2-alerts"))
        fresh = await settled(again, lambda s: len(s.notified) == 1)
        assert (await again.describe()).run_id != first_run
        assert fresh.flaps == 0
        assert fresh.status == PageStatus.triggered
        assert len(fresh.timeline) < len(first.timeline)
        assert len(alerts.notifier.sent) == 2

    async def test_resolved_delivery_for_no_page_starts_nothing(self, alerts: Alerts) -> None:
        """A 'resolved' for a group Tocsin never saw firing is ignored, not turned into a page."""
        delivered = await alerts.intake.alertmanager(
            AmWebhook.model_validate(alerts.fixture("resolved"))
        )
        assert delivered.ignored
        handle = alerts.env.client.get_workflow_handle(f"page-{delivered.page_id}")
        with pytest.raises(Exception, match="not found"):
            await handle.describe()

    async def test_unrouted_group_is_flagged(self, alerts: Alerts) -> None:
        """A group no route matches goes to the default route, and the page says so."""
        body = alerts.fixture("firing-2-alerts")
        body["commonLabels"]["service"] = body["groupLabels"]["service"] = "mystery"
        handle = await alerts.deliver(body)
        state = await settled(handle, lambda s: len(s.notified) == 1)
        assert state.unrouted
        assert state.service is None
        assert any(
            e.kind == "unrouted" and "No route matched labels alertname=DiskFull" in e.text
            for e in state.timeline
        )

    async def test_warning_is_low_urgency_on_quiet_contacts(self, alerts: Alerts) -> None:
        """A warning escalates on the slow policy and reaches people on their quiet methods."""
        body = alerts.fixture("firing-2-alerts")
        body["commonLabels"]["severity"] = "warning"
        for alert in body["alerts"]:
            alert["labels"]["severity"] = "warning"
        handle = await alerts.deliver(body)
        state = await settled(handle, lambda s: len(s.notified) == 1)
        assert (state.urgency, state.policy, state.severity) == ("low", "sla", "warning")
        assert state.notified[0].method.startswith("json://127.0.0.1:9/")
        await alerts.env.sleep(timedelta(hours=1))
        assert len((await handle.query(PageWorkflow.get_state)).notified) == 1


class TestEvents:
    async def test_trigger_dedup_acknowledge_resolve(self, alerts: Alerts) -> None:
        """Events with one dedup key act on one page: trigger, retrigger, acknowledge, resolve."""
        trigger = {
            "routing_key": "k" * 32,
            "event_action": "trigger",
            "dedup_key": f"disk-{alerts.group}",
            "client": "uptime",
            "payload": {"summary": "gitserver down", "source": "probe-1", "severity": "critical"},
        }
        key, handle = await alerts.event(trigger)
        assert key == f"disk-{alerts.group}"
        await settled(handle, lambda s: len(s.notified) == 1)
        _, same = await alerts.event(trigger)
        assert same.id == handle.id
        await alerts.event({**trigger, "event_action": "acknowledge", "payload": None})
        state = await settled(handle, lambda s: s.status == PageStatus.acknowledged)
        # The integration whose key sent the acknowledgement, not the event's ``client``.
        assert state.acknowledged_by == "events:gitserver"
        assert "Acknowledged by events:gitserver (integration key)" in [
            e.text for e in state.timeline
        ]
        await alerts.event({"routing_key": "k" * 32, "event_action": "resolve", "dedup_key": key})
        state = await settled(handle, lambda s: s.status == PageStatus.resolved)
        assert state.resolved_by == "events"
        assert len(alerts.notifier.sent) == 1

    async def test_trigger_without_dedup_key_gets_one(self, alerts: Alerts) -> None:
        """A bare trigger gets a generated dedup key that later events can use."""
        key, handle = await alerts.event(
            {
                "routing_key": "k" * 32,
                "event_action": "trigger",
                "payload": {"summary": "x", "source": "y", "severity": "error"},
            }
        )
        assert len(key) == 32
        await settled(handle, lambda s: len(s.notified) == 1)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


class TestRetriggers:
    """Deliveries to an open page update it: the newest summary, the most severe firing
    alert's severity, and that severity's urgency."""

    async def test_event_retrigger_takes_new_summary_and_higher_severity(
        self, alerts: Alerts
    ) -> None:
        trigger = {
            "routing_key": "k" * 32,
            "event_action": "trigger",
            "dedup_key": f"disk-{alerts.group}",
            "payload": {"summary": "disk 80% on gitserver-0", "source": "h", "severity": "warning"},
        }
        _, handle = await alerts.event(trigger)
        state = await settled(handle, lambda s: len(s.notified) == 1)
        assert (state.summary, state.severity, state.urgency) == (
            "disk 80% on gitserver-0",
            "warning",
            "low",
        )

        worse = {"summary": "disk 99% on gitserver-0", "source": "h", "severity": "critical"}
        _, same = await alerts.event({**trigger, "payload": worse})
        assert same.id == handle.id
        state = await settled(handle, lambda s: s.severity == "critical")
        assert (state.summary, state.severity, state.urgency) == (
            "disk 99% on gitserver-0",
            "critical",
            "high",
        )
        texts = [e.text for e in state.timeline]
        assert "Summary now: disk 99% on gitserver-0" in texts
        assert "Severity critical, high urgency (was warning, low urgency)" in texts
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(search.SEVERITY) == "critical"

    async def test_lower_retrigger_keeps_the_most_severe_firing(self, alerts: Alerts) -> None:
        """One alert of a group fires again less severely while the other stays critical:
        the page stays critical; when the critical one resolves, the page follows the rest."""
        body = alerts.fixture("firing-2-alerts")
        body["alerts"][0]["labels"]["severity"] = "critical"
        body["alerts"][1]["labels"]["severity"] = "warning"
        handle = await alerts.deliver(body)
        state = await settled(handle, lambda s: len(s.notified) == 1)
        assert (state.severity, state.urgency) == ("critical", "high")

        lower = json.loads(json.dumps(body))
        lower["alerts"] = [lower["alerts"][1]]
        lower["alerts"][0]["labels"]["severity"] = "info"
        await alerts.deliver(lower)
        await alerts.env.sleep(timedelta(seconds=1))
        state = await settled(
            handle, lambda s: s.alerts_total == 2 and _severity_of(s, 1) == "info"
        )
        assert (state.severity, state.urgency) == ("critical", "high")

        resolved = json.loads(json.dumps(body))
        resolved["alerts"] = [resolved["alerts"][0]]
        resolved["alerts"][0]["status"] = "resolved"
        await alerts.deliver(resolved)
        state = await settled(handle, lambda s: s.severity == "info")
        assert (state.severity, state.urgency, state.status) == (
            "info",
            "low",
            PageStatus.triggered,
        )

    async def test_retrigger_before_the_page_opened_counts(self, tmp_path: Path) -> None:
        """A re-trigger that lands in the page's first workflow task, with the start signal,
        still updates it: both are in before any worker serves the queue. (On a server of
        its own: a page on a queue no worker serves yet holds up the shared server's clock.)"""
        path = tmp_path / "tocsin.yaml"
        path.write_text(CONFIG)
        env = await start_time_skipping()
        try:
            task_queue = f"alerts-{uuid.uuid4()}"
            first = Alert(
                fingerprint="disk", status="firing", summary="disk 80%", severity="warning"
            )
            worse = first.model_copy(update={"summary": "disk 99%", "severity": "critical"})
            handle = await env.client.start_workflow(
                PageWorkflow.run,
                PageInput(
                    key="early",
                    team="delivery",
                    summary="disk 80%",
                    severity="warning",
                    urgency="low",
                    policy="sla",
                ),
                id="page-early",
                task_queue=task_queue,
                start_signal="receive_alerts",
                start_signal_args=[AlertBatch(source="events", alerts=[first])],
            )
            urgencies: dict[str, Literal["high", "low"]] = {"warning": "low", "critical": "high"}
            retrigger = AlertBatch(
                source="events", alerts=[worse], summary="disk 99%", urgencies=urgencies
            )
            await handle.signal(PageWorkflow.receive_alerts, retrigger)
            worker = build_worker(
                env.client,
                Settings(),
                ConfigFile(path),
                store=MemoryStore(),
                notifiers={"console": RecordingNotifier(), "apprise": RecordingNotifier()},
                task_queue=task_queue,
            )
            async with worker:
                state = await settled(handle, lambda s: bool(s.timeline))
                await handle.terminate("test finished")
            assert (state.summary, state.severity, state.urgency) == (
                "disk 99%",
                "critical",
                "high",
            )
        finally:
            await env.shutdown()


def _severity_of(state: PageState, index: int) -> str | None:
    return state.alerts[index].severity


class TestStorm:
    async def test_thousands_of_alerts_on_one_page_stay_workable(self, alerts: Alerts) -> None:
        """5,000 alerts into one group: one page, every alert kept, and it can still be acked."""
        base = alerts.fixture("firing-2-alerts")
        template = base["alerts"][0]
        handle = None
        for batch in range(50):
            body = {**base, "alerts": []}
            for i in range(100):
                n = batch * 100 + i
                labels = {**template["labels"], "instance": f"gitserver-{n}"}
                body["alerts"].append(
                    {
                        **template,
                        "labels": labels,
                        "fingerprint": f"fp{n:05d}",
                        "annotations": {
                            "summary": f"disk full on gitserver-{n}",
                            "runbook_url": "https://example.com/r",
                        },
                    }
                )
            handle = await alerts.deliver(body)
        assert handle is not None
        state = await settled(handle, lambda s: s.alerts_total == 5000)
        assert state.alerts_firing == 5000
        assert len(state.alerts) == 100, "the state view stays small"
        assert len(alerts.notifier.sent) == 1
        seen: list[str] = []
        while len(seen) < 5000:
            chunk = await handle.query(
                PageWorkflow.get_alerts, AlertQuery(offset=len(seen), limit=1000)
            )
            assert chunk.total == 5000
            seen += [a.fingerprint for a in chunk.alerts]
        assert seen == [f"fp{n:05d}" for n in range(5000)]
        acked = await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="alice"))
        assert acked.status == PageStatus.acknowledged
