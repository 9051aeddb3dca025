"""The page log activity: a page's row, written as the page moves (through the
``PageLog`` port), with whether it opened outside its team's working hours."""

from __future__ import annotations

from temporalio import activity

from activities.errors import AdapterError, to_application_error
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
        self._log = log

    @activity.defn(name="record_page")
    async def record_page(self, entry: PageLogEntry) -> None:
        """Upsert the page opening's row (idempotent: keyed by page id and opening, and a
        write older than the row's is ignored)."""
        if self._log is None:
            return
        off = is_off_hours(self._config.current(), entry.team, entry.opened_at)
        try:
            await self._log.record_page(entry.model_copy(update={"off_hours": off}))
        except AdapterError as err:
            raise to_application_error(err) from err
