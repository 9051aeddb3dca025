"""Reading a workflow's whole timeline over HTTP: the store's part and the workflow's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from activities.errors import AdapterError
from activities.ports import Store
from starters.timelines import ArchiveMissing, timeline_slice
from workflows.archive_models import TimelineEntries
from workflows.models import TimelineEntry

NO_ARCHIVE = "older timeline entries are in the store, which this process does not have"
ARCHIVE_DOWN = "the store holding older timeline entries is unavailable, try again"


def archive(request: Request) -> Store | None:
    store: Store | None = getattr(request.app.state, "store", None)
    return store


Archive = Annotated[Store | None, Depends(archive)]


async def read_timeline(
    store: Store | None,
    subject: str,
    held: list[TimelineEntry],
    archived: int,
    offset: int,
    limit: int,
) -> TimelineEntries:
    """:func:`starters.timelines.timeline_slice`, its failures as 503."""
    try:
        return await timeline_slice(store, subject, held, archived, offset, limit)
    except ArchiveMissing as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NO_ARCHIVE) from err
    except AdapterError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, ARCHIVE_DOWN) from err
