"""Uptime checks' probe results in SQL: one row per probe, in the store's database (same
engine, same migrations: ``migrations/versions/0010_check_results.py``), kept 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, as_utc, check_results
from workflows.check_models import ProbeResult

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore

KEEP_RESULTS = timedelta(days=30)
# Rows past the window are deleted at most this often (per process), not at every probe.
PRUNE_EVERY = timedelta(minutes=10)


class SqlCheckResults:
    """The :class:`activities.ports.CheckResults` over the store's database.

    Raises (every method):
        Unavailable: the database could not be reached or failed; retrying may help.
        Rejected: the database refused the values.
    """

    def __init__(self, store: SqlStore, *, keep: timedelta = KEEP_RESULTS) -> None:
        self._store = store
        self._keep = keep
        self._pruned_at: datetime | None = None

    def __repr__(self) -> str:
        return f"SqlCheckResults({self._store.url!r})"

    async def record_check_result(self, result: ProbeResult) -> None:
        """Insert the row (one at the same check and time stays); rows older than 30 days
        go first, at most every :data:`PRUNE_EVERY`."""
        await self._store.migrate()
        at = as_utc(result.at)
        rows = check_results.c
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        add = (
            insert(check_results)
            .values(
                check_name=result.check,
                at=at,
                ok=result.ok,
                status=result.status,
                latency_ms=result.latency_ms,
                error=result.error,
            )
            .on_conflict_do_nothing(index_elements=[rows.check_name, rows.at])
        )
        prune = self._pruned_at is None or at - self._pruned_at >= PRUNE_EVERY
        async with (
            self._store.guard("record check result", check=result.check),
            self._store.engine.begin() as conn,
        ):
            if prune:
                await conn.execute(delete(check_results).where(rows.at < at - self._keep))
            await conn.execute(add)
        if prune:
            self._pruned_at = at

    async def list_check_results(self, since: datetime) -> list[ProbeResult]:
        """Results at or after ``since``, by check then time."""
        await self._store.migrate()
        rows = check_results.c
        query = (
            select(rows.check_name, rows.at, rows.ok, rows.status, rows.latency_ms, rows.error)
            .where(rows.at >= as_utc(since))
            .order_by(rows.check_name, rows.at)
        )
        async with self._store.guard("list check results"), self._store.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            found = (await conn.execute(query)).all()
        return [
            ProbeResult(
                check=r.check_name,
                at=r.at,
                ok=r.ok,
                status=r.status,
                latency_ms=r.latency_ms,
                error=r.error,
            )
            for r in found
        ]
