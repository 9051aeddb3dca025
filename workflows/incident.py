"""IncidentWorkflow: declaration to resolution, rollback first, nobody forgotten.

One workflow per incident (id ``incident-INC-42``). The decisions are pure and live
elsewhere (:mod:`workflows.incident_rules` while open, :mod:`workflows.incident_aftercare`
after, :mod:`workflows.incident_checks` for what is refused); this class only feeds them
events (messages, activity results, deadlines), carries out the commands they return
(chat, role pages, the rollback, the tracker, the log) and sleeps until the earliest
deadline. The deadlines live in the state, so continue-as-new carries them over.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow

from workflows import incident_calls as calls
from workflows import incident_checks as checks
from workflows.incident_carry import after_spill, carried, timeline_spill
from workflows.incident_channel import ChannelKeeper
from workflows.incident_checks import OPEN
from workflows.incident_commands import (
    ClosePage,
    Command,
    Invite,
    Mail,
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
    AnnouncementMail,
    CommsConfirmation,
    FollowUpRequest,
    IncidentEdit,
    IncidentInput,
    IncidentRecord,
    IncidentState,
    IncidentStatus,
    IssueEvent,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    SeverityChange,
    UpdateInput,
    incident_record,
)
from workflows.incident_requests import IncidentRequests
from workflows.incident_rules import IncidentRules
from workflows.incident_tracking import Tracking
from workflows.incident_views import render_incident_details, search_updates
from workflows.models import (
    PageAcknowledged,
    RollbackRequest,
)

# Continue-as-new spills the timeline beyond a bound to the store (runs before it carried all).
BOUNDED_CARRY = "incident-bounded-carry"
# A severity's email: announce targets are mailed (runs before this patch posted every
# target to chat as written).
ANNOUNCE_MAIL = "incident-announce-mail"
# An update from someone other than the lead or the messenger is a note (runs before this
# patch took anyone's update as a status update, resetting the reminder clock).
UPDATE_NOTES = "incident-update-notes"


@workflow.defn
class IncidentWorkflow:
    """An incident: channel, lead, messenger, rollback-first triage, updates, resolution."""

    @workflow.init
    def __init__(self, incident: IncidentInput) -> None:
        self._input = incident
        self._rules = IncidentRules(incident)
        self._requests = IncidentRequests(self._rules)
        self._aftercare = self._rules.aftercare
        self._state = incident.carried or self._rules.first_state(workflow.now())
        self._channel = ChannelKeeper(lambda: self._state, self._chat_failed, self._card_posted)
        # A rollback decided before the last run continued as new still runs, once.
        self._rollback_requested = self._state.rollback.requested
        self._wake = False
        self._tracking = Tracking(self._aftercare, lambda: self._state, self._apply)
        self._published: tuple[str, str, str | None] | None = None
        self._signals: list[asyncio.Task[None]] = []
        self._mails: list[AnnouncementMail] = []
        self._logged: IncidentRecord | None = None

    # -- main loop ----------------------------------------------------------------------

    @workflow.run
    async def run(self, incident: IncidentInput) -> IncidentState:
        self._rules.announce_by_mail = workflow.patched(ANNOUNCE_MAIL)
        if incident.carried is None:
            await self._declare()
        while self._state.status != IncidentStatus.closed:
            if self._should_continue_as_new():
                await self._continue_as_new(incident)
            await self._sleep_until_next()
            await self._flush()
            if self._state.status in OPEN:
                await self._run(self._rules.due(self._state, workflow.now()))
                if self._rollback_requested:
                    await self._run_rollback()
            else:
                self._apply(self._rules.close_open_phase(self._state, workflow.now()))
                await self._wind_down()
            await self._tracking.run(workflow.now())
            await self._flush()
            if self._aftercare.archive_due(self._state):
                await self._archive()
            await self._log()
        await self._wind_down()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        await self._archive()
        await self._log()
        self._publish(Shown.of(self._state))
        return self._state

    async def _continue_as_new(self, incident: IncidentInput) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        if workflow.patched(BOUNDED_CARRY):
            # Bounded for months: the oldest timeline entries go to the store first, and
            # nothing queued for the channel is left behind.
            spill = timeline_spill(self._state)
            if spill is not None:
                failed = await calls.archive_timeline(spill)
                if failed is None:  # else carried whole, and tried again next time
                    self._state = after_spill(self._state, len(spill.entries))
            while self._channel.pending():
                await self._flush()
            await workflow.wait_condition(workflow.all_handlers_finished)
            self._state = carried(self._state)
        workflow.continue_as_new(incident.model_copy(update={"carried": self._state}))

    async def _declare(self) -> None:
        rules = self._rules
        await self._run(rules.declare(self._state, workflow.now()))
        channel = await calls.open_channel(rules.channel_request(self._state))
        await self._run(rules.channel_opened(self._state, channel, workflow.now()))
        await self._run(rules.announce(self._state, workflow.now()))
        await self._run(rules.arm(self._state, workflow.now()))
        await self._flush()
        await self._log()

    async def _sleep_until_next(self) -> None:
        deadlines = self._rules.deadlines(self._state)

        def ready() -> bool:
            return (
                self._wake
                or self._rollback_requested
                or self._channel.pending()
                or bool(self._mails)
                or self._tracking.ready()
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

    # -- carrying out decisions ---------------------------------------------------------

    def _apply(self, step: Step) -> None:
        """A decision taken in a message handler: its commands never wait."""
        self._state = step.state
        for command in step.commands:
            self._do(command)

    async def _run(self, step: Step) -> None:
        """A decision taken in the main loop: starting a page or posting the card waits."""
        self._state = step.state
        waited = False
        for command in step.commands:
            if isinstance(command, StartPage):
                await calls.start_page(command.page)
                waited = True
            elif isinstance(command, PostCard):
                await self._channel.post_card(command.post)
                waited = True
            elif isinstance(command, Publish) and waited:
                # Handlers may have run meanwhile: publish what is true now.
                self._publish(Shown.of(self._state))
            else:
                self._do(command)

    def _do(self, command: Command) -> None:
        if isinstance(command, Publish):
            self._publish(command.shown)
        elif isinstance(command, Post):
            self._channel.outbox.append(command.post)
        elif isinstance(command, Mail):
            self._mails.append(command.mail)
        elif isinstance(command, Invite):
            self._channel.invites.append(command.person)
        elif isinstance(command, ClosePage):
            task = calls.close_page(command.page_id, command.why)
            self._signals.append(asyncio.create_task(task))
        elif isinstance(command, RunRollback):
            self._rollback_requested = True
        elif isinstance(command, Wake):
            self._wake = True
        else:  # StartPage and PostCard wait; a handler cannot
            raise TypeError(f"{type(command).__name__} is for the main loop only")

    async def _run_rollback(self) -> None:
        self._rollback_requested = False
        s = self._state
        choice = s.rollback.decision
        if choice not in ("roll_back", "revert") or s.service is None:
            s.rollback.requested = False
            return
        self._apply(self._rules.rollback_started(s, workflow.now()))
        self._publish(Shown.of(self._state))
        request = RollbackRequest(
            incident_id=s.id, service=s.service, by=s.rollback.decided_by or "", choice=choice
        )
        result = await calls.run_rollback(request)
        await self._run(self._rules.rollback_done(self._state, result, workflow.now()))

    async def _wind_down(self) -> None:
        self._apply(self._rules.wind_down(self._state, workflow.now()))
        await asyncio.gather(*self._signals)
        await self._flush()

    # -- chat ----------------------------------------------------------------------------

    async def _flush(self) -> None:
        await self._channel.flush()
        while self._mails:
            mail = self._mails.pop(0)
            sent = await calls.mail_announcement(mail)
            if isinstance(sent, calls.Failed):
                self._apply(self._rules.mail_failed(self._state, mail, sent.reason, workflow.now()))
            else:
                self._apply(self._rules.mail_sent(self._state, mail, sent, workflow.now()))
        self._publish(Shown.of(self._state))

    async def _archive(self) -> None:
        if await self._channel.archive():
            self._apply(self._rules.archived(self._state, workflow.now()))

    def _chat_failed(self, what: str) -> None:
        self._apply(self._rules.chat_failed(self._state, what, workflow.now()))

    def _card_posted(self, ref: str | None) -> None:
        self._apply(self._rules.card_posted(self._state, ref, workflow.now()))

    # -- aftercare ------------------------------------------------------------------------

    async def _log(self) -> None:
        """Upsert the incident-log row when something in it changed."""
        record = incident_record(self._state)
        if record == self._logged:
            return
        failed = await calls.record_incident(record)
        if failed:
            self._apply(self._aftercare.log_failed(self._state, failed.reason, workflow.now()))
        self._logged = record

    # -- messages -----------------------------------------------------------------------

    @workflow.update
    def assign_lead(self, role: RoleInput) -> IncidentState:
        """Make someone the incident lead (taking it from whoever had it)."""
        self._apply(self._requests.assign_lead(self._state, role, workflow.now()))
        return self._state

    @assign_lead.validator
    def _validate_lead(self, role: RoleInput) -> None:
        checks.check_lead(self._state, self._input, role)

    @workflow.update
    def assign_messenger(self, role: RoleInput) -> IncidentState:
        """Make someone the messenger: they keep customers informed."""
        self._apply(self._requests.assign_messenger(self._state, role, workflow.now()))
        return self._state

    @assign_messenger.validator
    def _validate_messenger(self, role: RoleInput) -> None:
        checks.check_messenger(self._state, self._input, role)

    @workflow.update
    def assign_resolution_owner(self, role: RoleInput) -> IncidentState:
        """Name who owns resolving the incident once rollback did not fix it."""
        self._apply(self._requests.assign_resolution_owner(self._state, role, workflow.now()))
        return self._state

    @assign_resolution_owner.validator
    def _validate_owner(self, role: RoleInput) -> None:
        checks.check_role(self._state, self._input, role)

    @workflow.update
    def decide_rollback(self, decision: RollbackDecision) -> IncidentState:
        """Roll back / revert a change / not now."""
        self._apply(self._requests.decide_rollback(self._state, decision, workflow.now()))
        return self._state

    @decide_rollback.validator
    def _validate_decision(self, decision: RollbackDecision) -> None:
        running = self._rollback_requested
        checks.check_decision(self._state, self._input, decision, running=running)

    @workflow.update
    def report_rollback_outcome(self, outcome: RollbackOutcome) -> IncidentState:
        """Whether the rollback resolved it; if not, a resolution owner is asked for."""
        self._apply(self._requests.report_rollback_outcome(self._state, outcome, workflow.now()))
        return self._state

    @report_rollback_outcome.validator
    def _validate_outcome(self, outcome: RollbackOutcome) -> None:
        checks.check_outcome(self._state, self._input, outcome)

    @workflow.update
    def post_update(self, update: UpdateInput) -> IncidentState:
        """A status update: to the channel and the timeline; resets the reminder clock. From
        someone other than the lead or the messenger, a note, marked as such."""
        notes = workflow.patched(UPDATE_NOTES)
        self._apply(self._requests.post_update(self._state, update, workflow.now(), notes=notes))
        return self._state

    @post_update.validator
    def _validate_update(self, update: UpdateInput) -> None:
        checks.check_update(self._state, self._input, update)

    @workflow.update
    def add_note(self, note: NoteInput) -> IncidentState:
        """A note for the timeline from anyone in the incident (not a status update)."""
        self._apply(self._requests.add_note(self._state, note, workflow.now()))
        return self._state

    @add_note.validator
    def _validate_note(self, note: NoteInput) -> None:
        checks.check_note(self._state, self._input, note)

    @workflow.update
    def change_severity(self, change: SeverityChange) -> IncidentState:
        """A new severity; its policy (updates, announcements, paging) applies from now on."""
        self._apply(self._requests.change_severity(self._state, change, workflow.now()))
        return self._state

    @change_severity.validator
    def _validate_severity(self, change: SeverityChange) -> None:
        checks.check_severity(self._state, self._input, change)

    @workflow.update
    def edit(self, edit: IncidentEdit) -> IncidentState:
        """A new title, description or summary (kept up to date while the incident runs)."""
        title = self._state.title
        self._apply(self._requests.edit(self._state, edit, workflow.now()))
        if self._state.title != title:
            # Incident lists read the title from the memo.
            workflow.upsert_memo({"title": self._state.title})
        return self._state

    @edit.validator
    def _validate_edit(self, edit: IncidentEdit) -> None:
        checks.check_edit(self._state, self._input, edit)

    @workflow.update
    def resolve(self, resolution: ResolveInput) -> IncidentState:
        """Resolve: fixed, rolled back, or a false positive."""
        self._apply(self._requests.resolve(self._state, resolution, workflow.now()))
        return self._state

    @resolve.validator
    def _validate_resolve(self, resolution: ResolveInput) -> None:
        checks.check_resolve(self._state, self._input, resolution)

    @workflow.update
    def add_followup(self, request: FollowUpRequest) -> IncidentState:
        """Add a follow-up: a new issue is opened for it, or an existing one is linked."""
        self._apply(self._requests.add_followup(self._state, request, workflow.now()))
        return self._state

    @add_followup.validator
    def _validate_add_followup(self, request: FollowUpRequest) -> None:
        checks.check_followup(self._state, self._input, request)

    @workflow.update
    def confirm_customer_comms(self, confirmation: CommsConfirmation) -> IncidentState:
        """The messenger says customer communication is up to date."""
        step = self._requests.confirm_customer_comms(self._state, confirmation, workflow.now())
        self._apply(step)
        return self._state

    @confirm_customer_comms.validator
    def _validate_comms(self, confirmation: CommsConfirmation) -> None:
        checks.check_comms(self._state, self._input, confirmation)

    @workflow.signal
    def issue_changed(self, event: IssueEvent) -> None:
        """GitHub says an issue closed or reopened (the webhook); unknown issues are ignored."""
        self._apply(self._aftercare.issue_changed(self._state, event, workflow.now()))

    @workflow.signal
    def page_acknowledged(self, ack: PageAcknowledged) -> None:
        """A role page was acknowledged: the acknowledger takes the role unless someone has."""
        self._apply(self._requests.page_acknowledged(self._state, ack, workflow.now()))

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

    def _publish(self, shown: Shown) -> None:
        """Search attributes (as ``shown``, on change only) and the UI's current details."""
        wanted = (shown.status, shown.severity, shown.lead)
        if wanted != self._published:
            workflow.upsert_search_attributes(search_updates(*wanted))
            self._published = wanted
        workflow.set_current_details(render_incident_details(self._state, workflow.now()))
