"""A workflow's whole timeline: the entries it spilled to the store before continuing as
new, then those it still holds, read as one list by offset."""

from __future__ import annotations

from activities.ports import Store
from workflows.archive_models import TimelineEntries
from workflows.models import TimelineEntry


class ArchiveMissing(RuntimeError):
    """Entries are in the store, but this process has no store to read them from."""


async def timeline_slice(
    archive: Store | None,
    subject: str,
    held: list[TimelineEntry],
    archived: int,
    offset: int,
    limit: int,
) -> TimelineEntries:
    """Entries ``[offset, offset + limit)`` of ``subject``'s timeline, oldest first.

    Args:
        archive: the store holding the first ``archived`` entries.
        subject: the workflow id (``incident-INC-42``, ``page-abc``).
        held: the entries the workflow holds, numbered from ``archived``.
        archived: how many entries the workflow has spilled to the store.
        offset: the number of the first entry wanted.
        limit: at most this many entries.

    Raises:
        ArchiveMissing: the slice starts in the store and ``archive`` is None.
        activities.errors.AdapterError: the store failed.
    """
    entries: list[TimelineEntry] = []
    if offset < archived:
        if archive is None:
            raise ArchiveMissing(subject)
        stored = await archive.read_timeline(subject, offset, min(limit, archived - offset))
        entries += stored.entries
    start = max(offset - archived, 0)
    entries += held[start : start + limit - len(entries)]
    return TimelineEntries(
        total=archived + len(held), entries=entries, offset=offset, archived=archived
    )
