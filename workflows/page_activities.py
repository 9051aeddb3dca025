"""What a page asks of the world, each call with its timeout and retry policy: resolving a
step against the config, notifying a person, the team channel's card, the archive, and
telling the workflow that opened the page. Workflow code (it schedules activities), called
from :class:`~workflows.page.PageWorkflow`; it keeps no state.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

from workflows.chat_models import ChatPost
from workflows.models import (
    InlineStep,
    NotifyInput,
    PageAcknowledged,
    PageCard,
    PageState,
    Recipient,
    ResolveStepInput,
    ResolveStepResult,
)
from workflows.page_carry import Spill
from workflows.priorities import COURTESY, NOTIFY

with workflow.unsafe.imports_passed_through():
    from activities.config import ConfigActivities
    from activities.incident import ChatActivities
    from activities.notify import NotifyActivities
    from activities.store import StoreActivities

RESOLVE_TIMEOUT = timedelta(seconds=10)
# Label sets a step resolution checks against silences, at most (they travel in the
# local activity's input and its history marker).
MAX_LABEL_SETS = 200
RESOLVE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
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
# The archive runs beside the page (escalation never waits on it); after about a minute
# of failures the page continues anyway, carrying what it could not archive (bounded).
ARCHIVE_TIMEOUT = timedelta(seconds=30)
ARCHIVE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
    non_retryable_error_types=["Rejected"],
)


async def resolve_step(
    state: PageState,
    index: int,
    at: datetime,
    policy: str | None,
    steps: list[InlineStep] | None,
    *,
    local: bool = False,
    silences: bool = False,
) -> ResolveStepResult:
    """Who step ``index`` of the page's policy reaches at ``at``, by the config of now.

    ``local``: as a local activity, run within the page's workflow task: an escalation
    then needs one workflow task and one activity task fewer (the config is in the
    worker's memory; the rotation plans it reads are shared and cached for a second).
    ``silences``: ask whether a maintenance window or silence holds the page (its source,
    service and firing alerts' distinct label sets go with the request).
    """
    request = ResolveStepInput(
        team=state.team,
        step_index=index,
        at=at,
        policy=policy,
        urgency=state.urgency,
        steps=steps,
    )
    labels = firing_labels(state) if silences else None
    if labels is not None:
        request.page_id, request.source, request.service = (
            state.workflow_id,
            state.source,
            state.service,
        )
        request.alert_labels = labels
    if local:
        return await workflow.execute_local_activity_method(
            ConfigActivities.resolve_step,
            request,
            start_to_close_timeout=RESOLVE_TIMEOUT,
            retry_policy=RESOLVE_RETRY,
            summary=f"resolve step {index + 1}",
        )
    return await workflow.execute_activity_method(
        ConfigActivities.resolve_step,
        request,
        start_to_close_timeout=RESOLVE_TIMEOUT,
        retry_policy=RESOLVE_RETRY,
        summary=f"resolve step {index + 1}",
    )


def firing_labels(state: PageState) -> list[dict[str, str]] | None:
    """The distinct label sets of the page's firing alerts; None beyond
    :data:`MAX_LABEL_SETS` of them (such a storm is not held: it pages)."""
    distinct = {tuple(sorted(a.labels.items())) for a in state.alerts if a.status == "firing"}
    if len(distinct) > MAX_LABEL_SETS:
        return None
    return [dict(labels) for labels in sorted(distinct)]


async def notify(
    state: PageState,
    recipient: Recipient,
    method: str,
    step: int,
    step_count: int,
    due: datetime | None = None,
) -> None:
    """Notify ``recipient`` by one contact method (raises ``ActivityError`` when it fails);
    ``due``: when it should have gone out, for the escalation lateness metric."""
    await workflow.execute_activity_method(
        NotifyActivities.notify,
        NotifyInput(
            page_id=state.id,
            team=state.team,
            summary=state.summary,
            details=state.details,
            person=recipient.person,
            person_name=recipient.name,
            method=method,
            step=step,
            step_count=step_count,
            due_at=due,
        ),
        start_to_close_timeout=NOTIFY_TIMEOUT,
        retry_policy=NOTIFY_RETRY,
        summary=f"notify {recipient.person} by {method}",
        priority=NOTIFY,
    )


async def post_card(channel: str, card: PageCard, replace: str | None) -> str:
    """Post the page's card in ``channel`` (in place of ``replace``); its message ref."""
    return await workflow.execute_activity_method(
        ChatActivities.post_message,
        ChatPost(
            channel=channel,
            text=f"[{card.team}] {card.summary} ({card.status.value})",
            card=card,
            replace=replace,
        ),
        start_to_close_timeout=CARD_TIMEOUT,
        retry_policy=CARD_RETRY,
        summary=f"page card in {channel}",
        priority=COURTESY,
    )


async def archive(chosen: Spill) -> None:
    """Write what a page spills to the archive (raises ``ActivityError`` when it cannot)."""
    if chosen.timeline is not None:
        await workflow.execute_activity_method(
            StoreActivities.archive_timeline,
            chosen.timeline,
            start_to_close_timeout=ARCHIVE_TIMEOUT,
            retry_policy=ARCHIVE_RETRY,
            summary=f"archive {len(chosen.timeline.entries)} timeline entries",
            priority=COURTESY,
        )
    if chosen.alerts is not None:
        await workflow.execute_activity_method(
            StoreActivities.archive_alerts,
            chosen.alerts,
            start_to_close_timeout=ARCHIVE_TIMEOUT,
            retry_policy=ARCHIVE_RETRY,
            summary=f"archive {len(chosen.alerts.alerts)} alerts",
            priority=COURTESY,
        )


async def tell(workflow_id: str, told: PageAcknowledged) -> None:
    """Tell the workflow that opened the page; one that has ended no longer needs to know."""
    try:
        await workflow.get_external_workflow_handle(workflow_id).signal("page_acknowledged", told)
    except FailureError as err:  # the opener ended (an incident resolved meanwhile)
        workflow.logger.info("%s has ended; not told of %s (%s)", workflow_id, told.page_id, err)
