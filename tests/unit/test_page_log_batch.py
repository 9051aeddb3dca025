"""The page log's batches: a page's row is queued and written with the others of its
interval (the newest per opening), a resolved page's row waits until written, and rows a
failing database refused are written with the next batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from activities.page_log_batch import PageLogBatcher
from workflows.page_log import PageLogEntry

OPENED = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def row(page: str, version: int, **changes: object) -> PageLogEntry:
    base = PageLogEntry(
        page_id=page, opened_at=OPENED, source="alertmanager", rule="Disk", team="ops"
    )
    return base.model_copy(update={"version": version, **changes})


@dataclass
class Log:
    """A page log that records each batch, failing the next ``fail`` of them."""

    batches: list[list[PageLogEntry]] = field(default_factory=list)
    fail: int = 0

    async def record_page(self, entry: PageLogEntry) -> None:
        await self.record_pages([entry])

    async def record_pages(self, entries: Sequence[PageLogEntry]) -> None:
        if self.fail:
            self.fail -= 1
            raise Unavailable("database is down")
        self.batches.append(list(entries))

    async def list_pages(self, start: datetime, end: datetime) -> list[PageLogEntry]:
        return []


async def test_rows_of_an_interval_go_in_one_batch_newest_per_opening() -> None:
    log = Log()
    batcher = PageLogBatcher(log, interval=0.05)
    await batcher.write(row("a", 1))
    await batcher.write(row("b", 1))
    await batcher.write(row("a", 3, steps_reached=2))
    await batcher.write(row("a", 2))  # older than the one queued: dropped
    assert log.batches == []  # queued, not written: the page's task did not wait
    await batcher.write(row("b", 2, resolved_at=OPENED), wait=True)
    assert len(log.batches) == 1
    assert sorted((r.page_id, r.version, r.steps_reached) for r in log.batches[0]) == [
        ("a", 3, 2),
        ("b", 2, 0),
    ]


async def test_a_failed_batch_is_written_with_the_next() -> None:
    log = Log(fail=1)
    batcher = PageLogBatcher(log, interval=0.01)
    await batcher.write(row("a", 1))
    # The resolved row's writer hears of it (its activity is retried).
    with pytest.raises(Unavailable):
        await batcher.write(row("b", 1, resolved_at=OPENED), wait=True)
    for _ in range(300):  # the flusher tries again after RETRY_DELAY (1 s)
        if log.batches:
            break
        await asyncio.sleep(0.01)
    assert sorted(r.page_id for r in log.batches[0]) == ["a", "b"]
    assert batcher.pending == 0


async def test_sql_batches_upsert_by_opening(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    log = SqlPageLog(store)
    try:
        await log.record_pages([row("a", 1), row("a", 4, acked_by="bob"), row("b", 1)])
        await log.record_pages([row("a", 2, acked_by=None), row("b", 5, flaps=2)])
        found = await log.list_pages(OPENED, OPENED.replace(hour=4))
    finally:
        await store.close()
    assert [(r.page_id, r.version, r.acked_by, r.flaps) for r in found] == [
        ("a", 4, "bob", 0),
        ("b", 5, None, 2),
    ]
