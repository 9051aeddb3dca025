"""Issues linked to follow-ups in SQL: (repository, number) → incidents, for the GitHub
webhook. Part of :class:`~activities.adapters.sql_store.SqlStore` (same database, same
migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, as_utc, followup_issues

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore


class SqlFollowupIssues:
    """One row per (issue, incident): written once (a retried link adds nothing), read by
    the webhook with the repository's name in any case."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def remember_followup_issue(
        self, repo: str, number: int, incident_id: str, at: datetime
    ) -> None:
        """Record that ``incident_id`` follows ``repo#number``; a second record is a no-op."""
        await self._store.migrate()
        rows = followup_issues.c
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        add = (
            insert(followup_issues)
            .values(repo=repo.lower(), number=number, incident_id=incident_id, linked_at=as_utc(at))
            .on_conflict_do_nothing(index_elements=[rows.repo, rows.number, rows.incident_id])
        )
        context = {"repo": repo, "number": number, "incident_id": incident_id}
        async with (
            self._store.guard("remember follow-up issue", **context),
            self._store.engine.begin() as conn,
        ):
            await conn.execute(add)

    async def incidents_for_issue(self, repo: str, number: int) -> list[str]:
        """The incidents that linked ``repo#number``, in the order they linked it."""
        await self._store.migrate()
        rows = followup_issues.c
        query = (
            select(rows.incident_id)
            .where(rows.repo == repo.lower(), rows.number == number)
            .order_by(rows.linked_at, rows.incident_id)
        )
        async with (
            self._store.guard("find follow-up issue", repo=repo, number=number),
            self._store.engine.connect() as conn,
        ):
            await conn.execution_options(**{READ_ONLY: True})
            return list((await conn.execute(query)).scalars().all())
