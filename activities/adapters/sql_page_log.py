"""The page log in SQL: one row per page opening, in the store's database (same engine,
same migrations: ``migrations/versions/0009_page_log.py``), upserted as the page moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, as_utc, page_log
from workflows.page_log import PageLogEntry

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore

# Fixed at the opening: a later write (a page that continued as new and archived the
# alerts that named its rule) leaves them as they were.
OPENING = ("page_id", "opened_at", "source", "rule", "off_hours")
FIELDS = tuple(PageLogEntry.model_fields)


class SqlPageLog:
    """The :class:`activities.ports.PageLog` over the store's database.

    Raises (every method):
        Unavailable: the database could not be reached or failed; retrying may help.
        Rejected: the database refused the values.
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlPageLog({self._store.url!r})"

    async def record_page(self, entry: PageLogEntry) -> None:
        """Insert the opening's row, or update it unless the row holds a newer write (a
        higher ``version``); the same write twice leaves one row as it was."""
        await self.record_pages([entry])

    async def record_pages(self, entries: Sequence[PageLogEntry]) -> None:
        """:meth:`record_page` for many rows in one statement and transaction (one entry
        per opening: the newest of ``entries`` for each)."""
        newest: dict[tuple[str, datetime], PageLogEntry] = {}
        for entry in entries:
            key = (entry.page_id, entry.opened_at)
            if key not in newest or newest[key].version <= entry.version:
                newest[key] = entry
        if not newest:
            return
        await self._store.migrate()
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = [
            {**entry.model_dump(), "updated_at": now} for entry in newest.values()
        ]
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        stmt = insert(page_log).values(rows)
        upsert = stmt.on_conflict_do_update(
            index_elements=[page_log.c.page_id, page_log.c.opened_at],
            set_={name: stmt.excluded[name] for name in rows[0] if name not in OPENING},
            where=page_log.c.version <= stmt.excluded.version,
        )
        first = next(iter(newest.values()))
        async with (
            self._store.guard("record page", page_id=first.page_id, rows=len(rows)),
            self._store.engine.begin() as conn,
        ):
            await conn.execute(upsert)

    async def list_pages(self, start: datetime, end: datetime) -> list[PageLogEntry]:
        """Openings in ``[start, end)``, oldest first."""
        await self._store.migrate()
        rows = page_log.c
        stmt = (
            select(*(rows[name] for name in FIELDS))
            .where(rows.opened_at >= as_utc(start), rows.opened_at < as_utc(end))
            .order_by(rows.opened_at, rows.page_id)
        )
        async with self._store.guard("list pages"), self._store.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            found = (await conn.execute(stmt)).mappings().all()
        return [PageLogEntry.model_validate(dict(r)) for r in found]
