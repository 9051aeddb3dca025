"""What a watch (heartbeat, uptime check) asks of the world: open or resolve its page.
Workflow code (it schedules the activity); it keeps no state.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.watch_models import WatchAlert

# By name: the activity (activities.watch_pages) goes through intake, which the workflow
# sandbox must not load.
PAGE_WATCH = "page_watch"
PAGE_TIMEOUT = timedelta(seconds=30)
# A watch's page must not be lost to a Temporal or config hiccup: retried until it lands,
# except when the config has nowhere to send it (the watch's service or team is gone).
PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["NoDestination"],
)


async def page_watch(alert: WatchAlert) -> str:
    """Open (firing) or resolve (recovered) the watch's page; returns its page id.

    Raises:
        ActivityError: the config has no service or team of that name (``NoDestination``).
    """
    page_id: str = await workflow.execute_activity(
        PAGE_WATCH,
        alert,
        result_type=str,
        start_to_close_timeout=PAGE_TIMEOUT,
        retry_policy=PAGE_RETRY,
    )
    return page_id


__all__ = ["page_watch"]
