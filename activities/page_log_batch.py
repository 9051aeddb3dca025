"""Page log writes in batches, off the page's workflow task.

A page writes its row as it moves (a local activity, so it holds the page's workflow task
until it returns). Writing each row there and then made every step of a thousand pages
due at once wait on the database in turn, before its notifications could even be
scheduled. The batcher takes a row, keeps the newest per opening, and writes what is
pending every :data:`FLUSH_INTERVAL` in one transaction; the activity returns at once,
except for a page's final row (resolved), which waits until it is written. Rows the
database refuses to take are kept and written with the next batch; a newer row for the
same opening replaces an older one still waiting.

A worker that dies loses at most the rows of its last interval that had no final row;
every row carries the whole opening, so the page's next write puts it right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from activities.errors import AdapterError
from activities.ports import PageLog
from workflows.page_log import PageLogEntry

log = logging.getLogger("tocsin.page_log")

FLUSH_INTERVAL = 0.25
# After a failed batch: wait this long before the next try.
RETRY_DELAY = 1.0

Key = tuple[str, datetime]


class PageLogBatcher:
    """Collects page log rows and writes them in batches through ``log``."""

    def __init__(self, log: PageLog, interval: float = FLUSH_INTERVAL) -> None:
        self._log = log
        self._interval = interval
        self._pending: dict[Key, PageLogEntry] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"PageLogBatcher({self._log!r})"

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        return len(self._pending)

    async def write(self, entry: PageLogEntry, *, wait: bool = False) -> None:
        """Queue ``entry``; with ``wait``, return once it (or a newer row of its opening)
        is written.

        Raises:
            AdapterError: with ``wait``, the batch that held it could not be written (it
                stays queued for the next).
        """
        key = (entry.page_id, entry.opened_at)
        held = self._pending.get(key)
        if held is None or held.version <= entry.version:
            self._pending[key] = entry
        self._start()
        self._wake.set()
        if wait:
            done = asyncio.get_running_loop().create_future()
            self._waiters.append(done)
            await done

    async def flush(self) -> None:
        """Write what is pending now (the flusher does this every interval).

        Raises:
            AdapterError: the database failed; the rows stay queued.
        """
        batch, self._pending = self._pending, {}
        waiters, self._waiters = self._waiters, []
        try:
            await self._log.record_pages(list(batch.values()))
        except AdapterError as err:
            for key, entry in batch.items():
                newer = self._pending.get(key)
                if newer is None or newer.version < entry.version:
                    self._pending[key] = entry
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(err)
            raise
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _start(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._run(), name="page log batches")

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await asyncio.sleep(self._interval)
                try:
                    await self.flush()
                except AdapterError as err:
                    log.warning("page log batch not written (kept for the next): %s", err)
                    self._wake.set()
                    await asyncio.sleep(RETRY_DELAY)
        finally:
            # The worker is stopping: write what is left, if the database lets us.
            if self._pending:
                with contextlib.suppress(AdapterError, asyncio.CancelledError):
                    await self.flush()


__all__ = ["FLUSH_INTERVAL", "PageLogBatcher"]
