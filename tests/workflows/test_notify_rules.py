"""People's notification rules on the time-skipping server: each method at its time into
the step until someone acknowledges; a failing method hands over at once; a step nobody
can be reached at escalates now."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contacts import contact_label
from activities.errors import Unavailable
from tests.fakes.notifier import RecordingNotifier
from tests.workflows.page_desk import page_worker, terminate_open
from workflows.config import Person
from workflows.models import PageActionInput, PageInput, PageState
from workflows.page import PageWorkflow

SMS = "json://127.0.0.1:9/sms"
VOICE = "json://127.0.0.1:9/voice"
BROKEN = "json://127.0.0.1:9/broken"
CONFIG = f"""
timezone: UTC
people:
  ann:
    name: Ann
    notify:
      - {{after: 0m, via: console}}
      - {{after: 2m, via: "{SMS}"}}
      - {{after: 5m, via: "{VOICE}"}}
  ben:
    name: Ben
    notify: [{{after: 0m, via: "{BROKEN}"}}, {{after: 5m, via: console}}]
  gone: {{name: Gone, contact: ["{BROKEN}"]}}
  bob: {{name: Bob, contact: [console]}}
teams:
  web: {{members: [ann, bob], escalation_policy: web}}
  api: {{members: [ben, bob], escalation_policy: api}}
  old: {{members: [gone, bob], escalation_policy: old}}
escalation_policies:
  web:
    steps:
      - {{targets: ["person:ann"], ack_timeout: 10m}}
      - {{targets: ["person:bob"], ack_timeout: 10m}}
  api:
    steps:
      - {{targets: ["person:ben"], ack_timeout: 10m}}
  old:
    steps:
      - {{targets: ["person:gone"], ack_timeout: 10m}}
      - {{targets: ["person:bob"], ack_timeout: 10m}}
"""


@dataclass
class Desk:
    env: WorkflowEnvironment
    task_queue: str
    handles: list[WorkflowHandle[PageWorkflow, PageState]] = field(default_factory=list)

    async def page(self, team: str) -> WorkflowHandle[PageWorkflow, PageState]:
        key = uuid.uuid4().hex[:12]
        handle = await self.env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team=team, summary="checkout 500s", team_members=["bob"]),
            id=f"page-{key}",
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle


@pytest.fixture
async def desk(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    config = tmp_path / "tocsin.yaml"
    config.write_text(CONFIG)
    notifier = RecordingNotifier()
    notifier.failures[BROKEN] = Unavailable("connection refused")
    async with page_worker(time_skipping_env, config, notifier) as task_queue:
        found = Desk(time_skipping_env, task_queue)
        yield found
        await terminate_open(found.handles)


async def sent(handle: WorkflowHandle[PageWorkflow, PageState]) -> list[tuple[str, str, float]]:
    """(person, method, minutes into the page) of every notification that went out."""
    state = await handle.query(PageWorkflow.get_state)
    return [
        (n.person, n.method, round((n.at - state.created_at).total_seconds() / 60, 1))
        for n in state.notified
        if n.ok
    ]


class TestRules:
    async def test_each_method_at_its_time_then_the_next_step(self, desk: Desk) -> None:
        handle = await desk.page("web")
        await desk.env.sleep(timedelta(minutes=11))
        assert await sent(handle) == [
            ("ann", "console", 0.0),
            ("ann", contact_label(SMS), 2.0),
            ("ann", contact_label(VOICE), 5.0),
            ("bob", "console", 10.0),
        ]

    async def test_stopped_by_the_ack(self, desk: Desk) -> None:
        handle = await desk.page("web")
        await desk.env.sleep(timedelta(minutes=3))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="ann"))
        await desk.env.sleep(timedelta(minutes=30))
        assert await sent(handle) == [("ann", "console", 0.0), ("ann", contact_label(SMS), 2.0)]

    async def test_a_failing_method_hands_over_at_once(self, desk: Desk) -> None:
        """Ben's first rule fails: his 5-minute rule goes out at once, not at 5 minutes."""
        handle = await desk.page("api")
        await desk.env.sleep(timedelta(minutes=1))
        # After the failing method's own retries (seconds), not at 5 minutes.
        [(person, method, minutes)] = await sent(handle)
        assert (person, method) == ("ben", "console")
        assert minutes < 0.5


class TestUnreachableStep:
    async def test_nobody_reachable_escalates_now(self, desk: Desk) -> None:
        """Gone's only method fails: Bob (step 2) is paged at once, not after 10 minutes."""
        handle = await desk.page("old")
        await desk.env.sleep(timedelta(minutes=1))
        [(person, method, minutes)] = await sent(handle)
        assert (person, method) == ("bob", "console")
        assert minutes < 0.5
        state = await handle.query(PageWorkflow.get_state)
        assert "Nobody at step 1 could be reached: escalating now" in [
            e.text for e in state.timeline
        ]


class TestConfig:
    def test_rules_in_order_of_after(self) -> None:
        with pytest.raises(ValidationError, match="in order of 'after'"):
            Person.model_validate(
                {
                    "name": "X",
                    "notify": [
                        {"after": "5m", "via": "console"},
                        {"after": "0m", "via": "console"},
                    ],
                }
            )

    def test_unknown_method(self) -> None:
        with pytest.raises(ValidationError, match="unknown contact method 'pigeon'"):
            Person.model_validate({"name": "X", "notify": [{"after": "0m", "via": "pigeon"}]})
