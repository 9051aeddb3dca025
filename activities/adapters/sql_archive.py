"""The archive in SQL: what long-lived workflows (pages, incidents) spill before they
continue as new, keyed by subject (the workflow id) and sequence number, read back by
offset. Part of :class:`~activities.adapters.sql_store.SqlStore` (same database, same
migrations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, archived_alerts, archived_timeline
from workflows.archive_models import AlertSpill, TimelineEntries, TimelineSpill
from workflows.models import Alert, AlertList, TimelineEntry

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore

# Rows per INSERT when a spill is written (well under SQLite's bound-parameter limit).
ARCHIVE_BATCH = 500


class SqlArchive:
    """Spills written once (a retried one adds nothing) and read back in order."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def archive_timeline(self, spill: TimelineSpill) -> None:
        """Store the spilled entries; those already stored (same subject and seq) stay."""
        rows = [
            {"subject": spill.subject, "seq": spill.start + i, **entry.model_dump(mode="python")}
            for i, entry in enumerate(spill.entries)
        ]
        await self._insert(archived_timeline, rows, spill.subject)

    async def archive_alerts(self, spill: AlertSpill) -> None:
        """Store the spilled alerts (as JSON); those already stored stay."""
        rows = [
            {
                "subject": spill.subject,
                "seq": spill.start + i,
                "fingerprint": alert.fingerprint,
                "status": alert.status,
                "alert": alert.model_dump_json(),
            }
            for i, alert in enumerate(spill.alerts)
        ]
        await self._insert(archived_alerts, rows, spill.subject)

    async def read_timeline(
        self, subject: str, offset: int = 0, limit: int = 500
    ) -> TimelineEntries:
        """Archived entries of ``subject`` from sequence number ``offset``, oldest first."""
        c = archived_timeline.c
        rows, total = await self._read(archived_timeline, subject, offset, limit)
        entries = [
            TimelineEntry(
                at=row[c.at], kind=row[c.kind], text=row[c.text], by=row[c.by], via=row[c.via]
            )
            for row in rows
        ]
        return TimelineEntries(total=total, entries=entries, offset=offset, archived=total)

    async def read_alerts(self, subject: str, offset: int = 0, limit: int = 500) -> AlertList:
        """Archived alerts of ``subject`` from sequence number ``offset``, oldest first."""
        rows, total = await self._read(archived_alerts, subject, offset, limit)
        alerts = [Alert.model_validate_json(row[archived_alerts.c.alert]) for row in rows]
        return AlertList(total=total, alerts=alerts, archived=total)

    async def _insert(self, table: Table, rows: list[dict[str, Any]], subject: str) -> None:
        """Insert ``rows``, skipping keys already there: a retried spill writes nothing twice."""
        if not rows:
            return
        await self._store.migrate()
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=[table.c.subject, table.c.seq])
        context = {"subject": subject, "first": rows[0]["seq"], "count": len(rows)}
        async with (
            self._store.guard(f"archive {table.name}", **context),
            self._store.engine.begin() as conn,
        ):
            for start in range(0, len(rows), ARCHIVE_BATCH):
                await conn.execute(stmt, rows[start : start + ARCHIVE_BATCH])

    async def _read(
        self, table: Table, subject: str, offset: int, limit: int
    ) -> tuple[list[Any], int]:
        await self._store.migrate()
        page = (
            select(table)
            .where(table.c.subject == subject, table.c.seq >= offset)
            .order_by(table.c.seq)
            .limit(limit)
        )
        count = select(func.count()).select_from(table).where(table.c.subject == subject)
        async with (
            self._store.guard(f"read {table.name}", subject=subject),
            self._store.engine.connect() as conn,
        ):
            await conn.execution_options(**{READ_ONLY: True})
            rows = (await conn.execute(page)).mappings().all()
            total = (await conn.execute(count)).scalar_one()
        return list(rows), int(total)
