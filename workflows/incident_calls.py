"""The activities an incident calls, each with its timeout and retry policy.

Workflow code (called from :class:`workflows.incident.IncidentWorkflow` only). A call
that may fail without holding the incident up returns :class:`Failed` with the reason to
record instead of raising: the incident's decisions and timers never wait on chat or
GitHub, and the timeline keeps what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError
from temporalio.workflow import ParentClosePolicy

from workflows.archive_models import TimelineSpill
from workflows.chat_models import ChannelInvite, ChannelRef, ChannelRequest, ChannelTopic, ChatPost
from workflows.failures import activity_failure
from workflows.ids import page_workflow_id
from workflows.incident_models import (
    AnnouncementMail,
    IncidentRecord,
    IssueCheck,
    IssueLink,
    IssueRef,
    IssueSpec,
    PostmortemRequest,
    PostmortemResult,
)
from workflows.models import PageActionInput, PageInput, RollbackRequest, RollbackResult
from workflows.page import PageWorkflow
from workflows.page_views import initial_search_attributes, page_summary

with workflow.unsafe.imports_passed_through():
    from activities.incident import ChatActivities
    from activities.incident_mail import IncidentMailActivities
    from activities.rollback import RollbackActivities
    from activities.store import StoreActivities
    from activities.tracker import TrackerActivities

CHAT_TIMEOUT = timedelta(seconds=30)
CHAT_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10)
ROLLBACK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_attempts=3,
    non_retryable_error_types=["Rejected", "NotConfigured", "NotFound"],
)
TRACKER_TIMEOUT = timedelta(minutes=2)
# Rate limits come back as a retry delay; a wrong install (no token, no repo) is final and
# is retried at the next periodic check instead.
TRACKER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=8,
    non_retryable_error_types=["NotConfigured", "Rejected", "NotFound", "TemplateError"],
)
STORE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=20)
MAIL_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=["NotConfigured", "Rejected"],
)


@dataclass(frozen=True)
class Failed:
    """A call that failed after its retries; ``reason`` is what the timeline records."""

    reason: str


async def start_page(page: PageInput) -> None:
    """Start a child page looking for a role (it outlives the incident if need be)."""
    await workflow.start_child_workflow(
        PageWorkflow.run,
        page,
        id=page_workflow_id(page.key),
        parent_close_policy=ParentClosePolicy.ABANDON,
        static_summary=page_summary(page.team, page.summary),
        search_attributes=initial_search_attributes(page.team),
    )


async def close_page(page_id: str, why: str) -> None:
    """Resolve a role page whose need is met (it may already be gone)."""
    handle = workflow.get_external_workflow_handle(page_workflow_id(page_id))
    try:
        await handle.signal(PageWorkflow.close, PageActionInput(by="tocsin", note=why))
    except FailureError as err:  # the server could not signal it: the page has ended
        workflow.logger.info("page %s already ended (%s)", page_id, err)


async def open_channel(request: ChannelRequest) -> str:
    """The incident channel; an incident cannot go on without one, so this one raises."""
    return await workflow.execute_activity_method(
        ChatActivities.open_channel,
        request,
        start_to_close_timeout=CHAT_TIMEOUT,
        retry_policy=CHAT_RETRY,
        summary="open channel",
    )


async def invite(request: ChannelInvite) -> Failed | None:
    try:
        await workflow.execute_activity_method(
            ChatActivities.invite_to_channel,
            request,
            start_to_close_timeout=CHAT_TIMEOUT,
            retry_policy=CHAT_RETRY,
            summary="invite to channel",
        )
    except ActivityError as err:
        return Failed(f"{err.cause}")
    return None


async def post(message: ChatPost, summary: str | None = None) -> str | Failed | None:
    """Post (or replace) one message; its reference, when the chat gives one."""
    try:
        return await workflow.execute_activity_method(
            ChatActivities.post_message,
            message,
            start_to_close_timeout=CHAT_TIMEOUT,
            retry_policy=CHAT_RETRY,
            summary=summary or f"post to {message.channel}",
        )
    except ActivityError as err:
        return Failed(f"{err.cause}")


async def mail_announcement(mail: AnnouncementMail) -> list[str] | Failed:
    """Mail an announcement; the addresses it went to."""
    try:
        return await workflow.execute_activity_method(
            IncidentMailActivities.mail_announcement,
            mail,
            start_to_close_timeout=CHAT_TIMEOUT,
            retry_policy=MAIL_RETRY,
            summary="mail the announcement",
        )
    except ActivityError as err:
        return Failed(activity_failure(err))


async def set_topic(topic: ChannelTopic) -> Failed | None:
    try:
        await workflow.execute_activity_method(
            ChatActivities.set_channel_topic,
            topic,
            start_to_close_timeout=CHAT_TIMEOUT,
            retry_policy=CHAT_RETRY,
            summary="set channel topic",
        )
    except ActivityError as err:
        return Failed(f"{err.cause}")
    return None


async def archive(channel: ChannelRef) -> Failed | None:
    try:
        await workflow.execute_activity_method(
            ChatActivities.archive_channel,
            channel,
            start_to_close_timeout=CHAT_TIMEOUT,
            retry_policy=CHAT_RETRY,
            summary="archive channel",
        )
    except ActivityError as err:
        return Failed(f"{err.cause}")
    return None


async def run_rollback(request: RollbackRequest) -> RollbackResult:
    """The rollback's result; one that could not run at all is a failed result."""
    try:
        return await workflow.execute_activity_method(
            RollbackActivities.run_rollback,
            request,
            start_to_close_timeout=timedelta(minutes=15),
            retry_policy=ROLLBACK_RETRY,
            summary=f"rollback {request.service}",
        )
    except ActivityError as err:
        summary = f"rollback could not run: {err.cause or err}"
        return RollbackResult(ok=False, runner="unknown", summary=summary)


async def followup_issue(request: IssueLink | IssueSpec, number: int) -> IssueRef | Failed:
    """Link the follow-up's existing issue, or open one for it."""
    try:
        if isinstance(request, IssueLink):
            return await workflow.execute_activity_method(
                TrackerActivities.link_followup_issue,
                request,
                start_to_close_timeout=TRACKER_TIMEOUT,
                retry_policy=TRACKER_RETRY,
                summary=f"link follow-up {number}",
            )
        return await workflow.execute_activity_method(
            TrackerActivities.create_followup_issue,
            request,
            start_to_close_timeout=TRACKER_TIMEOUT,
            retry_policy=TRACKER_RETRY,
            summary=f"create follow-up {number}",
        )
    except ActivityError as err:
        return Failed(activity_failure(err))


async def check_issue(check: IssueCheck) -> IssueRef | Failed | None:
    """The issue as GitHub has it now; None when it did not change (its ETag matched)."""
    try:
        return await workflow.execute_activity_method(
            TrackerActivities.check_issue,
            check,
            start_to_close_timeout=TRACKER_TIMEOUT,
            retry_policy=TRACKER_RETRY,
            summary=f"check {check.repo}#{check.number}",
        )
    except ActivityError as err:
        return Failed(activity_failure(err))


async def publish_postmortem(request: PostmortemRequest) -> PostmortemResult | Failed:
    try:
        return await workflow.execute_activity_method(
            TrackerActivities.publish_postmortem,
            request,
            start_to_close_timeout=TRACKER_TIMEOUT,
            retry_policy=TRACKER_RETRY,
            summary="publish postmortem",
        )
    except ActivityError as err:
        return Failed(activity_failure(err))


async def archive_timeline(spill: TimelineSpill) -> Failed | None:
    """Hand the oldest timeline entries to the store (idempotent: a retry writes once)."""
    try:
        await workflow.execute_activity_method(
            StoreActivities.archive_timeline,
            spill,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary=f"archive {len(spill.entries)} timeline entries",
        )
    except ActivityError as err:
        workflow.logger.warning(
            "%s: could not archive its timeline, carried whole: %s",
            spill.subject,
            activity_failure(err),
        )
        return Failed(activity_failure(err))
    return None


async def record_incident(record: IncidentRecord) -> Failed | None:
    """Upsert the incident's row in the incident log."""
    try:
        await workflow.execute_activity_method(
            StoreActivities.record_incident,
            record,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary=f"log {record.status.value}",
        )
    except ActivityError as err:
        return Failed(activity_failure(err))
    return None
