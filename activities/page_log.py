"""The page log activity: a page's row, written as the page moves (through the
``PageLog`` port, in batches: see :mod:`activities.page_log_batch`), with whether it
opened outside its team's working hours."""

from __future__ import annotations

from temporalio import activity

from activities.errors import AdapterError, to_application_error
from activities.page_log_batch import PageLogBatcher
from activities.ports import ConfigSource, PageLog
from workflows.page_log import PageLogEntry, is_off_hours


class PageLogActivities:
    """Writes the page log; without a log (a test's own store) it records nothing.

    Raises:
        ApplicationError: ``Unavailable`` (retryable) when the database cannot be reached;
            ``Rejected`` (not retryable) when it refuses the values.
    """

    def __init__(self, config: ConfigSource, log: PageLog | None) -> None:
        self._config = config
        self._batches = PageLogBatcher(log) if log is not None else None

    @activity.defn(name="record_page")
    async def record_page(self, entry: PageLogEntry) -> None:
        """Upsert the page opening's row (idempotent: keyed by page id and opening, and a
        write older than the row's is ignored). Returns once queued for the next batch;
        a resolved page's row, once written."""
        if self._batches is None:
            return
        off = is_off_hours(self._config.current(), entry.team, entry.opened_at)
        final = entry.resolved_at is not None
        try:
            await self._batches.write(entry.model_copy(update={"off_hours": off}), wait=final)
        except AdapterError as err:
            raise to_application_error(err) from err
