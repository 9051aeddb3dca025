"""What a page asks of the page log: write its row (a local activity, in the page's own
workflow task). Workflow code, called from :class:`~workflows.page.PageWorkflow`; it keeps
no state. The log never holds a page up: a store that keeps failing is given up on after a
few tries, with a line in the worker's log and nothing in the page's timeline.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.failures import activity_failure
from workflows.page_log import PageLogEntry

with workflow.unsafe.imports_passed_through():
    from activities.page_log import PageLogActivities

LOG_TIMEOUT = timedelta(seconds=5)
LOG_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=4,
    non_retryable_error_types=["Rejected"],
)


async def record_page(entry: PageLogEntry, event: str) -> None:
    """Write ``entry`` (after ``event``: opened, step, acknowledged, resolved, reopened)."""
    try:
        await workflow.execute_local_activity_method(
            PageLogActivities.record_page,
            entry,
            start_to_close_timeout=LOG_TIMEOUT,
            schedule_to_close_timeout=timedelta(seconds=30),
            retry_policy=LOG_RETRY,
            summary=f"page log: {event}",
        )
    except ActivityError as err:
        workflow.logger.warning(
            "page %s: page log not written (%s): %s", entry.page_id, event, activity_failure(err)
        )
