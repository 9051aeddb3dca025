"""The incident's decisions as pure functions: (state, event, now) → (state, commands).

No Temporal server: each rule is called with a state and a time, and what it returns is
what the workflow would carry out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows import incident_checks as checks
from workflows.chat_models import IncidentCard
from workflows.incident_aftercare import AftercareRules
from workflows.incident_commands import (
    ClosePage,
    Invite,
    Post,
    PostCard,
    Publish,
    RunRollback,
    Shown,
    StartPage,
    Step,
    Wake,
)
from workflows.incident_models import (
    FollowUpRequest,
    IncidentInput,
    IncidentState,
    IncidentStatus,
    IssueEvent,
    IssueRef,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    SeverityPolicy,
)
from workflows.incident_requests import IncidentRequests
from workflows.incident_rules import IncidentRules
from workflows.models import PageAcknowledged, RollbackResult

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SEV2 = SeverityPolicy(
    name="SEV2", page=True, announce=["#incidents"], update_interval_seconds=1800, postmortem=False
)
SEV1 = SeverityPolicy(
    name="SEV1", page=True, announce=["#incidents"], update_interval_seconds=900, postmortem=True
)


def config(**changes: object) -> IncidentInput:
    base = IncidentInput(
        id="INC-7",
        number=7,
        title="Checkout is down",
        severity=SEV2,
        service="checkout",
        team="payments",
        declared_by="alice",
        people=["alice", "bob", "carol"],
        lead_timeout_seconds=300,
        prompt_interval_seconds=900,
        followup_repo="acme/checkout",
    )
    return base.model_copy(update=changes)


def declared(cfg: IncidentInput | None = None) -> tuple[IncidentRules, IncidentState]:
    """An incident as the declaration leaves it: channel open, card posted, clocks armed."""
    cfg = cfg or config()
    rules = IncidentRules(cfg)
    state = IncidentState(
        id=cfg.id,
        title=cfg.title,
        severity=cfg.severity.name,
        service=cfg.service,
        team=cfg.team,
        declared_by=cfg.declared_by,
        declared_at=T0,
        number=cfg.number,
        severity_policy=cfg.severity,
    )
    for step in (
        lambda s: rules.declare(s, T0),
        lambda s: rules.channel_opened(s, "#inc-7-checkout-is-down", T0),
        lambda s: rules.card_posted(s, "card-1", T0),
        lambda s: rules.announce(s, T0),
        lambda s: rules.arm(s, T0 + timedelta(seconds=2)),
    ):
        state = step(state).state
    return rules, state


def kinds(step: Step) -> list[str]:
    return [e.kind for e in step.state.timeline]


def of_type(step: Step, kind: type) -> list:
    return [c for c in step.commands if isinstance(c, kind)]


class TestPurity:
    def test_a_rule_leaves_the_state_it_was_given_alone(self) -> None:
        rules, state = declared()
        before = state.model_dump()
        step = IncidentRequests(rules).assign_lead(state, RoleInput(person="bob", by="bob"), T0)
        assert state.model_dump() == before
        assert step.state.lead == "bob"
        assert state.lead is None


class TestDeclaration:
    def test_declaring_records_and_publishes_first(self) -> None:
        rules = IncidentRules(config())
        _, state = declared()
        fresh = state.model_copy(update={"timeline": [], "channel": None})
        step = rules.declare(fresh, T0)
        assert kinds(step) == ["declared"]
        assert step.commands == [Publish(Shown(status="triage", severity="SEV2", lead=None))]

    def test_the_card_is_pinned_showing_the_channel(self) -> None:
        rules, state = declared()
        step = rules.channel_opened(state, "#inc-7", T0)
        [card] = of_type(step, PostCard)
        assert card.post.pin is True
        assert isinstance(card.post.card, IncidentCard)
        assert card.post.card.channel == "#inc-7"

    def test_announced_where_the_severity_says(self) -> None:
        _, state = declared()
        assert "announced" in [e.kind for e in state.timeline]
        rules = IncidentRules(config())
        step = rules.announce(state, T0)
        assert [p.post.channel for p in of_type(step, Post)] == ["#incidents"]

    def test_a_security_incident_is_private_and_pages_security(self) -> None:
        cfg = config(security=True, security_team="secops")
        rules = IncidentRules(cfg)
        _, state = declared(cfg)
        state = state.model_copy(update={"private": True, "security": True})
        step = rules.announce(state, T0)
        assert "#incidents" not in [p.post.channel for p in of_type(step, Post)]
        [page] = of_type(step, StartPage)
        assert (page.page.team, page.page.purpose, page.page.key) == (
            "secops",
            "security",
            "inc-7-security-1",
        )
        assert page.page.notify_workflow == "incident-INC-7"

    def test_clocks_run_from_the_declaration_and_rollback_is_asked_at_once(self) -> None:
        _, state = declared()
        assert state.lead_page_due == T0 + timedelta(minutes=5)
        assert state.update_due == T0 + timedelta(minutes=30)
        assert state.rollback.prompts == 1
        assert state.rollback_prompt_due == T0 + timedelta(seconds=2, minutes=15)


class TestDeadlines:
    def test_nobody_took_the_lead_so_the_team_is_paged(self) -> None:
        rules, state = declared()
        step = rules.due(state, T0 + timedelta(minutes=5))
        [page] = of_type(step, StartPage)
        assert (page.page.key, page.page.team, page.page.purpose) == (
            "inc-7-lead-1",
            "payments",
            "lead",
        )
        assert [p.page_id for p in step.state.pages] == ["inc-7-lead-1"]
        assert step.state.lead_page_due is None
        assert kinds(step)[-2:] == ["page", "chat"]

    def test_no_page_when_a_lead_was_named_before_the_deadline(self) -> None:
        rules, state = declared()
        state = (
            IncidentRequests(rules)
            .assign_lead(state, RoleInput(person="bob", by="alice"), T0)
            .state
        )
        step = rules.due(state, T0 + timedelta(minutes=5))
        assert of_type(step, StartPage) == []

    def test_update_reminders_go_wider_the_second_time(self) -> None:
        rules, state = declared()
        first = rules.due(state, T0 + timedelta(minutes=30))
        assert "#incidents" not in [p.post.channel for p in of_type(first, Post)]
        assert "no status update for 30m" in first.state.timeline[-1].text
        second = rules.due(first.state, T0 + timedelta(minutes=60))
        channels = [p.post.channel for p in of_type(second, Post)]
        assert "#incidents" in channels
        assert second.state.update_due == T0 + timedelta(minutes=90)

    def test_every_deadline_is_in_the_list_the_loop_sleeps_on(self) -> None:
        rules, state = declared()
        assert min(rules.deadlines(state)) == T0 + timedelta(minutes=5)


class TestRoles:
    def test_taking_the_lead_closes_the_lead_page_and_invites(self) -> None:
        rules, state = declared()
        state = rules.due(state, T0 + timedelta(minutes=5)).state
        step = IncidentRequests(rules).assign_lead(state, RoleInput(person="bob", by="bob"), T0)
        assert step.state.status == IncidentStatus.active
        assert ClosePage("inc-7-lead-1", "bob took the lead role") in step.commands
        assert Invite("bob") in step.commands
        assert Publish(Shown(status="active", severity="SEV2", lead="bob")) in step.commands

    def test_acknowledging_the_lead_page_makes_the_acknowledger_lead(self) -> None:
        rules, state = declared()
        state = rules.due(state, T0 + timedelta(minutes=5)).state
        ack = PageAcknowledged(page_id="inc-7-lead-1", purpose="lead", by="carol")
        step = IncidentRequests(rules).page_acknowledged(state, ack, T0)
        assert step.state.lead == "carol"
        assert ClosePage("inc-7-lead-1", "carol answered it") in step.commands

    def test_an_unknown_page_changes_nothing(self) -> None:
        rules, state = declared()
        ack = PageAcknowledged(page_id="elsewhere", purpose="lead", by="carol")
        step = IncidentRequests(rules).page_acknowledged(state, ack, T0)
        assert step.commands == []
        assert step.state == state

    def test_only_the_lead_may_resolve(self) -> None:
        rules, state = declared()
        state = (
            IncidentRequests(rules).assign_lead(state, RoleInput(person="bob", by="bob"), T0).state
        )
        with pytest.raises(ValueError, match=r"only the incident lead \(bob\)"):
            checks.check_resolve(
                state, rules.config, ResolveInput(by="alice", resolution="fixed", summary="x")
            )


class TestRollback:
    def test_deciding_to_roll_back_asks_the_loop_to_run_it(self) -> None:
        rules, state = declared()
        decision = RollbackDecision(choice="roll_back", by="alice")
        step = IncidentRequests(rules).decide_rollback(state, decision, T0)
        assert RunRollback() in step.commands
        assert step.state.rollback_prompt_due is None

    def test_without_a_service_there_is_nothing_to_run(self) -> None:
        cfg = config(service=None)
        rules, state = declared(cfg)
        step = IncidentRequests(rules).decide_rollback(
            state, RollbackDecision(choice="revert", by="alice"), T0
        )
        assert RunRollback() not in step.commands
        assert (
            step.state.timeline[-1].text == "No service named: nothing to roll back automatically"
        )

    def test_a_result_asks_whether_it_resolved_it(self) -> None:
        rules, state = declared()
        result = RollbackResult(ok=True, runner="command", summary="deployed v41")
        step = rules.rollback_done(state, result, T0)
        assert step.state.rollback.result == result
        assert (
            step.state.timeline[-1].text == "incident lead: did the rollback resolve it? (yes / no)"
        )


class TestResolution:
    def test_resolved_without_a_postmortem_closes_and_publishes_both_states(self) -> None:
        rules, state = declared()
        resolution = ResolveInput(by="alice", resolution="fixed", summary="restarted")
        step = IncidentRequests(rules).resolve(state, resolution, T0)
        assert step.state.status == IncidentStatus.closed
        shown = [c.shown.status for c in of_type(step, Publish)]
        assert shown.index("resolved") < shown.index("closed")
        assert Wake() in step.commands

    def test_a_postmortem_keeps_it_resolved(self) -> None:
        cfg = config(severity=SEV1)
        rules, state = declared(cfg)
        resolution = ResolveInput(by="alice", resolution="fixed", summary="restarted")
        step = IncidentRequests(rules).resolve(state, resolution, T0)
        assert step.state.status == IncidentStatus.resolved
        assert step.state.postmortem_owed
        assert AftercareRules(cfg).postmortem_wanted(step.state, failed=False)


class TestAftercare:
    def resolved_with_followup(self) -> tuple[IncidentRules, IncidentState]:
        rules, state = declared()
        requests = IncidentRequests(rules)
        state = requests.assign_lead(state, RoleInput(person="carol", by="carol"), T0).state
        request = FollowUpRequest(title="Alert on queue depth", by="alice", assignee="bob")
        state = requests.add_followup(state, request, T0).state
        resolution = ResolveInput(by="carol", resolution="fixed", summary="restarted")
        state = requests.resolve(state, resolution, T0).state
        issue = IssueRef(
            repo="acme/checkout",
            number=12,
            url="https://github.com/acme/checkout/issues/12",
            state="open",
        )
        return rules, rules.aftercare.followup_created(state, 1, issue, T0).state

    def test_an_open_follow_up_keeps_the_incident_resolved(self) -> None:
        _, state = self.resolved_with_followup()
        assert state.status == IncidentStatus.resolved
        assert state.followups[0].issue_number == 12

    def test_the_issue_closing_closes_the_incident(self) -> None:
        rules, state = self.resolved_with_followup()
        event = IssueEvent(repo="acme/checkout", number=12, state="closed", url="u", by="bob")
        step = rules.aftercare.issue_changed(state, event, T0 + timedelta(days=3))
        step = rules.aftercare.tick(step.state, T0 + timedelta(days=3), T0 + timedelta(days=3))
        assert step.state.status == IncidentStatus.closed
        assert step.state.timeline[-1].text == "Closed: every follow-up is closed"

    def test_an_issue_that_is_not_ours_is_ignored(self) -> None:
        rules, state = self.resolved_with_followup()
        event = IssueEvent(repo="acme/other", number=12, state="closed", url="u")
        step = rules.aftercare.issue_changed(state, event, T0)
        assert step.commands == []

    def test_the_assignee_is_reminded_then_the_lead_too(self) -> None:
        rules, state = self.resolved_with_followup()
        week = T0 + timedelta(days=7)
        first = rules.aftercare.tick(state, week, week)
        assert first.state.timeline[-1].text.startswith("Reminder for bob: follow-up #1")
        fortnight = week + timedelta(days=7)
        second = rules.aftercare.tick(first.state, fortnight, fortnight)
        assert second.state.timeline[-1].text.startswith("Reminder for bob and carol: follow-up #1")

    def test_a_failed_creation_arms_the_periodic_check(self) -> None:
        rules, state = declared()
        request = FollowUpRequest(title="x", by="alice")
        state = IncidentRequests(rules).add_followup(state, request, T0).state
        step = rules.aftercare.followup_failed(state, 1, "GitHub is down", T0)
        assert step.state.followups[0].create_failed
        assert step.state.followup_check_due == T0 + timedelta(hours=6)
        assert rules.aftercare.pending(step.state) == []
