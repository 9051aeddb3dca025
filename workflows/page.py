"""PageWorkflow: notify the on-call people and escalate on durable timers until acknowledged.

One workflow per page (id ``page-<key>``). Each step is resolved against the config of
that moment (an activity), every recipient is notified concurrently on their contact
methods in order (a failing method is retried, then the next one is tried), and the
acknowledgement timer runs independently of the notifications, so a slow or failing
notifier never delays an escalation.

A page can live for months (a flapping alert group): when its history grows long it
archives its older timeline entries and resolved alerts (``workflows.page_carry``) and
continues as new, its escalation timer due at the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import search
from workflows.actors import actor_label, require_actor
from workflows.archive_models import TimelineEntries, TimelineSlice
from workflows.durations import format_duration
from workflows.failures import activity_failure
from workflows.models import (
    AlertBatch,
    AlertList,
    AlertQuery,
    InlineStep,
    NotificationRecord,
    PageAcknowledged,
    PageActionInput,
    PageCard,
    PageCarry,
    PageInput,
    PageState,
    PageStatus,
    Recipient,
    ResolveStepResult,
    TimelineEntry,
)
from workflows.page_actions import (
    ReassignInput,
    RespondersInput,
    SnoozeInput,
    mark_triggered,
    reassigned_text,
    snooze_refusal,
    snoozed_text,
    unacknowledge_refusal,
    wake_text,
)
from workflows.page_activities import notify, post_card, resolve_step, tell
from workflows.page_alerts import (
    alert_index,
    alert_notes,
    alert_verdict,
    merge_alerts,
    page_severity,
)
from workflows.page_continue import Continuation
from workflows.page_log import incident_of, page_log_entry
from workflows.page_log_calls import record_page
from workflows.page_rules import (
    acknowledge_refusal,
    escalate_refusal,
    mark_acknowledged,
    mark_reopened,
    mark_resolved,
    opened_state,
    opening_note,
    responder_refusal,
    start_step,
    with_note,
)
from workflows.page_views import (
    alert_slice,
    bounded_view,
    count_alerts,
    render_details,
    timeline_slice,
)
from workflows.policy import Position, next_position
from workflows.silence_models import SilenceEnded

CONFIG_RETRY_DELAY = timedelta(minutes=1)
# Pages started before continue-as-new replay without it.
CARRY_PATCH = "page-continue-as-new"
# Each step's recipients are resolved by a local activity, in the page's workflow task.
LOCAL_RESOLVE = "page-local-resolve"
# An acknowledgement from intake runs the responder check (see _intake_acknowledge).
INTAKE_ACK_CHECKED = "intake-ack-checked"
# Deliveries update the summary, severity and urgency (see _follow); before, the first
# event's stayed.
FOLLOWS_ALERTS = "page-follows-alerts"
# A low-urgency step outside working hours waits for them (see _hold).
WORKING_HOURS = "low-urgency-working-hours"
# An open page that is not escalating can be put back to triggered (see _held).
RESPONDER_ACTIONS = "page-responder-actions"
# People's notification rules, and a step nobody could be reached at (see _notify).
NOTIFY_RULES = "page-notify-rules"
# The page log: the page writes its row as it moves (see _log).
PAGE_LOG = "page-log"
# A step a maintenance window or silence holds notifies nobody until it ends (see _hold).
SILENCES = "page-silences"


@workflow.defn
class PageWorkflow:
    """A page: escalate through the team's policy until someone acknowledges, then wait to resolve."""

    @workflow.init
    def __init__(self, page: PageInput) -> None:
        self._input = page
        # Besides the state, what a next run would need: where the escalation stands, who
        # may act (the whole carry when this run continues an earlier one).
        self._run = page.carried or PageCarry(
            state=opened_state(page, workflow.info().workflow_id, workflow.now()),
            # Seeded from the starter's view of the config so an ack can land before step
            # 1 resolves; refreshed from the config at every step.
            members=page.team_members,
        )
        self._state = self._run.state
        self._flap_window = timedelta(seconds=page.flap_window_seconds)
        self._opened = page.carried is not None
        self._alert_index = alert_index(self._state.alerts)
        # Kept up to date as alerts merge: counting them for every delivery costs a storm.
        self._firing = count_alerts(self._state.alerts, "firing")
        self._notifications: list[asyncio.Task[None]] = []
        self._card_shown: PageCard | None = None
        self._card_task: asyncio.Task[None] | None = None
        self._finished = False
        # The current step's recipients, and how many of them could not be reached.
        self._step_recipients = self._unreachable = 0
        # When the current step was due (for the lateness its notifications report): the
        # page's start for its first step, the timeout's instant for a step it moved.
        self._step_due: datetime | None = None
        # Bumped when a silence holding the page ends early, or alerts join it while held:
        # the held step is resolved again at once.
        self._silence_checks = 0
        self._waits = Continuation(page, self._run, self._quiet, self._record)

    @workflow.run
    async def run(self, page: PageInput) -> PageState:
        resume = page.carried is not None
        self._waits.enabled = resume or workflow.patched(CARRY_PATCH)
        if not resume:
            self._record(
                "triggered",
                opening_note(page, self._state),
                by=page.created_by,
                via=page.created_via,
            )
            self._opened = True
            if page.route_note:
                self._record("unrouted" if page.unrouted else "route", page.route_note)
            self._log("opened")
        elif self._run.channel is not None:
            self._follow_channel(self._run.channel, shown=PageCard.of(self._state))
        phase = self._run.phase if resume else "escalating"
        while True:
            if phase == "escalating" and self._state.status == PageStatus.triggered:
                await self._escalate(resume)
            if phase != "flap":
                if workflow.patched(RESPONDER_ACTIONS):
                    if await self._held():
                        phase, resume = "escalating", False
                        continue
                else:
                    await self._waits.wait(
                        lambda: self._state.status == PageStatus.resolved, "open"
                    )
            if not await self._reopened_within_flap_window(resume=phase == "flap"):
                break
            phase, resume = "escalating", False
        # Let notifications already under way finish so their outcome is on record.
        self._finished = True
        await asyncio.gather(*self._notifications)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._publish()
        return bounded_view(self._state)

    async def _reopened_within_flap_window(self, resume: bool) -> bool:
        """After an alert page resolves, wait the flap window for it to fire again."""
        if not self._flap_window:
            return False
        if not resume:
            self._run.flap_until = workflow.now() + self._flap_window
        try:
            await self._waits.wait(
                lambda: self._state.status != PageStatus.resolved,
                "flap",
                self._run.flap_until,
                "flap window",
            )
        except TimeoutError:
            return False
        return True

    async def _escalate(self, resume: bool) -> None:
        """Step through the policy; a continued page resumes where its last run waited."""
        run = self._run
        position = Position(run.step_round, run.step_index) if resume else Position()
        if not resume:
            self._state.escalation_exhausted = False
            run.escalate_requested = False
        seen = run.retriggered
        late_from = workflow.info().start_time if not resume and self._state.step == 0 else None
        while self._state.status == PageStatus.triggered:
            run.step_index, run.step_round = position.index, position.round
            due = self._state.next_escalation_at if resume else None
            resume = False
            if due is None:
                step = await self._resolve(position.index)
                if self._state.status != PageStatus.triggered:
                    return
                if position.index >= step.step_count:
                    # The policy shrank under us: treat it as run through.
                    self._exhaust()
                    return
                if (
                    step.wait_until is not None and workflow.patched(WORKING_HOURS)
                ) or step.silenced_until is not None:
                    ready = await self._hold(position, step)
                    if run.retriggered != seen:  # reassigned while waiting: start over
                        seen, position = run.retriggered, Position()
                        continue
                    if ready is None:
                        return
                    step, late_from = ready, None
                self._step_due = late_from or workflow.now()
                self._start_step(position, step)
                run.ack_timeout_seconds = step.ack_timeout_seconds
                due = workflow.now() + timedelta(seconds=step.ack_timeout_seconds)
                self._state.next_escalation_at = due
                self._publish()

            def moved(seen: int = seen) -> bool:
                status = self._state.status
                return (
                    status != PageStatus.triggered
                    or run.escalate_requested
                    or run.retriggered != seen
                )

            try:
                await self._waits.wait(
                    moved,
                    "escalating",
                    due,
                    f"ack timeout step {position.index + 1}",
                )
                late_from = None
            except TimeoutError:
                late_from = due
                waited = format_duration(timedelta(seconds=run.ack_timeout_seconds))
                self._record(
                    "timeout", f"No acknowledgement within {waited} at step {self._state.step}"
                )
            self._state.next_escalation_at = None
            if run.retriggered != seen:  # reassigned: the (new) policy from its first step
                seen, position = run.retriggered, Position()
                run.escalate_requested = False
                continue
            if self._state.status != PageStatus.triggered:
                return
            run.escalate_requested = False
            following = next_position(position, self._state.step_count, self._state.repeat)
            if following is None:
                self._exhaust()
                return
            position = following

    async def _held(self) -> bool:
        """While the page is open but not escalating (acknowledged, or through its steps):
        wait until it is resolved (False), or put back to triggered by a responder, by its
        snooze or by the policy's acknowledgement timeout (True: escalate again)."""
        run = self._run
        seen = run.retriggered
        while True:
            until = self._state.snoozed_until

            def moved(until: datetime | None = until) -> bool:
                state = self._state
                resolved = state.status == PageStatus.resolved
                return resolved or run.retriggered != seen or state.snoozed_until != until

            try:
                await self._waits.wait(
                    moved,
                    "open",
                    until,
                    "snooze",
                )
            except TimeoutError:
                self._retrigger(None, wake_text(self._state, run.ack_retrigger_seconds))
            if self._state.status == PageStatus.resolved:
                return False
            if run.retriggered != seen:
                return True

    def _retrigger(self, by: str | None, text: str, via: str | None = None) -> None:
        mark_triggered(self._state)
        self._run.retriggered += 1
        self._record("retriggered", text, by=by, via=via)

    async def _hold(self, position: Position, step: ResolveStepResult) -> ResolveStepResult | None:
        """A step a maintenance window or silence holds waits for its end, notifying nobody
        (nor the team channel); a low-urgency step outside working hours waits for them.
        Either way until someone escalates now; then the step is resolved again (another
        silence may hold it; else whoever is on call then is notified). None when the page
        was acknowledged or resolved, or reassigned, meanwhile."""
        run = self._run
        seen = run.retriggered
        while not run.escalate_requested:
            checks = self._silence_checks
            if step.silenced_until is not None:
                until, waiting = step.silenced_until, "silence"
                self._silence(step.silenced_until, step.silenced_by, step.silence)
            elif step.wait_until is not None:
                until, waiting = step.wait_until, "working hours"
                when = until.isoformat(timespec="minutes")
                self._record(
                    "deferred",
                    f"Low urgency: step {position.index + 1} waits for working hours ({when})",
                )
            else:
                break

            def moved(checks: int = checks) -> bool:
                return (
                    self._state.status != PageStatus.triggered
                    or run.escalate_requested
                    or run.retriggered != seen
                    or self._silence_checks != checks
                )

            with contextlib.suppress(TimeoutError):
                await self._waits.wait(moved, "escalating", until, waiting)
            if self._state.silenced_until is not None:
                self._state.silenced_until = None
                self._publish()
            if self._state.status != PageStatus.triggered or run.retriggered != seen:
                return None  # taken; or reassigned, and _escalate starts over
            step = await self._resolve(position.index)
            if self._state.status != PageStatus.triggered:
                return None
        run.escalate_requested = False
        return step

    def _silence(self, until: datetime, by: str | None, why: str | None) -> None:
        """Mark the page held: until when, by whom, and say so in the timeline."""
        state = self._state
        state.silenced_until, state.silenced_by, state.silenced = until, by, True
        when = until.isoformat(timespec="minutes")
        self._record("silenced", f"Silenced until {when} by {why or by}")

    async def _resolve(self, index: int) -> ResolveStepResult:
        """Resolve a step; while the config cannot (team or policy gone), wait and retry."""
        while True:
            step = await resolve_step(
                self._state,
                index,
                workflow.now(),
                self._input.policy,
                self._input.steps,
                local=workflow.patched(LOCAL_RESOLVE),
                silences=workflow.patched(SILENCES),
            )
            if step.error is None:
                self._run.config_error = None
                self._run.members = list(step.team_members)
                self._run.ack_retrigger_seconds = step.ack_retrigger_seconds
                if step.silenced_until is None:  # a held page shows in no channel yet
                    self._follow_channel(step.channel)
                return step
            if step.error != self._run.config_error:
                self._run.config_error = step.error
                self._record(
                    "config-error", f"Cannot escalate: {step.error}; retrying every minute"
                )
                self._publish()
            await self._waits.sleep(CONFIG_RETRY_DELAY, "escalating", "config retry")
            if self._state.status != PageStatus.triggered:
                return step

    def _start_step(self, position: Position, step: ResolveStepResult) -> None:
        for kind, text in start_step(self._state, position, step):
            self._record(kind, text)
        self._step_recipients, self._unreachable = len(step.recipients), 0
        for recipient in step.recipients:
            self._notifications.append(
                asyncio.create_task(self._notify(recipient, self._state.step, step.step_count))
            )
        self._log("step")

    async def _notify(
        self, recipient: Recipient, step: int, step_count: int, *, asked: bool = False
    ) -> None:
        """Reach ``recipient`` by their methods in order; stops once the page is taken
        (``asked``: a responder asked to help, reached until the page is resolved).

        Without notification rules the first method that works is the last; with them
        every method goes out at its time into the step until the page is taken, and a
        method that fails hands over to the next at once."""

        def taken() -> bool:
            status = self._state.status
            return status == PageStatus.resolved or (not asked and status != PageStatus.triggered)

        ruled = bool(recipient.delays) and workflow.patched(NOTIFY_RULES)
        started, reached, failed = workflow.now(), False, False
        step_due = None if asked else self._step_due
        for index, method in enumerate(recipient.contacts):
            due = step_due
            if ruled and not failed:
                if step_due is not None:
                    due = step_due + timedelta(seconds=recipient.delays[index])
                wait = started + timedelta(seconds=recipient.delays[index]) - workflow.now()
                if wait > timedelta(0):
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(
                            taken, timeout=wait, timeout_summary=f"notify rule {index + 1}"
                        )
            if taken():
                return
            try:
                await notify(self._state, recipient, method, step, step_count, due)
            except ActivityError as err:
                reason = activity_failure(err)
                self._note(recipient.person, step, method, ok=False, error=reason)
                self._record("notify-failed", f"{method} failed for {recipient.person}: {reason}")
                failed = True
                continue
            self._note(recipient.person, step, method, ok=True)
            self._record("notified", f"Notified {recipient.person} ({recipient.name}) by {method}")
            if not ruled:
                return
            reached, failed = True, False
        if not reached:
            self._record("unreachable", f"Could not reach {recipient.person} by any contact method")
            if not asked:
                self._count_unreachable(step)

    def _count_unreachable(self, step: int) -> None:
        """When nobody of the current step can be reached, its acknowledgement timeout is
        not waited out: the next step is notified now (a handoff's test page that cannot
        reach the incoming engineer pages the next layer at once)."""
        if step != self._state.step or self._state.status != PageStatus.triggered:
            return
        self._unreachable += 1
        if self._unreachable == self._step_recipients and workflow.patched(NOTIFY_RULES):
            self._run.escalate_requested = True
            self._record(
                "unreachable-step", f"Nobody at step {step} could be reached: escalating now"
            )

    def _follow_channel(self, channel: str | None, shown: PageCard | None = None) -> None:
        """Keep a copy of the page, with its buttons, in the team's channel (if it has one)."""
        if channel is None or self._card_task is not None:
            return
        self._run.channel, self._card_shown = channel, shown
        self._card_task = asyncio.create_task(self._keep_card(channel))
        self._notifications.append(self._card_task)

    async def _keep_card(self, channel: str) -> None:
        """Post the card, then update it in place whenever the page moves, until the end."""
        while True:
            card = PageCard.of(self._state)
            if card != self._card_shown:
                try:
                    message = self._state.channel_message
                    self._state.channel_message = await post_card(channel, card, message)
                except ActivityError as err:
                    self._record(
                        "chat-failed", f"Could not update {channel}: {activity_failure(err)}"
                    )
                self._card_shown = card
            if self._finished:
                return
            await workflow.wait_condition(
                lambda: self._finished or PageCard.of(self._state) != self._card_shown
            )

    def _exhaust(self) -> None:
        self._state.escalation_exhausted = True
        self._record(
            "exhausted", "Nobody acknowledged: every escalation step is done; the page stays open"
        )

    def _quiet(self) -> bool:
        """Nothing under way that a next run could not pick up: notifications, the card."""
        card_idle = self._card_task is None or PageCard.of(self._state) == self._card_shown
        return card_idle and all(t.done() for t in self._notifications if t is not self._card_task)

    # -- messages -------------------------------------------------------------------

    @workflow.update
    def acknowledge(self, action: PageActionInput) -> PageState:
        """Take the page: stops escalation. Only a team member or someone notified may."""
        text = with_note(f"Acknowledged by {action.actor}", action)
        self._take(action.by, text, via=action.via)
        return bounded_view(self._state)

    @acknowledge.validator
    def _validate_acknowledge(self, action: PageActionInput) -> None:
        require_actor(action)
        _refuse(acknowledge_refusal(self._state, action.by, self._allowed()))

    @workflow.update
    def escalate(self, action: PageActionInput) -> PageState:
        """Skip the rest of the current step's timeout and notify the next step now."""
        self._run.escalate_requested = True
        text = with_note(f"Escalated now by {action.actor}", action)
        self._record("escalate", text, by=action.by, via=action.via)
        return bounded_view(self._state)

    @escalate.validator
    def _validate_escalate(self, action: PageActionInput) -> None:
        require_actor(action)
        escalating = self._run.escalate_requested
        _refuse(escalate_refusal(self._state, action.by, self._allowed(), escalating=escalating))

    @workflow.update
    def resolve(self, action: PageActionInput) -> PageState:
        """Close the page."""
        self._close(action.by, with_note(f"Resolved by {action.actor}", action), via=action.via)
        return bounded_view(self._state)

    @resolve.validator
    def _validate_resolve(self, action: PageActionInput) -> None:
        require_actor(action)
        _refuse(responder_refusal(self._state, action.by, "resolve", self._allowed()))

    @workflow.update
    def unacknowledge(self, action: PageActionInput) -> PageState:
        """Give the page back: it is triggered again and escalates from its first step."""
        text = with_note(f"Un-acknowledged by {action.actor}", action)
        self._retrigger(action.by, text, via=action.via)
        return bounded_view(self._state)

    @unacknowledge.validator
    def _validate_unacknowledge(self, action: PageActionInput) -> None:
        require_actor(action)
        _refuse(unacknowledge_refusal(self._state, action.by, self._allowed()))

    @workflow.update
    def snooze(self, request: SnoozeInput) -> PageState:
        """Quiet an acknowledged page for a while: it triggers again then."""
        until = workflow.now() + request.duration
        self._state.snoozed_until = until
        self._record(
            "snoozed", snoozed_text(request.actor, request, until), request.by, request.via
        )
        return bounded_view(self._state)

    @snooze.validator
    def _validate_snooze(self, request: SnoozeInput) -> None:
        require_actor(request)
        _refuse(snooze_refusal(self._state, request.by, self._allowed()))

    @workflow.update
    def reassign(self, request: ReassignInput) -> PageState:
        """Another team's policy, or one person, from the first step; acknowledged or not."""
        if request.team is not None:
            self._state.team = self._input.team = request.team
            workflow.upsert_search_attributes([search.TEAM.value_set(request.team)])
        self._input.policy, self._input.steps = None, request.steps()
        self._retrigger(request.by, reassigned_text(request.actor, request), via=request.via)
        return bounded_view(self._state)

    @reassign.validator
    def _validate_reassign(self, request: ReassignInput) -> None:
        require_actor(request)
        _refuse(responder_refusal(self._state, request.by, "reassign", self._allowed()))

    @workflow.update
    async def add_responders(self, request: RespondersInput) -> PageState:
        """Ask more people to help: notified now (acknowledged or not), they may act on the
        page; the escalation goes on as it was."""
        asked = [InlineStep(targets=request.targets, ack_timeout_seconds=60)]
        found = await resolve_step(self._state, 0, workflow.now(), None, asked, local=True)
        if found.error is not None:
            raise ApplicationError(found.error, non_retryable=True)
        names = ", ".join(r.person for r in found.recipients) or "nobody"
        text = with_note(f"{request.actor} asked {names} to help", request)
        self._record("responders", text, request.by, request.via)
        self._run.responders = sorted(
            {*self._run.responders, *(r.person for r in found.recipients)}
        )
        for recipient in found.recipients:
            notify_one = self._notify(
                recipient, self._state.step, self._state.step_count, asked=True
            )
            self._notifications.append(asyncio.create_task(notify_one))
        return bounded_view(self._state)

    @add_responders.validator
    def _validate_add_responders(self, request: RespondersInput) -> None:
        require_actor(request)
        _refuse(responder_refusal(self._state, request.by, "add responders to", self._allowed()))

    @workflow.signal
    def receive_alerts(self, batch: AlertBatch) -> None:
        """Alerts from a source: merge them; resolve when none fire, reopen when one fires again.

        A signal, not an update: sources deliver at a high rate in a storm and need no answer.
        """
        if batch.action == "note":
            self._intake_note(batch)
            return
        if batch.action == "acknowledge":
            if workflow.patched(INTAKE_ACK_CHECKED):
                self._intake_acknowledge(batch)
            elif self._state.status == PageStatus.triggered:
                self._take(batch.by or batch.source, f"Acknowledged by {batch.by or batch.source}")
            return
        joined, resolved = merge_alerts(self._state.alerts, batch.alerts, self._alert_index)
        self._firing += len(joined) - len(resolved)
        if joined and self._state.silenced_until is not None:
            self._silence_checks += 1  # an alert the silence may not cover
        # Before the opening too: a re-trigger can land in the page's first workflow task.
        if workflow.patched(FOLLOWS_ALERTS):
            self._follow(batch)
        if not self._opened:
            return  # the start signal: run() records the opening with the alert count
        firing = self._firing
        for text in alert_notes(joined, resolved, firing):
            self._record("alert", text, by=batch.source)
        if batch.note:
            self._record("note", batch.note, by=batch.by or batch.source, via=batch.via)
        verdict = alert_verdict(self._state, firing)
        if verdict == "resolve":
            self._close(batch.source, "All alerts resolved")
        elif verdict == "reopen":
            self._record("flap", mark_reopened(self._state, self._flap_window), by=batch.source)
            self._log("reopened")

    @workflow.signal
    def recheck_silence(self, ended: SilenceEnded) -> None:
        """A silence that held the page was ended early: resolve the held step again now."""
        if self._state.silenced_until is not None:
            workflow.logger.info("page %s: silence %s ended", self._state.id, ended.silence_id)
            self._silence_checks += 1

    @workflow.query
    def get_state(self) -> PageState:
        """The page as it is now, timeline included (bounded: see :func:`bounded_view`)."""
        return bounded_view(self._state)

    @workflow.query
    def get_alerts(self, query: AlertQuery) -> AlertList:
        """The alerts the page holds, a slice at a time, and how many it archived."""
        return alert_slice(self._state, query)

    @workflow.query
    def get_timeline(self, query: TimelineSlice) -> TimelineEntries:
        """The entries the page holds in ``query``'s range (earlier ones are archived)."""
        return timeline_slice(self._state, query)

    def _follow(self, batch: AlertBatch) -> None:
        """The page follows its newest deliveries: the summary the source gives now, the
        severity of its most severe firing alert, and the urgency that severity has for
        the page's service (which the following steps' contact methods use). The
        escalation policy chosen when the page opened stays."""
        state = self._state
        if batch.summary and batch.summary != state.summary:
            state.summary = batch.summary
            self._record("summary", f"Summary now: {batch.summary}", by=batch.source)
        severity = page_severity(state.severity, state.alerts, batch.alerts)
        urgency = state.urgency
        if batch.urgencies is not None and severity is not None:
            urgency = batch.urgencies.get(severity, "high")
        if severity == state.severity and urgency == state.urgency:
            return
        was = f"{state.severity or 'none'}, {state.urgency} urgency"
        if severity != state.severity and severity is not None:
            workflow.upsert_search_attributes([search.SEVERITY.value_set(severity)])
        state.severity, state.urgency = severity, urgency
        text = f"Severity {severity}, {urgency} urgency (was {was})"
        self._record("severity", text, by=batch.source)

    def _intake_acknowledge(self, batch: AlertBatch) -> None:
        """An acknowledgement from an integration: the responder check as for a person,
        where the one responder is the integration that opened the page (any, for a page
        opened before pages knew it). A refusal is recorded; a repeat is ignored."""
        actor = batch.by or batch.source
        allowed = {self._state.integration or actor}
        refusal = acknowledge_refusal(self._state, actor, allowed)
        if refusal is None:
            text = f"Acknowledged by {actor_label(actor, batch.via)}"
            self._take(actor, f"{text}: {batch.note}" if batch.note else text, via=batch.via)
        elif actor not in allowed:
            self._record("ack-refused", f"Acknowledgement refused: {refusal}", actor, batch.via)

    def _intake_note(self, batch: AlertBatch) -> None:
        """A note from an integration: kept when it is the one that opened the page."""
        actor = batch.by or batch.source
        if batch.note and actor == (self._state.integration or actor):
            self._record("note", batch.note, by=actor, via=batch.via)
        elif batch.note:
            self._record("note-refused", "Note refused: not the integration of this page", actor)

    def _take(self, by: str, text: str, via: str | None = None) -> None:
        mark_acknowledged(self._state, by, workflow.now())
        seconds = self._run.ack_retrigger_seconds
        if seconds is not None and workflow.patched(RESPONDER_ACTIONS):
            self._state.snoozed_until = workflow.now() + timedelta(seconds=seconds)
        self._record("acknowledged", text, by=by, via=via)
        self._log("acknowledged")
        if self._input.notify_workflow is not None:
            told = PageAcknowledged(page_id=self._state.id, purpose=self._input.purpose, by=by)
            self._notifications.append(asyncio.create_task(tell(self._input.notify_workflow, told)))

    @workflow.signal
    def close(self, action: PageActionInput) -> None:
        """Resolve on behalf of the workflow that opened the page (its need is met)."""
        if self._state.status != PageStatus.resolved:
            self._close(action.by, with_note(f"Closed by {action.by}", action))

    def _close(self, by: str, text: str, via: str | None = None) -> None:
        mark_resolved(self._state, by, workflow.now())
        self._record("resolved", text, by=by, via=via)
        self._log("resolved")

    def _log(self, event: str) -> None:
        """Write the page log's row, beside the page: a failing store never holds it up."""
        if not workflow.patched(PAGE_LOG):
            return
        entry = page_log_entry(self._state, incident_of(self._input.notify_workflow))
        self._notifications.append(asyncio.create_task(record_page(entry, event)))

    def _allowed(self) -> set[str]:
        """Who may act on the page: the team's members and everyone notified."""
        notified = {n.person for n in self._state.notified}
        return {*self._run.members, *self._run.responders, *notified}

    # -- state ----------------------------------------------------------------------

    def _note(
        self, person: str, step: int, method: str, *, ok: bool, error: str | None = None
    ) -> None:
        self._state.notified.append(
            NotificationRecord(
                person=person, step=step, method=method, at=workflow.now(), ok=ok, error=error
            )
        )
        self._publish()

    def _record(self, kind: str, text: str, by: str | None = None, via: str | None = None) -> None:
        entry = TimelineEntry(at=workflow.now(), kind=kind, text=text, by=by, via=via)
        self._state.timeline.append(entry)
        # Alert churn is in the timeline; logging each batch would flood the log in a storm.
        log = workflow.logger.debug if kind == "alert" else workflow.logger.info
        log("page %s: %s", self._state.id, text)
        self._publish()

    def _publish(self) -> None:
        """Mirror the state into search attributes (on change) and the UI's current details."""
        status = self._state.status.value
        if workflow.info().typed_search_attributes.get(search.STATUS) != status:
            workflow.upsert_search_attributes([search.STATUS.value_set(status)])
        workflow.set_current_details(render_details(self._state, self._firing))


def _refuse(refusal: str | None) -> None:
    if refusal is not None:
        raise ValueError(refusal)
