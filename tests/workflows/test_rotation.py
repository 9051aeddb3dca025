"""RotationWorkflow and ShiftWorkflow on the time-skipping server: a year of handoffs in seconds."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tests.conftest import start_time_skipping
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from tests.workflows.test_incident import RecordingChat
from worker.build import build_worker
from worker.config import ConfigFile
from worker.rotations import sync_rotations
from worker.settings import Settings
from workflows.ids import rotation_workflow_id, shift_workflow_id
from workflows.models import PageActionInput, PageInput
from workflows.page import PageWorkflow
from workflows.rotation import RotationWorkflow
from workflows.rotation_models import (
    NoteRequest,
    OncallQuery,
    OverrideRequest,
    PageSummary,
    ShiftReport,
    ShiftState,
    SwapRequest,
    TeamActivity,
    TeamActivityQuery,
)
from workflows.shift import ShiftWorkflow

CHICAGO = ZoneInfo("America/Chicago")
T = TypeVar("T")

CONFIG = """
people:
  alice: {name: Alice, contact: [console]}
  bob: {name: Bob, contact: [console]}
  dana: {name: Dana, contact: [console]}
  erin: {name: Erin, contact: [console]}
teams:
  delivery:
    members: [alice, bob, dana, erin]
    rotation: delivery
    escalation_policy: delivery
    slack_channel: "#delivery-support"
    slack_usergroup: S0DELIVERY
rotations:
  delivery:
    timezone: America/Chicago
    handoff: {weekday: monday, time: "10:00"}
    shift: 1w
    start: 2026-01-05
    layers: {eoc: [alice, bob], tm: [dana, erin]}
    report_to: [alice]
escalation_policies:
  delivery:
    steps:
      - {targets: ["rotation:delivery/eoc"], ack_timeout: 10m}
      - {targets: ["rotation:delivery/tm"], ack_timeout: 5m}
"""


@dataclass
class FakeTeamActivity:
    """The team's pages and incidents as a canned answer; queries are recorded."""

    pages: list[PageSummary] = field(default_factory=list)
    queries: list[TeamActivityQuery] = field(default_factory=list)

    async def activity(self, query: TeamActivityQuery) -> TeamActivity:
        self.queries.append(query)
        inside = [p for p in self.pages if query.start <= p.created_at < query.end]
        return TeamActivity(pages=inside)


@dataclass
class Desk:
    env: WorkflowEnvironment
    client: Client
    chat: RecordingChat
    notifier: RecordingNotifier
    activity: FakeTeamActivity
    config: ConfigFile
    task_queue: str

    async def start(self) -> None:
        await sync_rotations(self.client, self.config.current(), self.task_queue)
        await self.eventually(lambda: len(self.handoffs()) == 1, "the first shift's handoff")

    def rotation(self) -> Any:
        return self.client.get_workflow_handle_for(
            RotationWorkflow.run, rotation_workflow_id("delivery")
        )

    async def oncall(self, at: datetime) -> dict[str, str | None]:
        spans = await self.rotation().query(RotationWorkflow.get_oncall, OncallQuery(at=at))
        return {s.layer: s.person for s in spans}

    def handoffs(self) -> list[str]:
        return self.chat.said("#delivery-support", "Handoff of `delivery`")

    def reports(self) -> list[str]:
        return self.chat.said("#delivery-support", "On-call report for `delivery`")

    async def shift(self, start: datetime) -> ShiftState:
        handle = self.client.get_workflow_handle_for(
            ShiftWorkflow.run, shift_workflow_id("delivery", start)
        )
        return await handle.query(ShiftWorkflow.get_state)

    async def eventually(self, check: Callable[[], Any], what: str) -> Any:
        for _ in range(500):
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.02)
        pytest.fail(f"timed out waiting for {what}")


def next_monday_10(after: datetime) -> datetime:
    local = after.astimezone(CHICAGO)
    day = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    candidate = datetime(day.year, day.month, day.day, 10, tzinfo=CHICAGO)
    if candidate <= after:
        candidate += timedelta(days=7)
        candidate = datetime(candidate.year, candidate.month, candidate.day, 10, tzinfo=CHICAGO)
    return candidate.astimezone(UTC)


async def rotation_desk(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    """A worker with in-memory adapters on a fresh task queue, and the rotation's config."""
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    config = ConfigFile(path)
    chat, notifier, activity = RecordingChat(), RecordingNotifier(), FakeTeamActivity()
    task_queue = f"rotations-{uuid.uuid4()}"
    async with build_worker(
        env.client,
        Settings(),
        config,
        store=MemoryStore(),
        notifiers={"console": notifier},
        chat=chat,
        team_activity=activity,
        task_queue=task_queue,
    ):
        yield Desk(env, env.client, chat, notifier, activity, config, task_queue)
        handle = env.client.get_workflow_handle(rotation_workflow_id("delivery"))
        with contextlib.suppress(RPCError):
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A fresh time-skipping server per test: rotations and shifts live long."""
    env = await start_time_skipping()
    try:
        async for opened in rotation_desk(env, tmp_path):
            yield opened
    finally:
        await env.shutdown()


async def run_history_lengths(client: Client, workflow_id: str) -> list[int]:
    """Events per run of a workflow that continued as new, oldest run first."""
    lengths: list[int] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        lengths.append(len(history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        previous = started.continued_execution_run_id
        if not previous:
            return list(reversed(lengths))
        run_id = previous


class TestAYear:
    """Fifty-two weekly handoffs at 10:00 Chicago, continued as new every time."""

    async def test_a_year_of_handoffs_with_bounded_history(self, desk: Desk) -> None:
        """Every handoff is at 10:00 local on both sides of both DST changes; runs stay small."""
        await desk.start()
        first = next_monday_10(await desk.env.get_current_time())
        await desk.env.sleep(first - await desk.env.get_current_time() + timedelta(minutes=1))
        await desk.eventually(lambda: len(desk.handoffs()) == 2, "the first handoff")
        for week in range(1, 52):
            await desk.env.sleep(timedelta(days=7))
            await desk.eventually(lambda w=week: len(desk.handoffs()) == w + 2, f"handoff {week}")
        starts = [first + timedelta(days=7 * w) for w in range(52)]
        starts = [next_monday_10(s - timedelta(hours=12)) for s in starts]
        lengths = []
        for start in starts:
            shift = await desk.shift(start)
            local = shift.start.astimezone(CHICAGO)
            assert (local.weekday(), local.hour, local.minute) == (0, 10, 0), shift.start
            lengths.append((shift.end - shift.start) / timedelta(hours=1))
        assert {167.0, 169.0} <= set(lengths), "one short week in spring, one long in fall"
        runs = await run_history_lengths(desk.client, rotation_workflow_id("delivery"))
        figures = (
            f"{len(runs)} runs, events per run max {max(runs)}, mean {sum(runs) / len(runs):.1f}"
        )
        assert len(runs) >= 52, figures
        assert max(runs) <= 60, figures
        assert len(desk.reports()) >= 51


class TestWhoIsOnCall:
    """Overrides and swaps change who is on call — and who gets paged."""

    async def test_override_takes_the_page(self, desk: Desk) -> None:
        """Whoever covers the EOC for two hours is the one paged; afterwards the scheduled one again."""
        await desk.start()
        now = await desk.env.get_current_time()
        before = await desk.oncall(now)
        # Who the schedule has after the override: the window may span a Monday handoff
        # (the test server's clock starts at the real time).
        scheduled_after = await desk.oncall(now + timedelta(hours=2, minutes=1))
        override = await desk.rotation().execute_update(
            RotationWorkflow.add_override,
            OverrideRequest(
                layer="eoc",
                person="bob" if before["eoc"] == "alice" else "alice",
                start=now,
                end=now + timedelta(hours=2),
                by="dana",
                reason="cover",
            ),
        )
        covering = override.person
        assert (await desk.oncall(now + timedelta(hours=1)))["eoc"] == covering
        after = await desk.oncall(now + timedelta(hours=2, minutes=1))
        assert after["eoc"] == scheduled_after["eoc"]
        page = desk.client.get_workflow_handle_for(PageWorkflow.run, "page-override-test")
        await desk.client.start_workflow(
            PageWorkflow.run,
            PageInput(key="override-test", team="delivery", summary="Disk full"),
            id="page-override-test",
            task_queue=desk.task_queue,
        )
        await desk.eventually(lambda: desk.notifier.sent, "the page")
        paged = await desk.eventually(lambda: _notified(page), "the notification on record")
        await page.execute_update(PageWorkflow.resolve, PageActionInput(by=covering))
        assert paged == [covering]

    async def test_override_of_now_moves_the_user_group_at_once(self, desk: Desk) -> None:
        """Taking the current shift puts the taker in the team's user group right away."""
        await desk.start()
        await desk.eventually(lambda: desk.chat.usergroups, "the shift's user group")
        moved = len(desk.chat.usergroups)
        now = await desk.env.get_current_time()
        before = await desk.oncall(now)
        taker = "alice" if before["eoc"] == "bob" else "bob"
        await desk.rotation().execute_update(
            RotationWorkflow.add_override, OverrideRequest(layer="eoc", person=taker, by=taker)
        )
        groups = await desk.eventually(
            lambda: desk.chat.usergroups[moved:], "the user group to follow the override"
        )
        assert groups[-1] == ("S0DELIVERY", sorted([taker, before["tm"] or ""]))

    async def test_swap_exchanges_two_future_shifts(self, desk: Desk) -> None:
        """Swapping next week's and the week after's EOC shifts exchanges who holds them."""
        await desk.start()
        now = await desk.env.get_current_time()
        first = next_monday_10(now)
        second = next_monday_10(first + timedelta(hours=1))
        one = (await desk.oncall(first + timedelta(hours=1)))["eoc"]
        two = (await desk.oncall(second + timedelta(hours=1)))["eoc"]
        assert one is not None
        assert two is not None
        assert one != two
        await desk.rotation().execute_update(
            RotationWorkflow.add_swap,
            SwapRequest(
                layer="eoc",
                first_person=one,
                first_start=first,
                second_person=two,
                second_start=second,
                by=one,
            ),
        )
        assert (await desk.oncall(first + timedelta(hours=1)))["eoc"] == two
        assert (await desk.oncall(second + timedelta(hours=1)))["eoc"] == one
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await desk.rotation().execute_update(
                RotationWorkflow.add_swap,
                SwapRequest(
                    layer="eoc",
                    first_person=two,
                    first_start=first,
                    second_person=one,
                    second_start=second,
                    by=one,
                ),
            )
        assert "already" in str(refused.value.cause)

    async def test_config_change_applies_from_the_next_handoff(self, desk: Desk) -> None:
        """Reordering the EOC members changes nothing now, only from the next handoff."""
        await desk.start()
        now = await desk.env.get_current_time()
        handoff = next_monday_10(now)
        before_now = await desk.oncall(now)
        before_next = await desk.oncall(handoff + timedelta(hours=1))
        text = desk.config.path.read_text().replace("eoc: [alice, bob]", "eoc: [bob, alice]")
        desk.config.path.write_text(text)
        await sync_rotations(desk.client, desk.config.current(), desk.task_queue)
        await desk.eventually(
            lambda: desk.oncall(handoff + timedelta(hours=1)), "the rotation to answer"
        )
        assert await desk.oncall(now) == before_now, "the running shift is not rewritten"
        after_next = await desk.oncall(handoff + timedelta(hours=1))
        assert after_next["eoc"] != before_next["eoc"]


class TestShift:
    """A shift's handoff: notes in, announcement, user group, test page, reminder, report."""

    async def test_test_page_escalates_to_the_tm_when_not_acknowledged(self, desk: Desk) -> None:
        """The incoming EOC's test page goes to the TM after 4 hours without an answer."""
        await desk.start()
        now = await desk.env.get_current_time()
        handoff = next_monday_10(now)
        await desk.env.sleep(handoff - now + timedelta(minutes=1))
        await desk.eventually(lambda: len(desk.handoffs()) == 2, "the handoff")
        shift = await desk.eventually(lambda: _with_test_page(desk, handoff), "the test page")
        holders = shift.holders
        sent = lambda: [m for m in desk.notifier.sent if m.message.page_id == shift.test_page]  # noqa: E731
        await desk.eventually(sent, "the test page notification")
        assert sent()[0].person.lower() == holders["eoc"]
        await desk.env.sleep(timedelta(hours=4, minutes=1))
        await desk.eventually(lambda: len(sent()) >= 2, "the escalation to the TM")
        assert sent()[-1].person.lower() == holders["tm"]

    async def test_acknowledged_test_page_is_recorded_and_closed(self, desk: Desk) -> None:
        """Acknowledging the test page shows on the shift and ends the page."""
        await desk.start()
        now = await desk.env.get_current_time()
        handoff = next_monday_10(now)
        await desk.env.sleep(handoff - now + timedelta(minutes=1))
        shift = await desk.eventually(lambda: _with_test_page(desk, handoff), "the test page")
        page = desk.client.get_workflow_handle_for(PageWorkflow.run, f"page-{shift.test_page}")
        await desk.eventually(lambda: desk.notifier.sent, "the test page notification")
        await page.execute_update(
            PageWorkflow.acknowledge, PageActionInput(by=shift.holders["eoc"] or "")
        )
        state = await desk.eventually(
            lambda: _acked(desk, handoff), "the shift to see the acknowledgement"
        )
        assert state.test_page_acknowledged_by == shift.holders["eoc"]
        final = await desk.eventually(lambda: _page_status(page, "resolved"), "the page to close")
        assert final

    async def test_usergroup_follows_the_rotation(self, desk: Desk) -> None:
        """At the handoff the team's user group becomes the incoming EOC and TM."""
        await desk.start()
        now = await desk.env.get_current_time()
        handoff = next_monday_10(now)
        await desk.env.sleep(handoff - now + timedelta(minutes=1))
        shift = await desk.eventually(lambda: _with_test_page(desk, handoff), "the shift")
        groups = await desk.eventually(lambda: desk.chat.usergroups, "the user group")
        assert groups[-1] == ("S0DELIVERY", sorted(p for p in shift.holders.values() if p))

    async def test_reminder_report_and_notes_handed_over(self, desk: Desk) -> None:
        """A day before the end the outgoing EOC is reminded; the report lists pages, off-hours
        pages, notes and a recovery day; the next shift's announcement carries the notes."""
        await desk.start()
        now = await desk.env.get_current_time()
        handoff = next_monday_10(now)
        await desk.env.sleep(handoff - now + timedelta(minutes=1))
        shift = await desk.eventually(lambda: _with_test_page(desk, handoff), "the shift")
        eoc = shift.holders["eoc"] or ""
        night = (handoff + timedelta(days=1)).astimezone(CHICAGO).replace(hour=3, minute=12)
        day = (handoff + timedelta(days=2)).astimezone(CHICAGO).replace(hour=11)
        desk.activity.pages = [
            PageSummary(
                id="p-night",
                summary="DiskFull on gitserver-0",
                created_at=night.astimezone(UTC),
                status="resolved",
                acknowledged_by=eoc,
                acknowledged_at=night.astimezone(UTC) + timedelta(minutes=4),
                off_hours=True,
            ),
            PageSummary(
                id="p-day",
                summary="Latency high",
                created_at=day.astimezone(UTC),
                status="resolved",
                acknowledged_by=eoc,
                acknowledged_at=day.astimezone(UTC) + timedelta(minutes=2),
            ),
        ]
        handle = desk.client.get_workflow_handle_for(
            ShiftWorkflow.run, shift_workflow_id("delivery", handoff)
        )
        await handle.execute_update(
            ShiftWorkflow.add_note, NoteRequest(text="gitserver-0 disk is at 85%", by=eoc)
        )
        end = handoff + timedelta(days=7)
        await desk.env.sleep(end - handoff - timedelta(hours=23))
        reminders = await desk.eventually(
            lambda: desk.chat.said("#delivery-support", "Reminder for"), "the reminder"
        )
        assert eoc in reminders[-1]
        await desk.env.sleep(timedelta(hours=23, minutes=2))
        reports = await desk.eventually(desk.reports, "the report")
        report = reports[-1]
        assert "Pages: 2 (1 off hours)" in report
        assert "`p-night` DiskFull on gitserver-0 — acked by" in report
        assert "[off hours]" in report
        assert f"{eoc}: gitserver-0 disk is at 85%" in report
        assert "take a recovery day" in report
        announcement = await desk.eventually(
            lambda: [h for h in desk.handoffs() if "gitserver-0 disk is at 85%" in h],
            "the next shift's announcement with the notes",
        )
        assert "Handoff notes from" in announcement[-1]
        result: ShiftReport = await handle.result()
        assert result.recovery_day


async def _with_test_page(desk: Desk, start: datetime) -> ShiftState | None:
    try:
        shift = await desk.shift(start)
    except RPCError:
        return None
    return shift if shift.test_page else None


async def _notified(page: Any) -> list[str]:
    state = await page.query(PageWorkflow.get_state)
    return [n.person for n in state.notified if n.ok]


async def _acked(desk: Desk, start: datetime) -> ShiftState | None:
    shift = await desk.shift(start)
    return shift if shift.test_page_acknowledged_by else None


async def _page_status(page: Any, status: str) -> bool:
    state = await page.query(PageWorkflow.get_state)
    return bool(state.status.value == status)
