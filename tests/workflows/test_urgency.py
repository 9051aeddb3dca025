"""Urgency on the time-skipping server: a low-urgency step outside working hours waits
for them (a day's support SLA wakes nobody at 3 am); a policy's ``urgency: low`` makes its
pages low urgency; high urgency never waits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contacts import contact_label
from tests.fakes.notifier import RecordingNotifier
from tests.workflows.page_desk import page_worker, terminate_open
from workflows.models import PageActionInput, PageInput, PageState, PageStatus
from workflows.page import PageWorkflow
from workflows.page_actions import ReassignInput

# Working hours are a one-hour window every day, {start} UTC: half a day after the test
# server's clock starts, so a page opened at once is outside them.
CONFIG = """
timezone: UTC
people:
  sam: {{name: Sam, contact: [console], low_urgency_contact: ["json://127.0.0.1:9/quiet"]}}
  kim: {{name: Kim, contact: [console]}}
teams:
  support:
    members: [sam, kim]
    escalation_policy: support
    low_urgency_policy: support-quiet
    working_hours:
      days: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]
      start: "{start}"
      end: "{end}"
  tickets: {{members: [sam, kim], escalation_policy: tickets}}
working_hours:
  days: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]
  start: "{start}"
  end: "{end}"
escalation_policies:
  support:
    steps:
      - {{targets: ["person:sam"], ack_timeout: 10m}}
      - {{targets: ["person:kim"], ack_timeout: 10m}}
  support-quiet:
    steps:
      - {{targets: ["person:sam"], ack_timeout: 4h}}
      - {{targets: ["person:kim"], ack_timeout: 4h}}
  tickets:
    urgency: low
    steps:
      - {{targets: ["person:sam"], ack_timeout: 4h}}
"""

# How the timeline names Sam's quieter method (an Apprise URL's secrets never shown).
QUIET = contact_label("json://127.0.0.1:9/quiet")


@dataclass
class Desk:
    env: WorkflowEnvironment
    notifier: RecordingNotifier
    task_queue: str
    opens: datetime
    handles: list[WorkflowHandle[PageWorkflow, PageState]] = field(default_factory=list)

    async def page(
        self, team: str, urgency: Literal["high", "low"], policy: str | None = None
    ) -> WorkflowHandle[PageWorkflow, PageState]:
        key = uuid.uuid4().hex[:12]
        handle = await self.env.client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=key,
                team=team,
                summary="customer cannot export invoices",
                urgency=urgency,
                policy=policy,
                team_members=["sam", "kim"],
            ),
            id=f"page-{key}",
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle


@pytest.fixture
async def desk(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    now = await time_skipping_env.get_current_time()
    # A whole hour 12-13 h ahead (11 h if that would cross midnight), in UTC.
    hour = (now.astimezone(UTC).hour + 12) % 24
    hour = 22 if hour == 23 else hour
    opens = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    if opens <= now:
        opens += timedelta(days=1)
    config = tmp_path / "tocsin.yaml"
    config.write_text(CONFIG.format(start=f"{hour:02d}:00", end=f"{hour + 1:02d}:00"))
    notifier = RecordingNotifier()
    async with page_worker(time_skipping_env, config, notifier) as task_queue:
        found = Desk(time_skipping_env, notifier, task_queue, opens)
        yield found
        await terminate_open(found.handles)


async def state_of(handle: WorkflowHandle[PageWorkflow, PageState]) -> PageState:
    return await handle.query(PageWorkflow.get_state)


class TestWorkingHours:
    async def test_low_urgency_waits_for_working_hours_then_notifies(self, desk: Desk) -> None:
        """Opened at night, a low-urgency page notifies nobody; 24 h later its first step
        has fired at the start of working hours, by the person's quieter method."""
        handle = await desk.page("support", "low", policy="support-quiet")
        await desk.env.sleep(timedelta(minutes=5))
        state = await state_of(handle)
        assert state.notified == []
        [deferred] = [e for e in state.timeline if e.kind == "deferred"]
        assert deferred.text == (
            "Low urgency: step 1 waits for working hours "
            f"({desk.opens.isoformat(timespec='minutes')})"
        )

        await desk.env.sleep(timedelta(hours=24))
        state = await state_of(handle)
        assert [(n.person, n.step, n.method) for n in state.notified[:1]] == [("sam", 1, QUIET)]
        assert state.notified[0].at >= desk.opens
        assert state.notified[0].at - desk.opens < timedelta(seconds=30)

    async def test_the_policys_urgency_takes_effect(self, desk: Desk) -> None:
        """A high-urgency page to a policy with ``urgency: low`` is low urgency: it waits,
        then uses low-urgency contact methods."""
        handle = await desk.page("tickets", "high")
        await desk.env.sleep(timedelta(minutes=5))
        assert (await state_of(handle)).notified == []
        await desk.env.sleep(timedelta(hours=24))
        [first, *_] = (await state_of(handle)).notified
        assert (first.person, first.method) == ("sam", QUIET)
        assert first.at - desk.opens < timedelta(seconds=30)

    async def test_high_urgency_never_waits(self, desk: Desk) -> None:
        handle = await desk.page("support", "high")
        await desk.env.sleep(timedelta(seconds=5))
        state = await state_of(handle)
        assert [(n.person, n.method) for n in state.notified] == [("sam", "console")]
        assert not [e for e in state.timeline if e.kind == "deferred"]

    async def test_an_ack_while_waiting_means_nobody_is_notified(self, desk: Desk) -> None:
        handle = await desk.page("support", "low", policy="support-quiet")
        await desk.env.sleep(timedelta(hours=1))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="kim"))
        await desk.env.sleep(timedelta(hours=24))
        state = await state_of(handle)
        assert state.status == PageStatus.acknowledged
        assert state.notified == []

    async def test_escalate_now_while_waiting_notifies_at_once(self, desk: Desk) -> None:
        """Someone who decides it cannot wait escalates: the waiting step notifies now."""
        handle = await desk.page("support", "low", policy="support-quiet")
        await desk.env.sleep(timedelta(hours=1))
        await handle.execute_update(PageWorkflow.escalate, PageActionInput(by="kim"))
        await desk.env.sleep(timedelta(seconds=5))
        state = await state_of(handle)
        assert [(n.person, n.step) for n in state.notified] == [("sam", 1)]
        assert state.notified[0].at < desk.opens

    async def test_reassigned_while_waiting_starts_over_once(self, desk: Desk) -> None:
        """Reassigned to Kim while step 1 waits: when working hours begin, Kim's step 1
        goes out once (not the old policy's step, then Kim's)."""
        handle = await desk.page("support", "low", policy="support-quiet")
        await desk.env.sleep(timedelta(hours=1))
        reassign = ReassignInput(by="sam", person="kim", ack_timeout_seconds=4 * 3600)
        await handle.execute_update(PageWorkflow.reassign, reassign)
        await desk.env.sleep(timedelta(hours=24))
        state = await state_of(handle)
        # Once: Kim's step 2 (4 h later) falls outside the one-hour window and waits again.
        assert [(n.person, n.step) for n in state.notified] == [("kim", 1)]
        assert state.notified[0].at - desk.opens < timedelta(seconds=30)
