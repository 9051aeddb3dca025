"""A timeline read across the store (the oldest entries) and the workflow (the newest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from starters.timelines import ArchiveMissing, timeline_slice
from tests.fakes.store import MemoryStore
from workflows.archive_models import TimelineEntries, TimelineSpill
from workflows.models import TimelineEntry

T0 = datetime(2026, 11, 30, tzinfo=UTC)
SUBJECT = "incident-INC-9"


def entries(first: int, count: int) -> list[TimelineEntry]:
    return [
        TimelineEntry(at=T0 + timedelta(minutes=i), kind="chat", text=f"e{i}")
        for i in range(first, first + count)
    ]


@pytest.fixture
async def store() -> MemoryStore:
    store = MemoryStore()
    await store.archive_timeline(TimelineSpill(subject=SUBJECT, start=0, entries=entries(0, 5)))
    return store


def texts(got: TimelineEntries) -> list[str]:
    return [e.text for e in got.entries]


async def test_from_the_start_the_store_then_the_workflow(store: MemoryStore) -> None:
    got = await timeline_slice(store, SUBJECT, entries(5, 3), 5, 0, 100)
    assert texts(got) == [f"e{i}" for i in range(8)]
    assert (got.total, got.archived, got.offset) == (8, 5, 0)


async def test_a_slice_across_the_seam(store: MemoryStore) -> None:
    got = await timeline_slice(store, SUBJECT, entries(5, 3), 5, 3, 4)
    assert texts(got) == ["e3", "e4", "e5", "e6"]


async def test_a_slice_within_the_workflow_needs_no_store() -> None:
    got = await timeline_slice(None, SUBJECT, entries(5, 3), 5, 6, 10)
    assert texts(got) == ["e6", "e7"]


async def test_past_the_end_is_empty(store: MemoryStore) -> None:
    got = await timeline_slice(store, SUBJECT, entries(5, 3), 5, 50, 10)
    assert (texts(got), got.total) == ([], 8)


async def test_archived_entries_without_a_store_are_an_error() -> None:
    with pytest.raises(ArchiveMissing):
        await timeline_slice(None, SUBJECT, entries(5, 3), 5, 0, 10)
