"""Ad-hoc silences in SQL, and the pages each holds, in the store's database (same
engine, same migrations: ``migrations/versions/0011_silences.py``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, as_utc, silence_holds, silences
from activities.adapters.sql_store import SqlStore
from activities.ports import Silences
from workflows.silence_models import Silence

# A listing shows at most this many (newest first): silences are set by hand.
LIST_LIMIT = 500


class SqlSilences:
    """The :class:`activities.ports.Silences` over the store's database.

    Raises (every method):
        Unavailable: the database could not be reached or failed; retrying may help.
        Rejected: the database refused the values.
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlSilences({self._store.url!r})"

    async def add_silence(self, silence: Silence) -> None:
        await self._store.migrate()
        row = {
            "id": silence.id,
            "services": json.dumps(silence.services),
            "teams": json.dumps(silence.teams),
            "matchers": json.dumps(silence.matchers),
            "starts_at": as_utc(silence.starts_at),
            "ends_at": as_utc(silence.ends_at),
            "reason": silence.reason,
            "created_by": silence.created_by,
            "created_via": silence.created_via,
            "created_at": as_utc(silence.created_at),
            "ended_at": None,
            "ended_by": None,
        }
        async with (
            self._store.guard("add silence", silence_id=silence.id),
            self._store.engine.begin() as conn,
        ):
            await conn.execute(silences.insert().values(**row))

    async def get_silence(self, silence_id: str) -> Silence | None:
        found = await self._read(
            "read silence", select(silences).where(silences.c.id == silence_id)
        )
        return found[0] if found else None

    async def active_silences(self, at: datetime) -> list[Silence]:
        rows = silences.c
        query = select(silences).where(
            rows.ended_at.is_(None), rows.starts_at <= as_utc(at), rows.ends_at > as_utc(at)
        )
        return await self._read("read active silences", query)

    async def list_silences(self, since: datetime | None) -> list[Silence]:
        rows = silences.c
        query = select(silences)
        if since is not None:
            when = as_utc(since)
            query = query.where(
                or_(rows.ended_at >= when, (rows.ended_at.is_(None)) & (rows.ends_at >= when))
            )
        query = query.order_by(rows.created_at.desc(), rows.id).limit(LIST_LIMIT)
        return await self._read("list silences", query)

    async def end_silence(self, silence_id: str, by: str, at: datetime) -> Silence | None:
        await self._store.migrate()
        rows = silences.c
        end = (
            update(silences)
            .where(rows.id == silence_id, rows.ended_at.is_(None), rows.ends_at > as_utc(at))
            .values(ended_at=as_utc(at), ended_by=by)
        )
        async with (
            self._store.guard("end silence", silence_id=silence_id),
            self._store.engine.begin() as conn,
        ):
            await conn.execute(end)
        return await self.get_silence(silence_id)

    async def hold_page(self, silence_id: str, page_id: str, at: datetime) -> None:
        await self._store.migrate()
        rows = silence_holds.c
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        add = (
            insert(silence_holds)
            .values(silence_id=silence_id, page_id=page_id, held_at=as_utc(at))
            .on_conflict_do_nothing(index_elements=[rows.silence_id, rows.page_id])
        )
        async with (
            self._store.guard("hold page", silence_id=silence_id, page_id=page_id),
            self._store.engine.begin() as conn,
        ):
            await conn.execute(add)

    async def held_pages(self, silence_id: str) -> list[str]:
        await self._store.migrate()
        rows = silence_holds.c
        query = select(rows.page_id).where(rows.silence_id == silence_id).order_by(rows.page_id)
        async with (
            self._store.guard("read held pages", silence_id=silence_id),
            self._store.engine.connect() as conn,
        ):
            await conn.execution_options(**{READ_ONLY: True})
            return list((await conn.execute(query)).scalars().all())

    async def _read(self, action: str, query: Any) -> list[Silence]:
        await self._store.migrate()
        async with self._store.guard(action), self._store.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            return [_silence(row) for row in (await conn.execute(query)).all()]


def _silence(row: Row[Any]) -> Silence:
    return Silence(
        id=row.id,
        services=json.loads(row.services),
        teams=json.loads(row.teams),
        matchers=json.loads(row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=row.created_by,
        created_via=row.created_via,
        created_at=row.created_at,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
    )


def silences_of(store: object) -> Silences | None:
    """Where silences are kept beside ``store``: its database (a SQL store), the store
    itself when it keeps them (a test's), else nowhere."""
    if isinstance(store, SqlStore):
        return SqlSilences(store)
    return store if isinstance(store, Silences) else None
