"""The archive's contract: what a long-lived workflow hands to the SQL store before it
continues as new, and how it is read back.

A workflow's history is bounded (Temporal ends a run past ~51,200 events or 50 MB), so a
page or an incident that lives for months keeps only its newest timeline entries (and
alerts) in its state and *spills* the older ones to the store. Each spilled item has a
sequence number within its subject (the workflow id: ``page-abc``, ``incident-INC-42``),
counting from 0 in the order the workflow recorded it; ``(subject, seq)`` is the store's
key, so a spill written twice (a retried activity, a replayed continue-as-new) is stored
once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from workflows.models import Alert, TimelineEntry

# Subjects are workflow ids: ``page-`` plus a key of at most 128 characters, or an incident's.
SUBJECT_MAX = 160


class TimelineSpill(BaseModel):
    """Timeline entries a workflow no longer holds: ``entries[i]`` has sequence number
    ``start + i`` (``start``: how many entries of ``subject`` were archived before)."""

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    start: int = Field(ge=0)
    entries: list[TimelineEntry]


class AlertSpill(BaseModel):
    """Alerts a page no longer holds (resolved ones), numbered like :class:`TimelineSpill`."""

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    start: int = Field(ge=0)
    alerts: list[Alert]


class TimelineSlice(BaseModel):
    """Entries ``[offset, offset + limit)`` of ``subject``'s timeline, oldest first."""

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=1000)


class TimelineEntries(BaseModel):
    """A slice of a timeline.

    From the store, ``total`` counts the entries archived; from a workflow (or the API,
    which joins both), every entry so far, of which the first ``archived`` are in the store
    and the rest in the workflow's state.
    """

    total: int
    entries: list[TimelineEntry]
    offset: int = 0
    archived: int = 0
