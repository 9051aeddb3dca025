"""IncidentWorkflow on the time-skipping server: roles, rollback-first triage, reminders."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.errors import Rejected
from activities.ports import Card
from starters.incidents import IncidentClient
from tests.conftest import start_time_skipping
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from tests.fakes.tracker import FakeTracker
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.actors import Acted
from workflows.chat_models import IncidentCard
from workflows.config import Person
from workflows.ids import incident_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_config import Rollback
from workflows.incident_counter import COUNTER_ID
from workflows.incident_models import (
    CommsConfirmation,
    DeclareRequest,
    FollowUpRequest,
    IncidentRecord,
    IncidentState,
    IncidentStatus,
    IssueEvent,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    UpdateInput,
)
from workflows.models import PageActionInput, RollbackRequest, RollbackResult
from workflows.page import PageWorkflow

CONFIG = """
people:
  alice: {name: Alice, contact: [console]}
  bob: {name: Bob, contact: [console]}
  hana: {name: Hana, contact: [console]}
  jo: {name: Jo, contact: [console]}
teams:
  delivery: {members: [alice, bob], escalation_policy: delivery}
  customer-support: {members: [hana], escalation_policy: support}
  security: {members: [jo], escalation_policy: security}
escalation_policies:
  delivery: {steps: [{targets: ["person:alice"], ack_timeout: 10m}]}
  support: {steps: [{targets: ["team:customer-support"], ack_timeout: 10m}]}
  security: {steps: [{targets: ["team:security"], ack_timeout: 10m}]}
services:
  search:
    team: delivery
    repo: acme/search
    rollback: {kind: command, argv: ["rollback-search"]}
severities:
  - {name: critical, announce: ["#incidents"], update_interval: 15m, postmortem: true}
  - {name: minor, page: false, update_interval: 1h}
incidents:
  lead_timeout: 5m
  prompt_interval: 15m
  messenger_confirm_timeout: 1h
  followups: {repo: acme/ops, check_interval: 6h, remind_after: 7d}
  customer_support_team: customer-support
  security_team: security
"""


@dataclass
class RecordingChat:
    """The ``Chat`` port in memory: every post, card update, topic, pin and archive."""

    posts: list[tuple[str, str]] = field(default_factory=list)
    channels: list[tuple[str, bool]] = field(default_factory=list)
    invited: list[tuple[str, str]] = field(default_factory=list)
    cards: dict[str, Card] = field(default_factory=dict)
    updates: list[tuple[str, Card | None]] = field(default_factory=list)
    topics: list[tuple[str, str]] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    usergroups: list[tuple[str, list[str]]] = field(default_factory=list)
    down: bool = False

    async def create_channel(self, name: str, private: bool) -> str:
        self.channels.append((name, private))
        return name

    async def invite(self, channel: str, people: list[Person]) -> None:
        self.invited += [(channel, p.name) for p in people]

    async def post(self, channel: str, text: str, card: Card | None = None) -> str:
        if self.down:
            raise Rejected("slack chat.postMessage: is_archived")
        self.posts.append((channel, text))
        ref = f"{channel}/{len(self.posts)}"
        if card is not None:
            self.cards[ref] = card
        return ref

    async def update(self, channel: str, ref: str, text: str, card: Card | None = None) -> None:
        self.updates.append((ref, card))
        if card is not None:
            self.cards[ref] = card

    async def set_topic(self, channel: str, topic: str) -> None:
        self.topics.append((channel, topic))

    async def pin(self, channel: str, ref: str) -> None:
        self.pins.append(ref)

    async def archive(self, channel: str) -> None:
        self.archived.append(channel)

    async def set_usergroup(self, usergroup: str, people: list[Person]) -> None:
        self.usergroups.append((usergroup, sorted(p.name.lower() for p in people)))

    def said(self, channel: str, fragment: str) -> list[str]:
        return [t for c, t in self.posts if c == channel and fragment in t]


@dataclass
class FakeRunner:
    ok: bool = True
    calls: list[RollbackRequest] = field(default_factory=list)
    # Set: each rollback runs until the test sets it (to act while one is running).
    gate: asyncio.Event | None = None

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult:
        self.calls.append(request)
        if self.gate is not None:
            await self.gate.wait()
        return RollbackResult(
            ok=self.ok,
            runner="command",
            summary="rollback-search exited 0" if self.ok else "rollback-search exited 3",
            output="deployed v41" if self.ok else "no previous release",
        )


@dataclass
class Desk:
    env: WorkflowEnvironment
    incidents: IncidentClient
    chat: RecordingChat
    runner: FakeRunner
    notifier: RecordingNotifier
    tracker: FakeTracker
    store: MemoryStore
    declared: list[str] = field(default_factory=list)
    task_queue: str = ""

    async def declare(self, **fields: Any) -> IncidentState:
        request = DeclareRequest(
            **{"title": "Search is down", "severity": "critical", "by": "bob", **fields}
        )
        state, _ = await self.incidents.declare(request, idempotency_key=uuid.uuid4().hex)
        self.declared.append(state.id)
        return state

    async def settled(
        self, incident_id: str, check: Callable[[IncidentState], bool]
    ) -> IncidentState:
        for _ in range(250):
            state = await self.incidents.get(incident_id)
            if check(state):
                return state
            await asyncio.sleep(0.02)
        pytest.fail(
            f"{incident_id} never reached the expected state: {[e.text for e in state.timeline[-4:]]}"
        )

    async def heard(self, channel: str, fragment: str) -> None:
        """Wait until the channel has a message containing ``fragment`` (posts trail the state)."""
        for _ in range(250):
            if self.chat.said(channel, fragment):
                return
            await asyncio.sleep(0.02)
        pytest.fail(f"{channel} never heard {fragment!r}: {self.chat.posts[-3:]}")

    async def close(self) -> None:
        """End every workflow this test made, counter included: the next test has its own worker."""
        ids = [COUNTER_ID]
        for incident_id in self.declared:
            ids.append(incident_workflow_id(incident_id))
            state = await self.incidents.get(incident_id)
            ids += [f"page-{p.page_id}" for p in state.pages]
        for workflow_id in ids:
            handle = self.env.client.get_workflow_handle(workflow_id)
            with contextlib.suppress(RPCError):
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test finished")

    async def logged(self, incident_id: str, status: IncidentStatus) -> IncidentRecord:
        """The incident-log row once it shows ``status`` (the row trails the state)."""
        for _ in range(250):
            row = self.store.rows.get(incident_id)
            if row is not None and row.status == status:
                return row
            await asyncio.sleep(0.02)
        pytest.fail(f"the log never showed {incident_id} {status}")

    def kinds(self, state: IncidentState) -> list[str]:
        return [e.kind for e in state.timeline if e.kind != "chat"]


async def open_desk(
    env: WorkflowEnvironment, tmp_path: Path, config_text: str, settings: Settings | None = None
) -> AsyncIterator[Desk]:
    path = tmp_path / "tocsin.yaml"
    path.write_text(config_text)
    config = ConfigFile(path)
    chat, runner, notifier = RecordingChat(), FakeRunner(), RecordingNotifier()
    tracker, store = FakeTracker(), MemoryStore()
    task_queue = f"incidents-{uuid.uuid4()}"
    worker = build_worker(
        env.client,
        settings or Settings(),
        config,
        store=store,
        tracker=tracker,
        notifiers={"console": notifier},
        chat=chat,
        runners={"command": runner},
        task_queue=task_queue,
    )
    async with worker:
        incidents = IncidentClient(env.client, config, task_queue)
        desk = Desk(env, incidents, chat, runner, notifier, tracker, store, task_queue=task_queue)
        yield desk
        await desk.close()


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A fresh time-skipping server per test: incidents, their pages and the shared incident
    counter are long-lived workflows, and a leftover one would hold the next test's clock."""
    env = await start_time_skipping()
    try:
        async for opened in open_desk(env, tmp_path, CONFIG):
            yield opened
    finally:
        await env.shutdown()


class TestDeclare:
    async def test_numbers_have_no_gaps_or_duplicates(self, desk: Desk) -> None:
        """Five incidents declared at once get five distinct, consecutive numbers."""
        states = await asyncio.gather(*(desk.declare(title=f"outage {i}") for i in range(5)))
        numbers = sorted(int(s.id.removeprefix("INC-")) for s in states)
        assert len(set(numbers)) == 5
        assert numbers == list(range(numbers[0], numbers[0] + 5))

    async def test_same_idempotency_key_same_incident(self, desk: Desk) -> None:
        """Declaring twice with one key returns the first incident and starts nothing new."""
        request = DeclareRequest(title="Checkout errors", severity="critical", by="bob")
        key = f"key-{uuid.uuid4().hex}"
        first, created = await desk.incidents.declare(request, key)
        again, created_again = await desk.incidents.declare(request, key)
        desk.declared.append(first.id)
        assert (created, created_again) == (True, False)
        assert again.id == first.id

    async def test_channel_card_announcement_and_rollback_prompt(self, desk: Desk) -> None:
        """Declaring opens #inc-n-title, posts the card, announces it, and asks about rollback."""
        state = await desk.declare(service="search")
        channel = f"#{state.id.lower()}-search-is-down"
        state = await desk.settled(
            state.id, lambda s: s.channel == channel and s.rollback.prompts == 1
        )
        await desk.heard("#incidents", f"{state.id} · critical · Search is down")
        await desk.heard(channel, "Roll back `search` to the last known good state?")
        assert (channel, False) in desk.chat.channels
        assert desk.chat.said(channel, f"*{state.id}* · critical · Search is down")
        assert state.status == IncidentStatus.triage

    async def test_security_incident_is_private_and_pages_security(self, desk: Desk) -> None:
        """A security incident is not announced, its channel is private, and security is paged."""
        state = await desk.declare(security=True, title="Leaked key")
        state = await desk.settled(
            state.id, lambda s: any(p.purpose == "security" for p in s.pages)
        )
        assert state.private
        assert desk.chat.channels[-1][1] is True
        assert not desk.chat.said("#incidents", state.id)


class TestChannel:
    """The incident channel shows a pinned card kept current, a topic, and is archived at the end."""

    async def card(self, desk: Desk, state: IncidentState) -> IncidentCard:
        assert state.card_ref is not None
        card = desk.chat.cards[state.card_ref]
        assert isinstance(card, IncidentCard)
        return card

    async def test_card_is_pinned_and_follows_the_lead_and_the_rollback(self, desk: Desk) -> None:
        """The card is posted with the incident, pinned, and updated in place as roles and decisions land."""
        state = await desk.declare(service="search")
        state = await desk.settled(state.id, lambda s: s.card_ref is not None)
        for _ in range(250):
            if desk.chat.topics:
                break
            await asyncio.sleep(0.02)
        assert state.card_ref in desk.chat.pins
        assert (await self.card(desk, state)).lead is None
        await desk.incidents.assign_lead(state.id, RoleInput(person="bob", by="bob"))
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="bob")
        )
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        for _ in range(100):
            card = await self.card(desk, state)
            if card.rollback_ok is not None:
                break
            await asyncio.sleep(0.02)
        assert (card.lead, card.rollback, card.rollback_by, card.rollback_ok) == (
            "bob",
            "roll_back",
            "bob",
            True,
        )
        assert all(ref == state.card_ref for ref, _ in desk.chat.updates), "updated in place"
        topics = [t for c, t in desk.chat.topics if c == state.channel]
        assert topics[0].endswith("lead: nobody yet · Search is down")
        assert "active · lead: bob" in topics[-1]

    async def test_closing_archives_the_channel_after_the_final_card(self, desk: Desk) -> None:
        """A closed incident's channel is archived, after the card shows it resolved (no buttons)."""
        state = await desk.declare(severity="minor")
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        await desk.incidents.resolve(
            state.id, ResolveInput(resolution="fixed", summary="ok", by="alice")
        )
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(state.id)
        )
        final = await handle.result()
        assert final.archived
        assert desk.chat.archived == [final.channel]
        assert final.card_ref is not None
        card = desk.chat.cards[final.card_ref]
        assert isinstance(card, IncidentCard)
        assert card.status == IncidentStatus.closed
        assert final.timeline[-1].text == f"Channel {final.channel} archived"

    async def test_chat_outage_is_recorded_and_the_incident_goes_on(self, desk: Desk) -> None:
        """When chat refuses every post, the incident still pages for a lead and records the failure."""
        desk.chat.down = True
        state = await desk.declare()
        await desk.env.sleep(timedelta(minutes=6))
        state = await desk.settled(state.id, lambda s: bool(s.pages))
        assert state.card_ref is None
        assert "chat-failed" in desk.kinds(state)
        assert state.status == IncidentStatus.triage


class TestRoles:
    async def test_no_lead_in_5_minutes_pages_the_team_and_the_acker_leads(
        self, desk: Desk
    ) -> None:
        """Without a lead after 5 min the owning team's on-call is paged; acking makes them lead."""
        state = await desk.declare(service="search")
        await desk.env.sleep(timedelta(minutes=4, seconds=50))
        assert not (await desk.incidents.get(state.id)).pages
        await desk.env.sleep(timedelta(seconds=20))
        state = await desk.settled(state.id, lambda s: bool(s.pages))
        [page] = state.pages
        assert (page.purpose, page.team) == ("lead", "delivery")
        handle = desk.env.client.get_workflow_handle_for(PageWorkflow.run, f"page-{page.page_id}")
        paged = await handle.query(PageWorkflow.get_state)
        assert "We have an incident, please help" in paged.summary
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="alice"))
        state = await desk.settled(state.id, lambda s: s.lead == "alice")
        assert state.status == IncidentStatus.active
        assert "alice is the incident lead (acknowledged the page)" in [
            e.text for e in state.timeline
        ]

    async def test_lead_taken_in_time_means_no_page(self, desk: Desk) -> None:
        """Someone taking the lead before the timeout stops the page from going out."""
        state = await desk.declare()
        await desk.incidents.assign_lead(state.id, RoleInput(person="bob", by="bob"))
        await desk.env.sleep(timedelta(minutes=30))
        state = await desk.incidents.get(state.id)
        assert state.lead == "bob"
        assert not any(p.purpose == "lead" for p in state.pages)
        assert (state.channel, "Bob") in desk.chat.invited, "the lead is invited to the channel"

    async def test_lead_taken_after_the_page_closes_it(self, desk: Desk) -> None:
        """Taking the lead by hand resolves the page that was looking for one."""
        state = await desk.declare()
        await desk.env.sleep(timedelta(minutes=6))
        state = await desk.settled(state.id, lambda s: bool(s.pages))
        await desk.incidents.assign_lead(state.id, RoleInput(person="bob", by="bob"))
        handle = desk.env.client.get_workflow_handle_for(
            PageWorkflow.run, f"page-{state.pages[0].page_id}"
        )
        for _ in range(100):
            if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
                break
            await asyncio.sleep(0.02)
        assert (await handle.query(PageWorkflow.get_state)).resolved_by == "tocsin"

    async def test_customer_impact_pages_support_for_a_messenger(self, desk: Desk) -> None:
        """With customer impact, support is paged for a messenger; only support may take the role."""
        state = await desk.declare(customer_impact=True)
        with pytest.raises(ValueError, match="must be from customer-support"):
            await desk.incidents.assign_messenger(state.id, RoleInput(person="bob", by="bob"))
        await desk.env.sleep(timedelta(minutes=5, seconds=10))
        state = await desk.settled(
            state.id, lambda s: any(p.purpose == "messenger" for p in s.pages)
        )
        page = next(p for p in state.pages if p.purpose == "messenger")
        assert page.team == "customer-support"
        handle = desk.env.client.get_workflow_handle_for(PageWorkflow.run, f"page-{page.page_id}")
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="hana"))
        state = await desk.settled(state.id, lambda s: s.messenger == "hana")

    async def test_unknown_person_refused(self, desk: Desk) -> None:
        """Roles go only to people Tocsin knows."""
        state = await desk.declare()
        with pytest.raises(ValueError, match="'mallory' is not a person"):
            await desk.incidents.assign_lead(state.id, RoleInput(person="mallory", by="bob"))


class TestRollbackFirst:
    async def test_roll_back_runs_and_asks_whether_it_worked(self, desk: Desk) -> None:
        """Roll back runs the service's runner; the result is in the timeline; then the outcome is asked."""
        state = await desk.declare(service="search")
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="alice")
        )
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        assert [(c.service, c.choice, c.by) for c in desk.runner.calls] == [
            ("search", "roll_back", "alice")
        ]
        assert state.rollback.result is not None
        assert state.rollback.result.ok
        result = next(e.text for e in state.timeline if e.kind == "rollback-result")
        assert "Rollback of search succeeded (command): rollback-search exited 0" in result
        assert "deployed v41" in result
        await desk.heard(state.channel or "", "did the rollback resolve it?")

    async def test_rollback_that_did_not_help_pages_a_resolution_owner(self, desk: Desk) -> None:
        """'No, it did not resolve it' asks for an owner, and pages the team when nobody steps up."""
        state = await desk.declare(service="search")
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="alice")
        )
        await desk.settled(state.id, lambda s: s.rollback.result is not None)
        await desk.incidents.report_rollback_outcome(
            state.id, RollbackOutcome(resolved=False, by="alice")
        )
        await desk.env.sleep(timedelta(minutes=15, seconds=10))
        state = await desk.settled(
            state.id, lambda s: any(p.purpose == "resolution" for p in s.pages)
        )
        assert next(p for p in state.pages if p.purpose == "resolution").team == "delivery"

    async def test_failed_rollback_is_recorded(self, desk: Desk) -> None:
        """A rollback that fails says so, with its output, and still asks what next."""
        desk.runner.ok = False
        state = await desk.declare(service="search")
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="bob")
        )
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        text = next(e.text for e in state.timeline if e.kind == "rollback-result")
        assert "failed" in text
        assert "no previous release" in text

    async def test_undecided_prompt_is_asked_again(self, desk: Desk) -> None:
        """Nobody answers the rollback question: it is asked again every 15 minutes."""
        state = await desk.declare(service="search")
        await desk.env.sleep(timedelta(minutes=14))
        assert (await desk.incidents.get(state.id)).rollback.prompts == 1
        await desk.env.sleep(timedelta(minutes=2))
        state = await desk.settled(state.id, lambda s: s.rollback.prompts == 2)
        await desk.incidents.decide_rollback(state.id, RollbackDecision(choice="not_now", by="bob"))
        await desk.env.sleep(timedelta(minutes=16))
        assert (await desk.incidents.get(state.id)).rollback.prompts == 2, (
            "a decision stops the prompts"
        )


class TestUpdatesAndSeverity:
    async def test_reminders_to_the_lead_then_the_announce_target(self, desk: Desk) -> None:
        """No update for 15 min reminds the lead; after 30 min the announce target hears too."""
        state = await desk.declare()
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        channel = f"#{state.id.lower()}-search-is-down"
        await desk.env.sleep(timedelta(minutes=15, seconds=5))
        await desk.settled(state.id, lambda s: s.reminders == 1)
        await desk.heard(channel, "Reminder for alice: no status update for 15m")
        assert not desk.chat.said("#incidents", "no status update")
        await desk.env.sleep(timedelta(minutes=15))
        await desk.settled(state.id, lambda s: s.reminders == 2)
        await desk.heard("#incidents", f"{state.id}: no status update for 30m (lead: alice)")

    async def test_update_resets_the_clock(self, desk: Desk) -> None:
        """A status update goes to the channel and postpones the next reminder."""
        state = await desk.declare()
        await desk.env.sleep(timedelta(minutes=10))
        await desk.incidents.post_update(
            state.id, UpdateInput(text="Failing over to eu-west", by="bob")
        )
        await desk.env.sleep(timedelta(minutes=10))
        state = await desk.incidents.get(state.id)
        assert state.reminders == 0
        assert state.updates[-1].text == "Failing over to eu-west"
        await desk.heard(state.channel or "", "Status update from bob: Failing over to eu-west")

    async def test_severity_change_applies_the_new_interval(self, desk: Desk) -> None:
        """Downgraded to minor (hourly updates), the 15-minute reminder no longer comes."""
        state = await desk.declare()
        await desk.incidents.change_severity(state.id, "minor", Acted(by="bob"))
        await desk.env.sleep(timedelta(minutes=50))
        state = await desk.incidents.get(state.id)
        assert state.severity == "minor"
        assert state.reminders == 0
        assert "Severity critical → minor" in [e.text for e in state.timeline]


class TestResolve:
    async def test_only_the_lead_resolves(self, desk: Desk) -> None:
        """With a lead, nobody else may resolve; the lead's resolve ends the incident."""
        state = await desk.declare(severity="minor")
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        with pytest.raises(ValueError, match=r"only the incident lead \(alice\)"):
            await desk.incidents.resolve(
                state.id, ResolveInput(resolution="fixed", summary="ok", by="bob")
            )
        state = await desk.incidents.resolve(
            state.id,
            ResolveInput(resolution="false_positive", summary="probe misfired", by="alice"),
        )
        assert state.status == IncidentStatus.closed
        assert state.resolution == "false_positive"
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(state.id)
        )
        final = await handle.result()
        assert final.status == IncidentStatus.closed

    async def test_anyone_resolves_without_a_lead_and_postmortem_keeps_it_resolved(
        self, desk: Desk
    ) -> None:
        """Without a lead anyone may resolve; a critical incident stays 'resolved' for its postmortem."""
        state = await desk.declare()
        state = await desk.incidents.resolve(
            state.id, ResolveInput(resolution="fixed", summary="restarted", by="bob")
        )
        assert state.status == IncidentStatus.resolved
        assert state.timeline[-1].text.startswith("Postmortem required")


class TestAftercare:
    """After resolution the incident lives on until its follow-ups close and its postmortem is done."""

    async def resolved_with_followups(
        self, desk: Desk, *titles: str, **fields: Any
    ) -> IncidentState:
        state = await desk.declare(service="search", **fields)
        for title in titles:
            await desk.incidents.add_followup(
                state.id, FollowUpRequest(title=title, assignee="alice", by="bob")
            )
        await desk.incidents.assign_lead(state.id, RoleInput(person="bob", by="bob"))
        await desk.incidents.resolve(
            state.id, ResolveInput(resolution="fixed", summary="restarted", by="bob")
        )
        return await desk.settled(
            state.id, lambda s: all(f.state == "open" for f in s.followups) and s.followups
        )

    async def github_says(self, desk: Desk, state: IncidentState, number: int, now: str) -> None:
        followup = state.followups[number - 1]
        assert followup.issue_number is not None
        ref = desk.tracker.set_state(followup.repo or "", followup.issue_number, now)
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(state.id)
        )
        await handle.signal(
            IncidentWorkflow.issue_changed,
            IssueEvent(repo=ref.repo, number=ref.number, state=ref.state, url=ref.url, by="alice"),
        )

    async def test_followups_become_issues_once_each(self, desk: Desk) -> None:
        """Each follow-up becomes one issue in the service's repo, labelled with the incident."""
        state = await self.resolved_with_followups(
            desk, "Alert on queue depth", "Add a canary", severity="minor"
        )
        specs = desk.tracker.created()
        assert [s.title for s in specs] == ["Alert on queue depth", "Add a canary"]
        assert {s.repo for s in specs} == {"acme/search"}
        assert all(state.id in s.labels and "incident" in s.labels for s in specs)
        assert specs[0].key == f"{state.id}/followup/1"
        assert all(
            f.issue_url and f.issue_url.startswith("https://github.com/acme/search/issues/")
            for f in state.followups
        )
        assert state.status == IncidentStatus.resolved, "open follow-ups keep it resolved"

    async def test_closing_one_of_two_keeps_it_open_both_close_it(self, desk: Desk) -> None:
        """The webhook closing one follow-up leaves the incident resolved; the second closes it."""
        state = await self.resolved_with_followups(desk, "one", "two", severity="minor")
        await self.github_says(desk, state, 1, "closed")
        state = await desk.settled(state.id, lambda s: s.followups[0].state == "closed")
        assert state.status == IncidentStatus.resolved
        await self.github_says(desk, state, 2, "closed")
        final = await desk.settled(state.id, lambda s: s.status == IncidentStatus.closed)
        assert final.closed_at is not None
        assert "Closed: every follow-up is closed" in [e.text for e in final.timeline]
        row = await desk.logged(state.id, IncidentStatus.closed)
        assert (row.followups_open, row.followups_closed) == (0, 2)

    async def test_reopened_followup_is_open_again(self, desk: Desk) -> None:
        """A reopened issue reopens its follow-up: the incident does not close on the other one."""
        state = await self.resolved_with_followups(desk, "one", "two", severity="minor")
        await self.github_says(desk, state, 1, "closed")
        await desk.settled(state.id, lambda s: s.followups[0].state == "closed")
        await self.github_says(desk, state, 1, "open")
        await desk.settled(state.id, lambda s: s.followups[0].state == "open")
        await self.github_says(desk, state, 2, "closed")
        state = await desk.settled(state.id, lambda s: s.followups[1].state == "closed")
        assert state.status == IncidentStatus.resolved
        assert "followup-reopened" in desk.kinds(state)

    async def test_missed_webhook_is_caught_by_the_periodic_check(self, desk: Desk) -> None:
        """Closed on GitHub with no webhook: the 6-hourly check notices and closes the incident."""
        state = await self.resolved_with_followups(desk, "only", severity="minor")
        followup = state.followups[0]
        assert followup.issue_number is not None
        desk.tracker.set_state("acme/search", followup.issue_number, "closed")
        await desk.env.sleep(timedelta(hours=5))
        assert (await desk.incidents.get(state.id)).status == IncidentStatus.resolved
        await desk.env.sleep(timedelta(hours=1, minutes=5))
        state = await desk.settled(state.id, lambda s: s.status == IncidentStatus.closed)
        assert "periodic check" in next(
            e.text for e in state.timeline if e.kind == "followup-closed"
        )

    async def test_unchanged_issues_are_checked_with_their_etag(self, desk: Desk) -> None:
        """The second check of an unchanged issue sends the ETag of the first (a free 304)."""
        state = await self.resolved_with_followups(desk, "only", severity="minor")
        await desk.env.sleep(timedelta(hours=12, minutes=5))
        await desk.settled(state.id, lambda s: len(desk.tracker.checks) >= 2)
        first, second = desk.tracker.checks[:2]
        assert first.etag is None
        assert second.etag is not None

    async def test_reminders_go_to_the_assignee_then_the_lead(self, desk: Desk) -> None:
        """Open after 7 days: the assignee is reminded; after 14 the lead is too."""
        state = await self.resolved_with_followups(desk, "Fix the probe", severity="minor")
        await desk.env.sleep(timedelta(days=7, hours=1))
        state = await desk.settled(state.id, lambda s: s.followups[0].reminders == 1)
        reminders = [e.text for e in state.timeline if e.kind == "followup-reminder"]
        assert reminders[0].startswith("Reminder for alice: follow-up #1")
        await desk.env.sleep(timedelta(days=7))
        state = await desk.settled(state.id, lambda s: s.followups[0].reminders == 2)
        reminders = [e.text for e in state.timeline if e.kind == "followup-reminder"]
        assert reminders[1].startswith("Reminder for alice and bob:")

    async def test_postmortem_only_for_severities_that_require_it(self, desk: Desk) -> None:
        """Critical publishes a postmortem issue and stays resolved until it closes; minor does not."""
        minor = await desk.declare(severity="minor", title="Small blip")
        await desk.incidents.resolve(
            minor.id, ResolveInput(resolution="fixed", summary="ok", by="bob")
        )
        critical = await desk.declare(service="search")
        await desk.incidents.resolve(
            critical.id, ResolveInput(resolution="fixed", summary="ok", by="bob")
        )
        critical = await desk.settled(critical.id, lambda s: s.postmortem_issue is not None)
        postmortems = [s for s in desk.tracker.created() if "postmortem" in s.labels]
        assert [p.key for p in postmortems] == [f"{critical.id}/postmortem"]
        assert "## Timeline" in postmortems[0].body or "Timeline" in postmortems[0].body
        assert critical.status == IncidentStatus.resolved
        assert critical.postmortem_url == critical.postmortem_issue.url  # type: ignore[union-attr]
        issue = critical.postmortem_issue
        assert issue is not None
        desk.tracker.set_state(issue.repo, issue.number, "closed")
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(critical.id)
        )
        await handle.signal(
            IncidentWorkflow.issue_changed,
            IssueEvent(repo=issue.repo, number=issue.number, state="closed", url=issue.url),
        )
        final = await handle.result()
        assert final.status == IncidentStatus.closed
        assert final.postmortem_done

    async def test_channel_archived_once_postmortem_published_and_followups_created(
        self, desk: Desk
    ) -> None:
        """With ``archive: after_postmortem`` the channel goes once its work is done, not at close."""
        state = await self.resolved_with_followups(desk, "Add a canary")
        state = await desk.settled(state.id, lambda s: s.archived)
        assert state.status == IncidentStatus.resolved
        assert state.postmortem_url is not None
        assert desk.chat.archived == [state.channel]

    async def test_messenger_confirms_or_is_reminded(self, desk: Desk) -> None:
        """The messenger is asked to confirm customer comms; silence for an hour is a reminder."""
        confirmed = await desk.declare(severity="minor", customer_impact=True, title="Slow pages")
        await desk.incidents.assign_messenger(confirmed.id, RoleInput(person="hana", by="hana"))
        await desk.incidents.resolve(
            confirmed.id, ResolveInput(resolution="fixed", summary="ok", by="bob")
        )
        with pytest.raises(ValueError, match="only the messenger"):
            await desk.incidents.confirm_customer_comms(confirmed.id, CommsConfirmation(by="alice"))
        await desk.incidents.confirm_customer_comms(
            confirmed.id, CommsConfirmation(by="hana", note="status page updated")
        )
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(confirmed.id)
        )
        final = await handle.result()
        assert final.messenger_confirmed_by == "hana"
        assert "hana confirmed customer communication is updated: status page updated" in [
            e.text for e in final.timeline
        ]

        silent = await desk.declare(severity="minor", customer_impact=True, title="Errors")
        await desk.incidents.resolve(
            silent.id, ResolveInput(resolution="fixed", summary="ok", by="bob")
        )
        await desk.env.sleep(timedelta(minutes=61))
        state = await desk.settled(silent.id, lambda s: s.status == IncidentStatus.closed)
        assert "comms-reminder" in desk.kinds(state)

    async def test_log_row_follows_every_status(self, desk: Desk) -> None:
        """The incident log gets a row at declaration and an upsert at each status change."""
        state = await desk.declare(severity="minor")

        async def logged(status: str) -> None:
            for _ in range(250):
                if any(r.status == status for r in desk.store.upserts if r.id == state.id):
                    return
                await asyncio.sleep(0.02)
            pytest.fail(f"no {status} row")

        await logged("triage")
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        await logged("active")
        await desk.incidents.resolve(
            state.id,
            ResolveInput(resolution="false_positive", summary="probe", by="alice"),
        )
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(state.id)
        )
        await handle.result()
        statuses = [r.status.value for r in desk.store.upserts if r.id == state.id]
        assert statuses[0] == "triage"
        assert statuses[-1] == "closed"
        row = desk.store.rows[state.id]
        assert (row.lead, row.resolution) == ("alice", "false_positive")
        assert row.acknowledged_at is not None
        assert row.number == int(state.id.removeprefix("INC-"))

    async def test_followup_needs_a_repo_or_a_link(self, desk: Desk) -> None:
        """Title and link together, or neither, are refused before anything is recorded."""
        state = await desk.declare(severity="minor")
        with pytest.raises(ValueError, match="exactly one of title or issue_url"):
            await desk.incidents.add_followup(state.id, FollowUpRequest(by="bob"))
        linked = desk.tracker.existing("acme/ops", "Known flaky probe")
        await desk.incidents.add_followup(state.id, FollowUpRequest(issue_url=linked.url, by="bob"))
        state = await desk.settled(
            state.id, lambda s: s.followups and s.followups[0].state == "open"
        )
        assert state.followups[0].title == "Known flaky probe"
        assert desk.tracker.created() == [], "a linked issue is not created again"
