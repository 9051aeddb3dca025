"""How a running page continues as new: every wait of the page watches its history, and
once it is long, the archive is written beside the page (escalation never waits on it),
then, when nothing is under way, the run ends in a continue-as-new carrying the rest.

Workflow code (timers, an activity, ``continue_as_new``); the decisions themselves are the
pure functions of :mod:`workflows.page_carry`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.failures import activity_failure
from workflows.models import PageCarry, PageInput, PagePhase
from workflows.page_activities import archive
from workflows.page_carry import Spill, carried_state, history_long, spill


class Continuation:
    """The waits of one page run, which may end it in a continue-as-new.

    Args:
        page: the run's input (the next run's, with its ``carried`` replaced).
        run: what the next run needs besides the state; its ``state`` is the page's.
        quiet: whether nothing is under way that the next run could not pick up.
        record: adds a timeline entry (kind, text) to the page.
    """

    def __init__(
        self,
        page: PageInput,
        run: PageCarry,
        quiet: Callable[[], bool],
        record: Callable[[str, str], None],
    ) -> None:
        self._page = page
        self._run = run
        self._quiet = quiet
        self._record = record
        # Off for pages started before continue-as-new (they replay without it).
        self.enabled = False
        self._spill: asyncio.Task[Spill] | None = None

    async def wait(
        self,
        done: Callable[[], bool],
        phase: PagePhase,
        until: datetime | None = None,
        summary: str | None = None,
    ) -> None:
        """Wait until ``done()`` (``TimeoutError`` at ``until``), unless this run continues
        as new first (the next one waits for the same, until the same instant)."""
        while True:
            timeout = None if until is None else until - workflow.now()
            if timeout is not None and timeout <= timedelta(0) and not done():
                raise TimeoutError
            await workflow.wait_condition(
                lambda: done() or self._due(), timeout=timeout, timeout_summary=summary
            )
            if not self.enabled or done():
                return
            if self._spill is None:
                self._spill = asyncio.create_task(self._archive())
                continue
            self._continue_as_new(phase, self._spill.result())

    async def sleep(self, delay: timedelta, phase: PagePhase, summary: str) -> None:
        """A durable sleep, which may end this run in a continue-as-new like :meth:`wait`."""
        if not self.enabled:
            await workflow.sleep(delay, summary=summary)
            return
        with contextlib.suppress(TimeoutError):
            await self.wait(lambda: False, phase, workflow.now() + delay, summary)

    def _due(self) -> bool:
        """Whether to start the archive, or (once it is written) to continue as new now."""
        if not self.enabled:
            return False
        if self._spill is None:
            info = workflow.info()
            return history_long(
                info.get_current_history_length(),
                info.get_current_history_size(),
                suggested=info.is_continue_as_new_suggested(),
                limit=self._page.history_limit,
            )
        return self._spill.done() and workflow.all_handlers_finished() and self._quiet()

    async def _archive(self) -> Spill:
        """Hand the entries and alerts the next run will not hold to the archive."""
        chosen = spill(self._run.state)
        try:
            await archive(chosen)
        except ActivityError as err:
            self._record("archive-failed", f"Could not archive: {activity_failure(err)}")
            return Spill(chosen.timeline, chosen.alerts, saved=False)
        return chosen

    def _continue_as_new(self, phase: PagePhase, done: Spill) -> None:
        state = self._run.state
        notified = {n.person for n in state.notified}
        carry = self._run.model_copy(
            update={
                "state": carried_state(state, done),
                "phase": phase,
                "responders": sorted({*self._run.responders, *notified}),
            }
        )
        workflow.logger.info("page %s: continuing as new", state.id)
        workflow.continue_as_new(self._page.model_copy(update={"carried": carry}))
