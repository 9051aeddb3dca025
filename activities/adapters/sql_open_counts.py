"""What is open right now, counted in SQL for the API's ``/metrics`` gauges: pages from
the page log, incidents and their follow-ups from the incident log. Three ``GROUP BY``
reads, whatever the number of pages; no row leaves the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import case, func, select

from activities.adapters.sql_schema import READ_ONLY, incidents, page_log

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore


@dataclass(frozen=True)
class OpenCounts:
    """Counts by label values, in the gauges' label order."""

    # (team, status, urgency): status is ``triggered`` or ``acknowledged``
    pages: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (status, severity) of incidents not resolved
    incidents: dict[tuple[str, str], int] = field(default_factory=dict)
    # team -> open follow-ups over all its incidents, resolved ones too
    followups: dict[str, int] = field(default_factory=dict)


async def open_counts(store: SqlStore) -> OpenCounts:
    """Count what is open.

    Raises:
        Unavailable: the database could not be reached or failed.
    """
    await store.migrate()
    pages, inc = page_log.c, incidents.c
    status = case((pages.acked_at.is_(None), "triggered"), else_="acknowledged")
    open_pages = (
        select(pages.team, status, pages.urgency, func.count())
        .where(pages.resolved_at.is_(None))
        .group_by(pages.team, status, pages.urgency)
    )
    open_incidents = (
        select(inc.status, inc.severity, func.count())
        .where(inc.resolved_at.is_(None))
        .group_by(inc.status, inc.severity)
    )
    followups = (
        select(inc.team, func.sum(inc.followups_open))
        .where(inc.followups_open > 0)
        .group_by(inc.team)
    )
    async with store.guard("count open pages and incidents"), store.engine.connect() as conn:
        await conn.execution_options(**{READ_ONLY: True})
        page_rows = (await conn.execute(open_pages)).all()
        incident_rows = (await conn.execute(open_incidents)).all()
        followup_rows = (await conn.execute(followups)).all()
    return OpenCounts(
        pages={(team, state, urgency): n for team, state, urgency, n in page_rows},
        incidents={(state, severity): n for state, severity, n in incident_rows},
        followups={team: int(n) for team, n in followup_rows},
    )
