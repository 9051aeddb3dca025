"""The incident log in SQL: SQLite by default, PostgreSQL in production (SQLAlchemy 2 async).

One row per incident, upserted at each status change; beside it, the ids of the webhook
deliveries already processed, so a replayed delivery is recognised, the archive of
what long-lived workflows spill before they continue as new, the issues linked to
incidents' follow-ups (for the GitHub webhook) and the shifts' on-call reports. The schema
comes from
the Alembic migrations shipped next to this module (``migrations/``); :func:`open_store`
brings the database to the newest revision before anything is read or written.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from activities.adapters.sql_archive import SqlArchive
from activities.adapters.sql_errors import DatabaseErrors
from activities.adapters.sql_followups import SqlFollowupIssues
from activities.adapters.sql_reports import SqlShiftReports
from activities.adapters.sql_schema import (
    READ_ONLY,
    as_utc,
    incidents,
    webhook_deliveries,
)
from workflows.archive_models import AlertSpill, TimelineEntries, TimelineSpill
from workflows.incident_models import IncidentRecord, IncidentStatus, LogQuery
from workflows.models import AlertList
from workflows.rotation_models import ReportQuery, ShiftReport

log = structlog.get_logger("tocsin.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# A status only moves forward: an upsert carrying an earlier one (a retried activity
# delivering "active" after "resolved" was written) leaves the row as it is.
STATUS_RANK = {
    IncidentStatus.triage: 0,
    IncidentStatus.active: 1,
    IncidentStatus.resolved: 2,
    IncidentStatus.closed: 3,
}

# Once known, these stay known: a record at the same status that lacks them keeps them.
STICKY = ("acknowledged_at", "resolved_at", "closed_at", "postmortem_url")

# Alembic keeps its running migration in a module global (``alembic.context``): two stores
# of one process (``tocsin dev`` runs the worker and the API together) must not migrate at
# the same time. Other processes are kept out by the database (see migrations/env.py).
_MIGRATING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)

# PostgreSQL migrators of other processes queue on this advisory lock (any constant will do).
MIGRATION_LOCK = 0x70C51A

SQLITE = "sqlite+aiosqlite"
POSTGRES = "postgresql+asyncpg"

# How long a webhook delivery id is remembered. GitHub redelivers (by hand, or through its
# REST API) deliveries of the past 3 days on github.com and of the past 7 on GitHub
# Enterprise Server: a week covers both, so every redelivery GitHub allows is recognised.
DELIVERY_WINDOW = timedelta(days=7)
# And at most this many ids per source, the oldest dropped first: a burst of deliveries
# cannot grow the table without bound. Only deliveries that reach an incident are recorded
# (a few per incident), so the week runs out long before this does.
DELIVERY_LIMIT = 10_000


RECORD_FIELDS = tuple(IncidentRecord.model_fields)


def normalise_url(url: str) -> URL:
    """The SQLAlchemy URL with its async driver: ``postgres://`` and ``postgresql://`` use
    asyncpg, ``sqlite://`` uses aiosqlite.

    Raises:
        ValueError: not a URL, or a database Tocsin does not support (the message never
            repeats the URL: it may hold a password).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            "the incident log URL does not parse: use sqlite+aiosqlite:///path/to/tocsin.db "
            "or postgresql+asyncpg://user:password@host:5432/database"
        ) from None
    driver = parsed.drivername
    if driver in ("postgres", "postgresql", POSTGRES):
        return parsed.set(drivername=POSTGRES)
    if driver in ("sqlite", SQLITE):
        return parsed.set(drivername=SQLITE)
    raise ValueError(
        f"unsupported incident log database {driver!r}: use sqlite+aiosqlite:// or "
        "postgresql+asyncpg:// (postgres:// and postgresql:// are read as asyncpg)"
    )


class SqlStore:
    """The :class:`activities.ports.Store`, :class:`activities.ports.DeliveryLog` and
    :class:`activities.ports.FollowupIssues` over SQLite (aiosqlite) or PostgreSQL (asyncpg).

    Creating one opens nothing; the first call (or :meth:`migrate`) connects and brings the
    schema to the newest migration. Delivery ids are kept ``delivery_window`` and at most
    ``delivery_limit`` per source (see :data:`DELIVERY_WINDOW`).

    Raises (every method):
        Unavailable: the database could not be reached or failed; retrying may help.
        Rejected: the database refused the values; retrying the same record will not help.
    """

    def __init__(
        self,
        url: str,
        *,
        delivery_window: timedelta = DELIVERY_WINDOW,
        delivery_limit: int = DELIVERY_LIMIT,
    ) -> None:
        self._url = normalise_url(url)
        self._sqlite = self._url.drivername == SQLITE
        self._archive = SqlArchive(self)
        self._followups = SqlFollowupIssues(self)
        self._reports = SqlShiftReports(self)
        self._engine = self._create_engine()
        self._migrated = False
        self._delivery_window = delivery_window
        self._delivery_limit = delivery_limit

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"

    @property
    def url(self) -> str:
        """The database URL with any password masked (safe to log)."""
        return self._url.render_as_string(hide_password=True)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def _create_engine(self) -> AsyncEngine:
        if not self._sqlite:
            return create_async_engine(self._url, pool_pre_ping=True)
        # The worker, the API and the CLI may share one SQLite file: wait for a lock
        # instead of failing at once.
        engine = create_async_engine(self._url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration (idempotent)."""
        if self._migrated:
            return
        async with _MIGRATING.setdefault(asyncio.get_running_loop(), asyncio.Lock()):
            if self._migrated:
                return
            async with self.guard("migrate"):
                if self._sqlite and self._url.database not in (None, "", ":memory:"):
                    Path(self._url.database).parent.mkdir(parents=True, exist_ok=True)
                async with self._engine.begin() as conn:
                    await conn.run_sync(_upgrade)
            self._migrated = True
            log.info("incident log ready", url=self.url)

    async def upsert_incident(self, record: IncidentRecord) -> None:
        """Insert the incident's row or update it, never moving its status backwards."""
        await self.migrate()
        row = _row(record)
        insert = postgresql.insert if not self._sqlite else sqlite.insert
        stmt = insert(incidents).values(**row)
        updates: dict[str, Any] = {
            name: stmt.excluded[name] for name in row if name not in ("id", *STICKY)
        }
        for name in STICKY:
            updates[name] = func.coalesce(stmt.excluded[name], incidents.c[name])
        upsert = stmt.on_conflict_do_update(
            index_elements=[incidents.c.id],
            set_=updates,
            where=incidents.c.status_rank <= stmt.excluded.status_rank,
        )
        async with self.guard("upsert", incident_id=record.id), self._engine.begin() as conn:
            result = await conn.execute(upsert)
        if result.rowcount == 0:
            log.info(
                "older incident record ignored", incident_id=record.id, status=str(record.status)
            )

    async def list_incidents(self, query: LogQuery) -> list[IncidentRecord]:
        """Incidents declared in ``[since, until)``, newest first, at most ``limit``."""
        await self.migrate()
        stmt = select(*(incidents.c[name] for name in RECORD_FIELDS))
        if query.since is not None:
            stmt = stmt.where(incidents.c.declared_at >= as_utc(query.since))
        if query.until is not None:
            stmt = stmt.where(incidents.c.declared_at < as_utc(query.until))
        if query.severity is not None:
            stmt = stmt.where(incidents.c.severity == query.severity)
        if query.service is not None:
            stmt = stmt.where(incidents.c.service == query.service)
        stmt = stmt.order_by(incidents.c.declared_at.desc(), incidents.c.id.desc())
        async with self.guard("list"), self._engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            rows = (await conn.execute(stmt.limit(query.limit))).mappings().all()
        return [IncidentRecord.model_validate(dict(row)) for row in rows]

    async def remember_delivery(self, source: str, delivery_id: str, at: datetime) -> bool:
        """Record the delivery as seen at ``at``; True when it was not recorded already.

        One transaction: ids of ``source`` older than the window go first (an expired id
        counts as new again), then the insert, whose primary key decides between two
        identical deliveries at once (exactly one gets True), then, when a row was added,
        the oldest ids beyond the limit.
        """
        await self.migrate()
        at = as_utc(at)
        rows = webhook_deliveries.c
        insert = postgresql.insert if not self._sqlite else sqlite.insert
        add = (
            insert(webhook_deliveries)
            .values(source=source, delivery_id=delivery_id, seen_at=at)
            .on_conflict_do_nothing(index_elements=[rows.source, rows.delivery_id])
        )
        expired = delete(webhook_deliveries).where(
            rows.source == source, rows.seen_at < at - self._delivery_window
        )
        beyond_limit = (
            select(rows.delivery_id)
            .where(rows.source == source)
            .order_by(rows.seen_at.desc(), rows.delivery_id.desc())
            .offset(self._delivery_limit)
        )
        overflow = delete(webhook_deliveries).where(
            rows.source == source, rows.delivery_id.in_(beyond_limit.scalar_subquery())
        )
        context = {"source": source, "delivery": delivery_id}
        async with self.guard("remember delivery", **context), self._engine.begin() as conn:
            await conn.execute(expired)
            added = (await conn.execute(add)).rowcount == 1
            if added:
                await conn.execute(overflow)
        return added

    async def forget_delivery(self, source: str, delivery_id: str) -> None:
        """Drop the delivery's record (no error when there is none)."""
        await self.migrate()
        rows = webhook_deliveries.c
        forget = delete(webhook_deliveries).where(
            rows.source == source, rows.delivery_id == delivery_id
        )
        context = {"source": source, "delivery": delivery_id}
        async with self.guard("forget delivery", **context), self._engine.begin() as conn:
            await conn.execute(forget)

    async def archive_timeline(self, spill: TimelineSpill) -> None:
        """Store the spilled entries; those already stored (same subject and seq) stay."""
        await self._archive.archive_timeline(spill)

    async def archive_alerts(self, spill: AlertSpill) -> None:
        """Store the spilled alerts; those already stored stay."""
        await self._archive.archive_alerts(spill)

    async def read_timeline(
        self, subject: str, offset: int = 0, limit: int = 500
    ) -> TimelineEntries:
        """Archived entries of ``subject`` from sequence number ``offset``, oldest first."""
        return await self._archive.read_timeline(subject, offset, limit)

    async def read_alerts(self, subject: str, offset: int = 0, limit: int = 500) -> AlertList:
        """Archived alerts of ``subject`` from sequence number ``offset``, oldest first."""
        return await self._archive.read_alerts(subject, offset, limit)

    async def remember_followup_issue(
        self, repo: str, number: int, incident_id: str, at: datetime
    ) -> None:
        """Record that ``incident_id`` follows ``repo#number`` (once, however often told)."""
        await self._followups.remember_followup_issue(repo, number, incident_id, at)

    async def incidents_for_issue(self, repo: str, number: int) -> list[str]:
        """The incidents that linked ``repo#number`` (the repository's name in any case)."""
        return await self._followups.incidents_for_issue(repo, number)

    async def keep_shift_report(self, report: ShiftReport) -> None:
        """Keep a shift's on-call report under its id (a second keep replaces the first)."""
        await self._reports.keep_shift_report(report)

    async def list_shift_reports(self, query: ReportQuery) -> list[ShiftReport]:
        """Kept on-call reports matching ``query``, newest shift first."""
        return await self._reports.list_shift_reports(query)

    async def get_shift_report(self, report_id: str) -> ShiftReport | None:
        """The on-call report kept under ``report_id``, or None."""
        return await self._reports.get_shift_report(report_id)

    @property
    def sqlite(self) -> bool:
        return self._sqlite

    async def close(self) -> None:
        """Close the connection pool."""
        await self._engine.dispose()

    def guard(self, action: str, **context: object) -> DatabaseErrors:
        """Turn this block's database errors into adapter errors, logged with ``context``."""
        return DatabaseErrors(action, self.url, context)


async def open_store(url: str) -> SqlStore:
    """A store whose schema is at the newest migration.

    Raises:
        ValueError: the URL is not one Tocsin supports.
        Unavailable: the database could not be reached or migrated.
    """
    store = SqlStore(url)
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    return store


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration without an ``alembic.ini``: the packaged migrations and,
    when given, the connection to run them on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _row(record: IncidentRecord) -> dict[str, Any]:
    row = record.model_dump(mode="python")
    row["status"] = str(record.status)
    row["status_rank"] = STATUS_RANK[record.status]
    row["updated_at"] = datetime.now(UTC)
    return row


def _sqlite_connect(dbapi_connection: Any, _: object) -> None:
    # Let SQLAlchemy emit BEGIN itself (below) so DDL is transactional too, and use WAL so
    # readers (the API, the CLI) do not block the worker's writes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front (IMMEDIATE): two processes migrating or
    # upserting at once queue on the busy timeout instead of failing to upgrade a read lock.
    reading = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
