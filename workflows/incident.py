"""IncidentWorkflow: declaration to resolution, rollback first, nobody forgotten.

One workflow per incident (id ``incident-INC-42``). Message handlers only change state and
queue chat messages; the main loop does the I/O (channel, posts, rollbacks, pages) and
wakes at the earliest deadline (lead page, rollback re-prompt, update reminder…). The
deadlines live in the state, so continue-as-new carries them over unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError
from temporalio.workflow import ParentClosePolicy

from workflows import search
from workflows.chat_models import (
    ChannelInvite,
    ChannelRef,
    ChannelRequest,
    ChannelTopic,
    ChatPost,
    IncidentCard,
)
from workflows.durations import format_duration
from workflows.ids import page_workflow_id
from workflows.incident_aftercare import Aftercare
from workflows.incident_models import (
    CommsConfirmation,
    FollowUp,
    FollowUpRequest,
    IncidentInput,
    IncidentRecord,
    IncidentState,
    IncidentStatus,
    IssueEvent,
    ResolveInput,
    RoleInput,
    RolePage,
    RollbackDecision,
    RollbackOutcome,
    SeverityChange,
    SeverityPolicy,
    StatusUpdate,
    UpdateInput,
)
from workflows.incident_views import (
    channel_name,
    incident_summary,
    render_incident_details,
)
from workflows.models import (
    PageAcknowledged,
    PageActionInput,
    PageInput,
    RollbackRequest,
    RollbackResult,
    TimelineEntry,
)
from workflows.page import PageWorkflow
from workflows.page_views import initial_search_attributes, page_summary

with workflow.unsafe.imports_passed_through():
    from activities.incident import ChatActivities
    from activities.rollback import RollbackActivities

CHAT_TIMEOUT = timedelta(seconds=30)
CHAT_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10)
ROLLBACK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_attempts=3,
    non_retryable_error_types=["Rejected", "NotConfigured", "NotFound"],
)
OPEN = (IncidentStatus.triage, IncidentStatus.active)


@workflow.defn
class IncidentWorkflow(Aftercare):
    """An incident: channel, lead, messenger, rollback-first triage, updates, resolution."""

    @workflow.init
    def __init__(self, incident: IncidentInput) -> None:
        self._input = incident
        self._state = incident.carried or IncidentState(
            id=incident.id,
            title=incident.title,
            description=incident.description,
            severity=incident.severity.name,
            service=incident.service,
            team=incident.team,
            customer_impact=incident.customer_impact,
            security=incident.security,
            private=incident.security,
            declared_by=incident.declared_by,
            declared_at=workflow.now(),
            number=incident.number,
            from_page=incident.from_page,
            severity_policy=incident.severity,
        )
        self._outbox: list[ChatPost] = []
        self._invites: list[str] = []
        self._rollback_requested = False
        self._wake = False
        self._published: dict[str, str | None] = {}
        self._signals: list[asyncio.Task[None]] = []
        # What the channel shows now (its pinned card, its topic): updated when they differ.
        self._card_shown: IncidentCard | None = None
        self._topic_shown: str | None = None
        self._logged: IncidentRecord | None = None

    # -- main loop ----------------------------------------------------------------------

    @workflow.run
    async def run(self, incident: IncidentInput) -> IncidentState:
        if incident.carried is None:
            await self._declare()
        while self._state.status != IncidentStatus.closed:
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._flush()
                workflow.continue_as_new(incident.model_copy(update={"carried": self._state}))
            await self._sleep_until_next()
            await self._flush()
            if self._state.status in OPEN:
                await self._due()
                if self._rollback_requested:
                    await self._run_rollback()
            else:
                self._clear_open_deadlines()
                await self._wind_down()
            await self._aftercare()
            await self._flush()
            if self._archive_due():
                await self._archive()
            await self._log()
        await self._wind_down()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        await self._archive()
        await self._log()
        self._publish()
        return self._state

    async def _declare(self) -> None:
        s = self._state
        now = workflow.now()
        who = f"by {s.declared_by}"
        source = f" (from page {s.from_page})" if s.from_page else ""
        self._record(
            "declared", f"{s.id} declared {who}{source}: {s.title} [{s.severity}]", s.declared_by
        )
        s.channel = await workflow.execute_activity_method(
            ChatActivities.open_channel,
            ChannelRequest(
                incident_id=s.id,
                name=channel_name(s.id, s.title),
                private=s.private,
                members=[s.declared_by],
            ),
            start_to_close_timeout=CHAT_TIMEOUT,
            retry_policy=CHAT_RETRY,
            summary="open channel",
        )
        self._record("channel", f"Channel {s.channel} opened")
        await self._post_card()
        if not s.private:
            for target in self._severity().announce:
                self._outbox.append(
                    ChatPost(
                        channel=target,
                        text=f":rotating_light: {incident_summary(s)} — join {s.channel}",
                    )
                )
            if self._severity().announce:
                self._record("announced", f"Announced in {', '.join(self._severity().announce)}")
        else:
            self._record("private", "Security incident: private, not announced")
        if s.security and self._input.security_team:
            await self._page(
                "security", self._input.security_team, f"{s.id} security incident: {s.title}"
            )
        if self._severity().page:
            s.lead_page_due = now + timedelta(seconds=self._input.lead_timeout_seconds)
        if s.customer_impact and self._input.support_team:
            s.messenger_page_due = now + timedelta(seconds=self._input.lead_timeout_seconds)
        self._prompt_rollback()
        s.update_due = now + self._update_interval()
        await self._flush()
        await self._log()

    async def _sleep_until_next(self) -> None:
        deadlines = [
            d
            for d in (
                self._state.lead_page_due,
                self._state.messenger_page_due,
                self._state.rollback_prompt_due,
                self._state.owner_page_due,
                self._state.update_due,
            )
            if d is not None
        ]
        deadlines += self._aftercare_deadlines()

        def ready() -> bool:
            return (
                self._wake
                or self._rollback_requested
                or bool(self._outbox)
                or bool(self._invites)
                or self._aftercare_ready()
            )

        if not deadlines:
            await workflow.wait_condition(ready)
        else:
            wait = max(min(deadlines) - workflow.now(), timedelta(0))
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    ready, timeout=wait, timeout_summary="next incident deadline"
                )
        # Cleared after waking, not before sleeping: a handler that ran while the loop was
        # busy (an activity under way) still wakes the next sleep.
        self._wake = False

    async def _due(self) -> None:
        s = self._state
        now = workflow.now()
        if s.lead_page_due and now >= s.lead_page_due:
            s.lead_page_due = None
            if s.lead is None:
                await self._page(
                    "lead", s.team, f"We have an incident, please help: {s.id} {s.title}"
                )
        if s.messenger_page_due and now >= s.messenger_page_due:
            s.messenger_page_due = None
            if s.messenger is None and self._input.support_team:
                await self._page(
                    "messenger",
                    self._input.support_team,
                    f"{s.id} affects customers, we need a messenger: {s.title}",
                )
        if s.rollback_prompt_due and now >= s.rollback_prompt_due:
            s.rollback_prompt_due = None
            if s.rollback.decision is None:
                self._prompt_rollback()
            elif s.rollback.result is not None and s.rollback.resolved_it is None:
                self._prompt_outcome()
        if s.owner_page_due and now >= s.owner_page_due:
            s.owner_page_due = None
            if s.resolution_owner is None:
                await self._page(
                    "resolution", s.team, f"{s.id} needs a resolution owner: {s.title}"
                )
        if s.update_due and now >= s.update_due:
            s.reminders += 1
            since = format_duration(self._update_interval() * s.reminders)
            lead = s.lead or "lead (nobody yet)"
            self._say(
                f"Reminder for {lead}: no status update for {since}. Post one with /incident update."
            )
            if s.reminders >= 2 and not s.private:
                for target in self._severity().announce:
                    self._outbox.append(
                        ChatPost(
                            channel=target,
                            text=f"{s.id}: no status update for {since} (lead: {lead})",
                        )
                    )
            s.update_due = now + self._update_interval()

    async def _page(self, purpose: str, team: str, summary: str) -> None:
        """Open a child page for a role; its acknowledgement comes back as a signal."""
        s = self._state
        count = sum(1 for p in s.pages if p.purpose == purpose) + 1
        key = f"{s.id.lower()}-{purpose}-{count}"
        page = PageInput(
            key=key,
            team=team,
            summary=summary,
            created_by="tocsin",
            source="incident",
            notify_workflow=workflow.info().workflow_id,
            purpose=purpose,
        )
        await workflow.start_child_workflow(
            PageWorkflow.run,
            page,
            id=page_workflow_id(key),
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=page_summary(team, summary),
            search_attributes=initial_search_attributes(team),
        )
        s.pages.append(RolePage(purpose=purpose, page_id=key, team=team))
        self._record("page", f"Paged team {team} for a {purpose}: page {key}")
        self._say(f"Paged {team} on call for a {purpose} (page {key})")

    async def _run_rollback(self) -> None:
        s = self._state
        self._rollback_requested = False
        choice = s.rollback.decision
        if choice not in ("roll_back", "revert") or s.service is None:
            return
        s.rollback.running = True
        self._publish()
        try:
            result = await workflow.execute_activity_method(
                RollbackActivities.run_rollback,
                RollbackRequest(
                    incident_id=s.id,
                    service=s.service,
                    by=s.rollback.decided_by or "",
                    choice=choice,
                ),
                start_to_close_timeout=timedelta(minutes=15),
                retry_policy=ROLLBACK_RETRY,
                summary=f"rollback {s.service}",
            )
        except ActivityError as err:
            cause = err.cause
            result = RollbackResult(
                ok=False, runner="unknown", summary=f"rollback could not run: {cause or err}"
            )
        s.rollback.running = False
        s.rollback.result = result
        outcome = "succeeded" if result.ok else "failed"
        detail = f"\n{result.output[-1500:]}" if result.output else ""
        self._record(
            "rollback-result",
            f"Rollback of {s.service} {outcome} ({result.runner}): {result.summary}{detail}",
        )
        self._say(
            f"Rollback of {s.service} {outcome}: {result.summary}"
            + (f" {result.url}" if result.url else "")
        )
        self._prompt_outcome()

    async def _wind_down(self) -> None:
        s = self._state
        for page in s.pages:
            if not page.closed:
                page.closed = True
                self._signals.append(asyncio.create_task(_close_page(page, f"{s.id} resolved")))
        await asyncio.gather(*self._signals)
        await self._flush()

    async def _flush(self) -> None:
        """Invite, post what is queued in order, then bring the card and topic up to date.

        A chat outage is retried for a while, then recorded and skipped: the incident's
        decisions and timers never wait on chat, and the timeline keeps every message.
        """
        s = self._state
        if self._invites and s.channel is not None:
            people, self._invites = sorted(set(self._invites)), []
            try:
                await workflow.execute_activity_method(
                    ChatActivities.invite_to_channel,
                    ChannelInvite(channel=s.channel, people=people),
                    start_to_close_timeout=CHAT_TIMEOUT,
                    retry_policy=CHAT_RETRY,
                    summary="invite to channel",
                )
            except ActivityError as err:
                self._record("chat-failed", f"Could not invite {', '.join(people)}: {err.cause}")
        while self._outbox:
            await self._chat(self._outbox.pop(0))
        if s.channel is not None and s.card_ref is not None and self._card_changed():
            card = IncidentCard.of(s)
            self._card_shown = card
            post = ChatPost(channel=s.channel, text=self._card(), card=card, replace=s.card_ref)
            s.card_ref = await self._chat(post, "update the incident card") or s.card_ref
        if s.channel is not None and self._topic() != self._topic_shown:
            self._topic_shown = self._topic()
            try:
                await workflow.execute_activity_method(
                    ChatActivities.set_channel_topic,
                    ChannelTopic(channel=s.channel, topic=self._topic_shown),
                    start_to_close_timeout=CHAT_TIMEOUT,
                    retry_policy=CHAT_RETRY,
                    summary="set channel topic",
                )
            except ActivityError as err:
                self._record("chat-failed", f"Could not set the channel topic: {err.cause}")
        self._publish()

    async def _chat(self, post: ChatPost, summary: str | None = None) -> str | None:
        """Post (or replace) one message; returns its reference, None when chat failed."""
        try:
            return await workflow.execute_activity_method(
                ChatActivities.post_message,
                post,
                start_to_close_timeout=CHAT_TIMEOUT,
                retry_policy=CHAT_RETRY,
                summary=summary or f"post to {post.channel}",
            )
        except ActivityError as err:
            self._record("chat-failed", f"Could not post to {post.channel}: {err.cause}")
            return None

    async def _post_card(self) -> None:
        """The incident card, pinned in the channel; kept up to date by :meth:`_flush`."""
        s = self._state
        if s.channel is None:
            return
        text = self._card()
        self._record("chat", text)
        card = IncidentCard.of(s)
        self._card_shown = card
        s.card_ref = await self._chat(
            ChatPost(channel=s.channel, text=text, card=card, pin=True), "post the incident card"
        )

    def _card_changed(self) -> bool:
        """Whether the card shows something stale (its "last event" line alone does not count)."""
        if self._card_shown is None:
            return True
        return IncidentCard.of(self._state).model_copy(
            update={"last": None}
        ) != self._card_shown.model_copy(update={"last": None})

    def _topic(self) -> str:
        s = self._state
        return (
            f"{s.id} · {s.severity} · {s.status.value} · lead: {s.lead or 'nobody yet'} · {s.title}"
        )

    async def _archive(self) -> None:
        s = self._state
        if s.channel is None or s.archived:
            return
        try:
            await workflow.execute_activity_method(
                ChatActivities.archive_channel,
                ChannelRef(channel=s.channel),
                start_to_close_timeout=CHAT_TIMEOUT,
                retry_policy=CHAT_RETRY,
                summary="archive channel",
            )
        except ActivityError as err:
            self._record("chat-failed", f"Could not archive {s.channel}: {err.cause}")
            return
        s.archived = True
        self._record("archived", f"Channel {s.channel} archived")

    # -- prompts ------------------------------------------------------------------------

    def _prompt_rollback(self) -> None:
        s = self._state
        s.rollback.prompts += 1
        target = f"`{s.service}`" if s.service else "the affected service"
        lead = s.lead or "incident lead"
        self._say(
            f"{lead}: Roll back {target} to the last known good state? "
            "Choose: roll back / revert a change / not now"
        )
        self._record(
            "prompt", f"Asked {lead} whether to roll back {target} (prompt {s.rollback.prompts})"
        )
        s.rollback_prompt_due = workflow.now() + self._prompt_interval()

    def _ask_new_lead(self) -> None:
        """Rollback first: a new lead is asked at once if nobody has decided yet."""
        if self._state.rollback.decision is None:
            self._prompt_rollback()

    def _prompt_outcome(self) -> None:
        s = self._state
        self._say(f"{s.lead or 'incident lead'}: did the rollback resolve it? (yes / no)")
        s.rollback_prompt_due = workflow.now() + self._prompt_interval()

    # -- messages -----------------------------------------------------------------------

    @workflow.update
    def assign_lead(self, role: RoleInput) -> IncidentState:
        """Make someone the incident lead (taking it from whoever had it)."""
        s = self._state
        previous = s.lead
        s.lead = role.person
        s.acknowledged_at = s.acknowledged_at or workflow.now()
        s.lead_page_due = None
        if s.status == IncidentStatus.triage:
            s.status = IncidentStatus.active
        change = f" (was {previous})" if previous else ""
        self._record("lead", f"{role.person} is the incident lead{change}", role.by)
        self._say(f"{role.person} is now the incident lead")
        self._fulfil("lead", role.person)
        self._ask_new_lead()
        return self._state

    @assign_lead.validator
    def _validate_lead(self, role: RoleInput) -> None:
        self._require_open()
        self._require_known(role.person)
        self._require_known(role.by)
        if self._state.lead == role.person:
            raise ValueError(f"{role.person} is already the lead of {self._state.id}")

    @workflow.update
    def assign_messenger(self, role: RoleInput) -> IncidentState:
        """Make someone the messenger: they keep customers informed."""
        self._state.messenger = role.person
        self._state.messenger_page_due = None
        self._record("messenger", f"{role.person} is the messenger", role.by)
        self._say(f"{role.person} is now the messenger (customer communication)")
        self._fulfil("messenger", role.person)
        return self._state

    @assign_messenger.validator
    def _validate_messenger(self, role: RoleInput) -> None:
        self._require_open()
        self._require_known(role.person)
        self._require_known(role.by)
        members = self._input.support_members
        if self._input.support_team and role.person not in members:
            raise ValueError(
                f"the messenger must be from {self._input.support_team} ({', '.join(members)}); "
                f"{role.person} is not"
            )

    @workflow.update
    def assign_resolution_owner(self, role: RoleInput) -> IncidentState:
        """Name who owns resolving the incident once rollback did not fix it."""
        self._state.resolution_owner = role.person
        self._state.owner_page_due = None
        self._record("owner", f"{role.person} owns the resolution", role.by)
        self._say(f"{role.person} owns the resolution")
        self._fulfil("resolution", role.person)
        return self._state

    @assign_resolution_owner.validator
    def _validate_owner(self, role: RoleInput) -> None:
        self._require_open()
        self._require_known(role.person)
        self._require_known(role.by)

    @workflow.update
    def decide_rollback(self, decision: RollbackDecision) -> IncidentState:
        """Roll back / revert a change / not now."""
        s = self._state
        s.rollback.decision = decision.choice
        s.rollback.decided_by = decision.by
        s.rollback.decided_at = workflow.now()
        s.rollback.result = None
        s.rollback.resolved_it = None
        words = {"roll_back": "roll back", "revert": "revert a change", "not_now": "not now"}
        self._record(
            "rollback-decision", f"Rollback decision: {words[decision.choice]}", decision.by
        )
        self._say(f"{decision.by} decided: {words[decision.choice]}")
        if decision.choice == "not_now":
            s.rollback_prompt_due = workflow.now() + self._prompt_interval()
        else:
            s.rollback_prompt_due = None
            if s.service is None:
                self._record(
                    "rollback-result", "No service named: nothing to roll back automatically"
                )
            else:
                self._rollback_requested = True
        self._wake = True
        return self._state

    @decide_rollback.validator
    def _validate_decision(self, decision: RollbackDecision) -> None:
        self._require_open()
        self._require_known(decision.by)
        if self._state.rollback.running or self._rollback_requested:
            raise ValueError("a rollback is running: wait for its result")

    @workflow.update
    def report_rollback_outcome(self, outcome: RollbackOutcome) -> IncidentState:
        """Whether the rollback resolved it; if not, a resolution owner is asked for."""
        s = self._state
        s.rollback.resolved_it = outcome.resolved
        s.rollback_prompt_due = None
        if outcome.resolved:
            self._record("rollback-outcome", "The rollback resolved it", outcome.by)
            self._say("Rollback resolved it: resolve the incident when you are satisfied")
        else:
            self._record("rollback-outcome", "The rollback did not resolve it", outcome.by)
            self._say(
                f"Who owns the resolution? Without an owner in {format_duration(self._prompt_interval())}, {s.team} on call is paged."
            )
            s.owner_page_due = workflow.now() + self._prompt_interval()
        self._wake = True
        return self._state

    @report_rollback_outcome.validator
    def _validate_outcome(self, outcome: RollbackOutcome) -> None:
        self._require_open()
        self._require_known(outcome.by)
        if self._state.rollback.result is None:
            raise ValueError("no rollback has run yet")

    @workflow.update
    def post_update(self, update: UpdateInput) -> IncidentState:
        """A status update: to the channel and the timeline; resets the reminder clock."""
        s = self._state
        now = workflow.now()
        s.updates.append(StatusUpdate(at=now, by=update.by, text=update.text))
        s.last_update_at = now
        s.reminders = 0
        s.update_due = now + self._update_interval()
        self._record("update", update.text, update.by)
        self._say(f"Status update from {update.by}: {update.text}")
        return self._state

    @post_update.validator
    def _validate_update(self, update: UpdateInput) -> None:
        self._require_open()
        self._require_known(update.by)

    @workflow.update
    def change_severity(self, change: SeverityChange) -> IncidentState:
        """A new severity; its policy (updates, announcements, paging) applies from now on."""
        s = self._state
        before = s.severity
        s.severity = change.severity.name
        s.severity_policy = change.severity
        s.update_due = workflow.now() + self._update_interval()
        if (
            change.severity.page
            and s.lead is None
            and s.lead_page_due is None
            and not any(p.purpose == "lead" for p in s.pages)
        ):
            s.lead_page_due = workflow.now() + timedelta(seconds=self._input.lead_timeout_seconds)
        self._record("severity", f"Severity {before} → {s.severity}", change.by)
        self._say(f"Severity changed from {before} to {s.severity} by {change.by}")
        if not s.private:
            for target in change.severity.announce:
                self._outbox.append(
                    ChatPost(channel=target, text=f"{incident_summary(s)} (was {before})")
                )
        return self._state

    @change_severity.validator
    def _validate_severity(self, change: SeverityChange) -> None:
        self._require_open()
        self._require_known(change.by)
        if change.severity.name == self._state.severity:
            raise ValueError(f"{self._state.id} is already {change.severity.name}")

    @workflow.update
    def resolve(self, resolution: ResolveInput) -> IncidentState:
        """Resolve: fixed, rolled back, or a false positive."""
        s = self._state
        now = workflow.now()
        s.resolved_at = now
        s.resolved_by = resolution.by
        s.resolution = resolution.resolution
        s.resolution_summary = resolution.summary
        s.status = IncidentStatus.resolved
        self._record(
            "resolved", f"Resolved ({resolution.resolution}): {resolution.summary}", resolution.by
        )
        self._say(
            f"{s.id} resolved by {resolution.by} ({resolution.resolution}): {resolution.summary}"
        )
        self._clear_open_deadlines()
        if self._severity().postmortem:
            s.postmortem_owed = True
            self._record(
                "postmortem", "Postmortem required: the incident stays resolved until it is done"
            )
        if s.messenger is not None or s.customer_impact:
            s.messenger_confirm_due = now + timedelta(seconds=self._input.messenger_confirm_seconds)
            self._say(
                f"{s.messenger or 'Messenger'}: please confirm that customer communication is "
                "updated (/incident comms)."
            )
        self._maybe_close()
        self._wake = True
        return self._state

    @resolve.validator
    def _validate_resolve(self, resolution: ResolveInput) -> None:
        self._require_open()
        self._require_known(resolution.by)
        lead = self._state.lead
        if lead is not None and resolution.by != lead:
            raise ValueError(f"only the incident lead ({lead}) may resolve {self._state.id}")

    @workflow.update
    def add_followup(self, request: FollowUpRequest) -> IncidentState:
        """Add a follow-up: a new issue is opened for it, or an existing one is linked."""
        s = self._state
        followup = FollowUp(
            number=len(s.followups) + 1,
            title=request.title or request.issue_url or "",
            body=request.body,
            assignee=request.assignee,
            repo=request.repo or self._input.followup_repo,
            issue_url=request.issue_url,
            added_by=request.by,
            added_at=workflow.now(),
        )
        s.followups.append(followup)
        self._record(
            "followup", f"Follow-up #{followup.number} added: {followup.title}", request.by
        )
        self._wake = True
        return self._state

    @add_followup.validator
    def _validate_add_followup(self, request: FollowUpRequest) -> None:
        if self._state.status == IncidentStatus.closed:
            raise ValueError(f"{self._state.id} is closed")
        self._require_known(request.by)
        if request.assignee is not None:
            self._require_known(request.assignee)
        if (request.title is None) == (request.issue_url is None):
            raise ValueError("a follow-up needs exactly one of title or issue_url")
        if request.title is not None and not (request.repo or self._input.followup_repo):
            raise ValueError(
                "no repository for follow-up issues: pass repo, or set "
                "services.<service>.repo or incidents.followups.repo in tocsin.yaml"
            )

    @workflow.update
    def confirm_customer_comms(self, confirmation: CommsConfirmation) -> IncidentState:
        """The messenger says customer communication is up to date."""
        s = self._state
        s.messenger_confirmed_by = confirmation.by
        s.messenger_confirmed_at = workflow.now()
        s.messenger_confirm_due = None
        note = f": {confirmation.note}" if confirmation.note else ""
        self._record(
            "comms",
            f"{confirmation.by} confirmed customer communication is updated{note}",
            confirmation.by,
        )
        self._wake = True
        return self._state

    @confirm_customer_comms.validator
    def _validate_comms(self, confirmation: CommsConfirmation) -> None:
        s = self._state
        if s.status == IncidentStatus.closed:
            raise ValueError(f"{s.id} is closed")
        self._require_known(confirmation.by)
        allowed = {p for p in (s.messenger, s.lead) if p}
        if allowed and confirmation.by not in allowed:
            raise ValueError(
                f"only the messenger ({s.messenger or '—'}) or the lead ({s.lead or '—'}) "
                "may confirm customer communication"
            )

    @workflow.signal
    def issue_changed(self, event: IssueEvent) -> None:
        """GitHub says an issue closed or reopened (the webhook); unknown issues are ignored."""
        if self._apply(event, source="webhook"):
            self._wake = True

    @workflow.signal
    def page_acknowledged(self, ack: PageAcknowledged) -> None:
        """A role page was acknowledged: the acknowledger takes the role unless someone has."""
        s = self._state
        page = next((p for p in s.pages if p.page_id == ack.page_id), None)
        if page is None or s.status not in OPEN:
            return
        page.acknowledged_by = ack.by
        page.closed = True
        self._invites.append(ack.by)
        # The acknowledger has the role (or it was already taken): the page's work is done.
        self._signals.append(asyncio.create_task(_close_page(page, f"{ack.by} answered it")))
        self._record(
            "page-ack", f"{ack.by} acknowledged page {ack.page_id} ({page.purpose})", ack.by
        )
        if page.purpose == "lead" and s.lead is None:
            s.lead = ack.by
            s.acknowledged_at = s.acknowledged_at or workflow.now()
            s.status = IncidentStatus.active
            self._record("lead", f"{ack.by} is the incident lead (acknowledged the page)", ack.by)
            self._say(f"{ack.by} acknowledged the page and is now the incident lead")
            self._ask_new_lead()
        elif page.purpose == "messenger" and s.messenger is None:
            s.messenger = ack.by
            self._record("messenger", f"{ack.by} is the messenger (acknowledged the page)", ack.by)
            self._say(f"{ack.by} is now the messenger")
        elif page.purpose == "resolution" and s.resolution_owner is None:
            s.resolution_owner = ack.by
            self._record("owner", f"{ack.by} owns the resolution (acknowledged the page)", ack.by)
            self._say(f"{ack.by} owns the resolution")
        self._wake = True

    @workflow.query
    def get_state(self) -> IncidentState:
        """The incident with its whole timeline."""
        return self._state

    # -- helpers ------------------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        limit = self._input.history_limit
        if limit and info.get_current_history_length() > limit:
            return True
        return info.is_continue_as_new_suggested()

    def _fulfil(self, purpose: str, person: str) -> None:
        """A role was filled: invite the person; close the page that was looking for it."""
        self._invites.append(person)
        self._wake = True
        for page in self._state.pages:
            if page.purpose == purpose and not page.closed:
                page.closed = True
                why = f"{person} took the {purpose} role"
                self._signals.append(asyncio.create_task(_close_page(page, why)))

    def _clear_open_deadlines(self) -> None:
        """Role pages, prompts and update reminders end with the incident's open phase (a
        declaration still under way when it was resolved may have set them after)."""
        s = self._state
        s.lead_page_due = s.messenger_page_due = s.rollback_prompt_due = None
        s.owner_page_due = s.update_due = None

    def _require_open(self) -> None:
        if self._state.status not in OPEN:
            raise ValueError(f"{self._state.id} is {self._state.status.value}")

    def _require_known(self, person: str) -> None:
        if self._input.people and person not in self._input.people:
            raise ValueError(f"{person!r} is not a person in Tocsin's config")

    def _severity(self) -> SeverityPolicy:
        return self._state.severity_policy or self._input.severity

    def _update_interval(self) -> timedelta:
        return timedelta(seconds=self._severity().update_interval_seconds)

    def _prompt_interval(self) -> timedelta:
        return timedelta(seconds=self._input.prompt_interval_seconds)

    def _card(self) -> str:
        s = self._state
        lines = [
            f"*{s.id}* · {s.severity} · {s.title}",
            f"Declared by {s.declared_by}" + (f" · service `{s.service}`" if s.service else ""),
        ]
        if s.description:
            lines.append(s.description)
        flags = [
            f for f, on in (("customer impact", s.customer_impact), ("security", s.security)) if on
        ]
        if flags:
            lines.append("Flags: " + ", ".join(flags))
        lines.append(f"Lead: {s.lead or 'nobody yet — take it'} · Messenger: {s.messenger or '—'}")
        return "\n".join(lines)

    def _say(self, text: str) -> None:
        channel = self._state.channel
        if channel is not None and not self._state.archived:
            self._outbox.append(ChatPost(channel=channel, text=text))
        self._record("chat", text)

    def _record(self, kind: str, text: str, by: str | None = None) -> None:
        self._state.timeline.append(TimelineEntry(at=workflow.now(), kind=kind, text=text, by=by))
        self._publish()

    def _publish(self) -> None:
        """Search attributes (on change only) and the UI's current details."""
        s = self._state
        wanted: dict[str, str | None] = {
            search.STATUS.name: s.status.value,
            search.SEVERITY.name: s.severity,
            search.LEAD.name: s.lead,
        }
        if wanted != self._published:
            updates = [
                search.STATUS.value_set(s.status.value),
                search.SEVERITY.value_set(s.severity),
            ]
            updates.append(search.LEAD.value_set(s.lead) if s.lead else search.LEAD.value_unset())
            workflow.upsert_search_attributes(updates)
            self._published = wanted
        workflow.set_current_details(render_incident_details(s, workflow.now()))


async def _close_page(page: RolePage, why: str) -> None:
    """Resolve a role page whose need is met (it may already be gone)."""
    handle = workflow.get_external_workflow_handle(page_workflow_id(page.page_id))
    try:
        await handle.signal(PageWorkflow.close, PageActionInput(by="tocsin", note=why))
    except FailureError as err:  # the server could not signal it: the page has ended
        workflow.logger.info("page %s already ended (%s)", page.page_id, err)


