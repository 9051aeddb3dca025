"""The notification ledger in SQL: page notifications delivered, by idempotency key, in the
store's database (same engine, same migrations:
``migrations/versions/0008_notification_deliveries.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, as_utc, notification_deliveries

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore

# How long a delivery is remembered. A notify activity is retried within minutes, or when
# a worker is back after an outage: a week covers any outage a page outlives.
NOTIFICATION_WINDOW = timedelta(days=7)
# Rows past the window are deleted at most this often (per process), not at every send.
PRUNE_EVERY = timedelta(minutes=10)


class SqlNotificationLedger:
    """The :class:`activities.ports.NotificationLedger` over the store's database: one row
    per confirmed delivery.

    Raises (every method):
        Unavailable: the database could not be reached or failed; retrying may help.
        Rejected: the database refused the values.
    """

    def __init__(self, store: SqlStore, *, window: timedelta = NOTIFICATION_WINDOW) -> None:
        self._store = store
        self._window = window
        self._pruned_at: datetime | None = None

    def __repr__(self) -> str:
        return f"SqlNotificationLedger({self._store.url!r})"

    async def delivered_to(self, key: str) -> str | None:
        """Where the delivery ``key`` went, once confirmed; None when it is not."""
        await self._store.migrate()
        rows = notification_deliveries.c
        query = select(rows.delivered_to).where(rows.delivery_key == key)
        async with (
            self._store.guard("read notification", delivery_key=key),
            self._store.engine.connect() as conn,
        ):
            await conn.execution_options(**{READ_ONLY: True})
            found: str | None = (await conn.execute(query)).scalar_one_or_none()
        return found

    async def confirm_delivery(
        self, key: str, page_id: str, delivered_to: str, at: datetime
    ) -> None:
        """Insert the delivery; one confirmed already keeps its row. Rows older than the
        window go first, at most every :data:`PRUNE_EVERY`."""
        await self._store.migrate()
        at = as_utc(at)
        rows = notification_deliveries.c
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        add = (
            insert(notification_deliveries)
            .values(delivery_key=key, page_id=page_id, delivered_to=delivered_to, delivered_at=at)
            .on_conflict_do_nothing(index_elements=[rows.delivery_key])
        )
        prune = self._pruned_at is None or at - self._pruned_at >= PRUNE_EVERY
        async with (
            self._store.guard("confirm notification", page_id=page_id),
            self._store.engine.begin() as conn,
        ):
            if prune:
                expired = rows.delivered_at < at - self._window
                await conn.execute(delete(notification_deliveries).where(expired))
            await conn.execute(add)
        if prune:
            self._pruned_at = at
