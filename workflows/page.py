"""PageWorkflow: notify the on-call people and escalate on durable timers until acknowledged.

One workflow per page (id ``page-<key>``). Each step is resolved against the config of
that moment (an activity), every recipient is notified concurrently on their contact
methods in order (a failing method is retried, then the next one is tried), and the
acknowledgement timer runs independently of the notifications, so a slow or failing
notifier never delays an escalation.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

from workflows import search
from workflows.chat_models import ChatPost
from workflows.durations import format_duration
from workflows.failures import activity_failure
from workflows.models import (
    Alert,
    AlertBatch,
    AlertList,
    AlertQuery,
    NotificationRecord,
    NotifyInput,
    PageAcknowledged,
    PageActionInput,
    PageCard,
    PageInput,
    PageState,
    PageStatus,
    Recipient,
    ResolveStepInput,
    ResolveStepResult,
    TimelineEntry,
)
from workflows.page_views import (
    alert_listing,
    bounded_view,
    count_alerts,
    render_details,
)
from workflows.policy import Position, next_position

with workflow.unsafe.imports_passed_through():
    from activities.config import ConfigActivities
    from activities.incident import ChatActivities
    from activities.notify import NotifyActivities

RESOLVE_TIMEOUT = timedelta(seconds=10)
RESOLVE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
CONFIG_RETRY_DELAY = timedelta(minutes=1)
NOTIFY_TIMEOUT = timedelta(seconds=30)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
    non_retryable_error_types=["Rejected", "NotConfigured"],
)
# The team channel's copy of the page is a courtesy: it never holds a page up.
CARD_TIMEOUT = timedelta(seconds=30)
CARD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=8,
    non_retryable_error_types=["Rejected", "NotConfigured", "NotFound"],
)


@workflow.defn
class PageWorkflow:
    """A page: escalate through the team's policy until someone acknowledges, then wait to resolve."""

    @workflow.init
    def __init__(self, page: PageInput) -> None:
        self._state = PageState(
            id=page.key,
            workflow_id=workflow.info().workflow_id,
            team=page.team,
            summary=page.summary,
            details=page.details,
            dedup_key=page.dedup_key,
            source=page.source,
            created_by=page.created_by,
            created_at=workflow.now(),
            service=page.service,
            severity=page.severity,
            urgency=page.urgency,
            unrouted=page.unrouted,
        )
        self._policy = page.policy
        self._steps = page.steps
        self._notify_workflow = page.notify_workflow
        self._purpose = page.purpose
        self._flap_window = timedelta(seconds=page.flap_window_seconds)
        self._opened = False
        self._alert_index: dict[str, int] = {}
        # Seeded from the starter's view of the config so an ack can land before step 1
        # resolves; refreshed from the config at every step.
        self._members: set[str] = set(page.team_members)
        self._escalate_requested = False
        self._notifications: list[asyncio.Task[None]] = []
        self._config_error: str | None = None
        self._channel: str | None = None
        self._card_shown: PageCard | None = None
        self._card_task: asyncio.Task[None] | None = None
        self._finished = False

    @workflow.run
    async def run(self, page: PageInput) -> PageState:
        opener = page.created_by or page.source
        firing = count_alerts(self._state.alerts, "firing")
        alerts = (
            f" ({firing} alert{'s' if firing != 1 else ''} firing)" if self._state.alerts else ""
        )
        self._record(
            "triggered", f"Page opened by {opener}: {page.summary}{alerts}", by=page.created_by
        )
        self._opened = True
        if page.route_note:
            self._record("unrouted" if page.unrouted else "route", page.route_note)
        while True:
            if self._state.status == PageStatus.triggered:
                await self._escalate()
            await workflow.wait_condition(lambda: self._state.status == PageStatus.resolved)
            if not await self._reopened_within_flap_window():
                break
        # Let notifications already under way finish so their outcome is on record.
        self._finished = True
        await asyncio.gather(*self._notifications)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._publish()
        return bounded_view(self._state)

    async def _reopened_within_flap_window(self) -> bool:
        """After an alert page resolves, wait the flap window for it to fire again."""
        if not self._flap_window:
            return False
        try:
            await workflow.wait_condition(
                lambda: self._state.status != PageStatus.resolved,
                timeout=self._flap_window,
                timeout_summary="flap window",
            )
        except TimeoutError:
            return False
        return True

    async def _escalate(self) -> None:
        position = Position()
        self._state.escalation_exhausted = False
        self._escalate_requested = False
        while self._state.status == PageStatus.triggered:
            step = await self._resolve(position.index)
            if self._state.status != PageStatus.triggered:
                return
            if position.index >= step.step_count:
                # The policy shrank under us: treat it as run through.
                self._exhaust()
                return
            self._start_step(position, step)
            timeout = timedelta(seconds=step.ack_timeout_seconds)
            self._state.next_escalation_at = workflow.now() + timeout
            self._publish()
            try:
                await workflow.wait_condition(
                    lambda: self._state.status != PageStatus.triggered or self._escalate_requested,
                    timeout=timeout,
                    timeout_summary=f"ack timeout step {position.index + 1}",
                )
            except TimeoutError:
                self._record(
                    "timeout",
                    f"No acknowledgement within {format_duration(timeout)} at step {self._state.step}",
                )
            self._state.next_escalation_at = None
            if self._state.status != PageStatus.triggered:
                return
            self._escalate_requested = False
            following = next_position(position, step.step_count, step.repeat)
            if following is None:
                self._exhaust()
                return
            position = following

    async def _resolve(self, index: int) -> ResolveStepResult:
        """Resolve a step; while the config cannot (team or policy gone), wait and retry."""
        while True:
            step = await workflow.execute_activity_method(
                ConfigActivities.resolve_step,
                ResolveStepInput(
                    team=self._state.team,
                    step_index=index,
                    at=workflow.now(),
                    policy=self._policy,
                    urgency=self._state.urgency,
                    steps=self._steps,
                ),
                start_to_close_timeout=RESOLVE_TIMEOUT,
                retry_policy=RESOLVE_RETRY,
                summary=f"resolve step {index + 1}",
            )
            if step.error is None:
                self._config_error = None
                self._members = set(step.team_members)
                self._follow_channel(step.channel)
                return step
            if step.error != self._config_error:
                self._config_error = step.error
                self._record(
                    "config-error", f"Cannot escalate: {step.error}; retrying every minute"
                )
                self._publish()
            await workflow.sleep(CONFIG_RETRY_DELAY, summary="config retry")
            if self._state.status != PageStatus.triggered:
                return step

    def _start_step(self, position: Position, step: ResolveStepResult) -> None:
        self._state.policy = step.policy
        self._state.step = position.index + 1
        self._state.step_count = step.step_count
        self._state.round = position.round
        self._state.repeat = step.repeat
        names = ", ".join(r.person for r in step.recipients) or "nobody"
        round_note = f" (repeat {position.round})" if position.round else ""
        self._record(
            "step",
            f"Step {self._state.step}/{step.step_count}{round_note}: {', '.join(step.targets)} → {names}",
        )
        for target in step.unreachable_targets:
            self._record("warning", f"{target} reached nobody at step {self._state.step}")
        for recipient in step.recipients:
            self._notifications.append(
                asyncio.create_task(self._notify(recipient, self._state.step, step.step_count))
            )

    async def _notify(self, recipient: Recipient, step: int, step_count: int) -> None:
        for method in recipient.contacts:
            if self._state.status != PageStatus.triggered:
                return
            try:
                await workflow.execute_activity_method(
                    NotifyActivities.notify,
                    NotifyInput(
                        page_id=self._state.id,
                        team=self._state.team,
                        summary=self._state.summary,
                        details=self._state.details,
                        person=recipient.person,
                        person_name=recipient.name,
                        method=method,
                        step=step,
                        step_count=step_count,
                    ),
                    start_to_close_timeout=NOTIFY_TIMEOUT,
                    retry_policy=NOTIFY_RETRY,
                    summary=f"notify {recipient.person} by {method}",
                )
            except ActivityError as err:
                reason = activity_failure(err)
                self._note(recipient.person, step, method, ok=False, error=reason)
                self._record("notify-failed", f"{method} failed for {recipient.person}: {reason}")
                continue
            self._note(recipient.person, step, method, ok=True)
            self._record("notified", f"Notified {recipient.person} ({recipient.name}) by {method}")
            return
        self._record("unreachable", f"Could not reach {recipient.person} by any contact method")

    def _follow_channel(self, channel: str | None) -> None:
        """Keep a copy of the page, with its buttons, in the team's channel (if it has one)."""
        if channel is None or self._card_task is not None:
            return
        self._channel = channel
        self._card_task = asyncio.create_task(self._keep_card(channel))
        self._notifications.append(self._card_task)

    async def _keep_card(self, channel: str) -> None:
        """Post the card, then update it in place whenever the page moves, until the end."""
        while True:
            card = PageCard.of(self._state)
            if card != self._card_shown:
                try:
                    self._state.channel_message = await workflow.execute_activity_method(
                        ChatActivities.post_message,
                        ChatPost(
                            channel=channel,
                            text=f"[{card.team}] {card.summary} ({card.status.value})",
                            card=card,
                            replace=self._state.channel_message,
                        ),
                        start_to_close_timeout=CARD_TIMEOUT,
                        retry_policy=CARD_RETRY,
                        summary=f"page card in {channel}",
                    )
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

    # -- messages -------------------------------------------------------------------

    @workflow.update
    def acknowledge(self, action: PageActionInput) -> PageState:
        """Take the page: stops escalation. Only a team member or someone notified may."""
        self._take(action.by, _with_note(f"Acknowledged by {action.by}", action))
        return bounded_view(self._state)

    @acknowledge.validator
    def _validate_acknowledge(self, action: PageActionInput) -> None:
        if self._state.status == PageStatus.acknowledged:
            raise ValueError(
                f"page {self._state.id} is already acknowledged by {self._state.acknowledged_by}"
            )
        self._require_open()
        self._require_responder(action.by, "acknowledge")

    @workflow.update
    def escalate(self, action: PageActionInput) -> PageState:
        """Skip the rest of the current step's timeout and notify the next step now."""
        self._escalate_requested = True
        self._record("escalate", _with_note(f"Escalated now by {action.by}", action), by=action.by)
        return bounded_view(self._state)

    @escalate.validator
    def _validate_escalate(self, action: PageActionInput) -> None:
        self._require_open()
        if self._state.status != PageStatus.triggered:
            raise ValueError(
                f"page {self._state.id} is {self._state.status.value}: nothing to escalate"
            )
        if self._state.escalation_exhausted:
            raise ValueError(f"page {self._state.id} has run through every escalation step")
        if self._escalate_requested:
            raise ValueError(f"page {self._state.id} is already escalating")
        self._require_responder(action.by, "escalate")

    @workflow.update
    def resolve(self, action: PageActionInput) -> PageState:
        """Close the page."""
        self._close(action.by, _with_note(f"Resolved by {action.by}", action))
        return bounded_view(self._state)

    @resolve.validator
    def _validate_resolve(self, action: PageActionInput) -> None:
        self._require_open()
        self._require_responder(action.by, "resolve")

    @workflow.signal
    def receive_alerts(self, batch: AlertBatch) -> None:
        """Alerts from a source: merge them; resolve when none fire, reopen when one fires again.

        A signal, not an update: sources deliver at a high rate in a storm and need no answer.
        """
        if batch.action == "acknowledge":
            if self._state.status == PageStatus.triggered:
                self._take(batch.by or batch.source, f"Acknowledged by {batch.by or batch.source}")
            return
        joined, resolved = merge_alerts(self._state.alerts, batch.alerts, self._alert_index)
        if not self._opened:
            return  # the start signal: run() records the opening with the alert count
        firing = count_alerts(self._state.alerts, "firing")
        if joined:
            self._record("alert", f"{alert_listing(joined)} firing ({firing} firing)", by=batch.source)
        if resolved:
            self._record(
                "alert", f"{alert_listing(resolved)} resolved ({firing} firing)", by=batch.source
            )
        if self._state.status != PageStatus.resolved and firing == 0 and self._state.alerts:
            self._close(batch.source, "All alerts resolved")
        elif self._state.status == PageStatus.resolved and firing:
            self._reopen(batch.source)

    def _reopen(self, source: str) -> None:
        self._state.flaps += 1
        was_acknowledged = self._state.acknowledged_by is not None
        self._state.status = PageStatus.acknowledged if was_acknowledged else PageStatus.triggered
        self._state.resolved_by = None
        self._state.resolved_at = None
        window = format_duration(self._flap_window)
        then = (
            f"still acknowledged by {self._state.acknowledged_by}"
            if was_acknowledged
            else "escalating again"
        )
        self._record(
            "flap",
            f"Fired again within {window} of resolving (flap {self._state.flaps}): reopened, {then}",
            by=source,
        )

    @workflow.query
    def get_state(self) -> PageState:
        """The page as it is now, timeline included (bounded: see :func:`bounded_view`)."""
        return bounded_view(self._state)

    @workflow.query
    def get_alerts(self, query: AlertQuery) -> AlertList:
        """Every alert of the page, a slice at a time."""
        alerts = self._state.alerts
        return AlertList(
            total=len(alerts), alerts=alerts[query.offset : query.offset + query.limit]
        )

    def _take(self, by: str, text: str) -> None:
        self._state.status = PageStatus.acknowledged
        self._state.acknowledged_by = by
        self._state.acknowledged_at = workflow.now()
        self._record("acknowledged", text, by=by)
        if self._notify_workflow is not None:
            told = PageAcknowledged(page_id=self._state.id, purpose=self._purpose, by=by)
            self._notifications.append(asyncio.create_task(_tell(self._notify_workflow, told)))

    @workflow.signal
    def close(self, action: PageActionInput) -> None:
        """Resolve on behalf of the workflow that opened the page (its need is met)."""
        if self._state.status != PageStatus.resolved:
            self._close(action.by, _with_note(f"Closed by {action.by}", action))

    def _close(self, by: str, text: str) -> None:
        self._state.status = PageStatus.resolved
        self._state.resolved_by = by
        self._state.resolved_at = workflow.now()
        self._record("resolved", text, by=by)

    def _require_open(self) -> None:
        if self._state.status == PageStatus.resolved:
            raise ValueError(f"page {self._state.id} is already resolved")

    def _require_responder(self, person: str, verb: str) -> None:
        notified = {n.person for n in self._state.notified}
        if person not in self._members and person not in notified:
            raise ValueError(
                f"{person!r} may not {verb} page {self._state.id}: "
                f"not a member of team {self._state.team} and not notified"
            )

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

    def _record(self, kind: str, text: str, by: str | None = None) -> None:
        self._state.timeline.append(TimelineEntry(at=workflow.now(), kind=kind, text=text, by=by))
        # Alert churn is in the timeline; logging each batch would flood the log in a storm.
        log = workflow.logger.debug if kind == "alert" else workflow.logger.info
        log("page %s: %s", self._state.id, text)
        self._publish()

    def _publish(self) -> None:
        """Mirror the state into search attributes (on change) and the UI's current details."""
        status = self._state.status.value
        if workflow.info().typed_search_attributes.get(search.STATUS) != status:
            workflow.upsert_search_attributes([search.STATUS.value_set(status)])
        workflow.set_current_details(render_details(self._state))


async def _tell(workflow_id: str, told: PageAcknowledged) -> None:
    """Tell the workflow that opened the page; one that has ended no longer needs to know."""
    try:
        await workflow.get_external_workflow_handle(workflow_id).signal("page_acknowledged", told)
    except FailureError as err:  # the opener ended (an incident resolved meanwhile)
        workflow.logger.info("%s has ended; not told of %s (%s)", workflow_id, told.page_id, err)


def merge_alerts(
    known: list[Alert], incoming: list[Alert], index: dict[str, int] | None = None
) -> tuple[list[Alert], list[Alert]]:
    """Merge ``incoming`` into ``known`` by fingerprint, in place.

    ``index`` (fingerprint → position in ``known``) is kept up to date when given, so a
    page with thousands of alerts does not rebuild it for every delivery.

    Returns:
        The alerts that joined (new, or firing again) and those that resolved.
    """
    if index is None:
        index = {a.fingerprint: i for i, a in enumerate(known)}
    joined: list[Alert] = []
    resolved: list[Alert] = []
    for alert in incoming:
        at = index.get(alert.fingerprint)
        before = known[at].status if at is not None else None
        if at is None:
            index[alert.fingerprint] = len(known)
            known.append(alert)
        else:
            known[at] = alert
        if alert.status == "firing" and before != "firing":
            joined.append(alert)
        elif alert.status == "resolved" and before == "firing":
            resolved.append(alert)
    return joined, resolved


def _with_note(text: str, action: PageActionInput) -> str:
    return f"{text}: {action.note}" if action.note else text


