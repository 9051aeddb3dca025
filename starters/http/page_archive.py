"""What a page that lives long keeps in the store, over HTTP: its whole timeline (the
entries it archived when it continued as new, then those it holds) and the resolved alerts
it archived (``GET /api/pages/{id}`` shows only what the page holds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query, status

from activities.errors import AdapterError
from starters.http.auth import api_router
from starters.http.pages import Tocsin
from starters.http.timelines import ARCHIVE_DOWN, NO_ARCHIVE, Archive, read_timeline
from workflows.archive_models import TimelineEntries
from workflows.ids import page_workflow_id
from workflows.models import AlertList

router = api_router("/api/pages", "pages")

Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/{page_id}/timeline", response_model=TimelineEntries)
async def get_page_timeline(
    page_id: str, client: Tocsin, archive: Archive, offset: Offset = 0, limit: Limit = 500
) -> TimelineEntries:
    """The page's whole timeline, oldest first, a slice at a time: a page that lives long
    keeps only its newest entries and the store the rest (``archived`` of them)."""
    part = await client.pages.get_timeline(page_id, offset, limit)
    if offset >= part.archived:
        return part
    # The page answered from its first held entry on; the store has those before.
    subject = page_workflow_id(page_id)
    joined = await read_timeline(archive, subject, part.entries, part.archived, offset, limit)
    return joined.model_copy(update={"total": part.total})


@router.get("/{page_id}/alerts/archived", response_model=AlertList)
async def get_archived_alerts(
    page_id: str, client: Tocsin, archive: Archive, offset: Offset = 0, limit: Limit = 500
) -> AlertList:
    """The resolved alerts the page handed to the store when it continued as new, oldest
    first (``GET /api/pages/{id}/alerts`` lists those it holds)."""
    held = await client.get_alerts(page_id, 0, 1)
    if offset >= held.archived:
        return AlertList(total=held.archived, alerts=[], archived=held.archived)
    if archive is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NO_ARCHIVE)
    try:
        stored = await archive.read_alerts(page_workflow_id(page_id), offset, limit)
    except AdapterError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, ARCHIVE_DOWN) from err
    return stored.model_copy(update={"total": held.archived, "archived": held.archived})
