"""The incident log's SQL store: SQLite in a temporary file always, and PostgreSQL too when
``TOCSIN_TEST_DATABASE_URL`` names a database the tests may empty."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.sql_credentials import credentials
from activities.adapters.sql_schema import metadata, webhook_deliveries
from activities.adapters.sql_store import (
    DELIVERY_WINDOW,
    MIGRATION_LOCK,
    MIGRATIONS,
    SqlStore,
    alembic_config,
    normalise_url,
    open_store,
)
from activities.errors import Rejected, Unavailable
from activities.store import StoreActivities
from workflows.incident_models import IncidentRecord, IncidentStatus, LogQuery

POSTGRES_URL = os.environ.get("TOCSIN_TEST_DATABASE_URL")
# The newest migration: 0008 keeps page notifications by idempotency key.
HEAD = "0011"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


# An incident row as revision 0001 stored it.
OLD_ROW = (
    "(id, number, title, severity, status, status_rank, team, declared_by, declared_at, "
    "followups_open, followups_closed, updated_at) VALUES ('INC-7', 7, 'Old', 'critical', "
    "'closed', 3, 'delivery', 'bob', '2026-01-01 00:00:00', 0, 0, '2026-01-02 00:00:00')"
)


def record(number: int = 1, **changes: object) -> IncidentRecord:
    """An incident of the log, declared ``number`` hours after T0."""
    base = IncidentRecord(
        id=f"INC-{number}",
        number=number,
        title=f"Incident {number}",
        severity="critical",
        status=IncidentStatus.triage,
        service="gitserver",
        team="delivery",
        declared_by="bob",
        declared_at=T0 + timedelta(hours=number),
    )
    return base.model_copy(update=changes)


async def empty_postgres(url: str) -> None:
    """Drop what an earlier run left so each test starts from an empty database."""
    store = SqlStore(url)
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS incidents"))
        await conn.execute(text("DROP TABLE IF EXISTS webhook_deliveries"))
        await conn.execute(text("DROP TABLE IF EXISTS archived_timeline"))
        await conn.execute(text("DROP TABLE IF EXISTS archived_alerts"))
        await conn.execute(text("DROP TABLE IF EXISTS credentials"))
        await conn.execute(text("DROP TABLE IF EXISTS followup_issues"))
        await conn.execute(text("DROP TABLE IF EXISTS shift_reports"))
        await conn.execute(text("DROP TABLE IF EXISTS shift_report_people"))
        await conn.execute(text("DROP TABLE IF EXISTS notification_deliveries"))
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await store.close()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                POSTGRES_URL is None,
                reason="TOCSIN_TEST_DATABASE_URL is not set (a PostgreSQL database to empty)",
            ),
        ),
    ]
)
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each supported kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'tocsin.db'}"
    assert POSTGRES_URL is not None
    await empty_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlStore]:
    """A migrated store on an empty database."""
    opened = await open_store(url)
    yield opened
    await opened.close()


async def rows(store: SqlStore) -> list[IncidentRecord]:
    return await store.list_incidents(LogQuery())


class TestMigrations:
    async def test_empty_database_gets_the_schema(self, url: str) -> None:
        """Opening an empty database (a SQLite file not yet there) creates the tables at head."""
        store = await open_store(url)
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        await store.close()

        assert {
            "incidents",
            "webhook_deliveries",
            "archived_timeline",
            "archived_alerts",
            "credentials",
            "alembic_version",
        } <= set(tables)
        assert version == [(HEAD,)]

    async def test_second_open_is_a_no_op(self, url: str) -> None:
        """Opening a migrated database again keeps its rows and its single version."""
        first = await open_store(url)
        await first.upsert_incident(record())
        await first.close()

        second = await open_store(url)
        found = await rows(second)
        async with second.engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        await second.close()

        assert [r.id for r in found] == ["INC-1"]
        assert versions == [(HEAD,)]

    async def test_concurrent_opens(self, url: str) -> None:
        """Two processes' worth of stores migrating at once both succeed (no double create)."""
        stores = [SqlStore(url) for _ in range(3)]
        await asyncio.gather(*(s.migrate() for s in stores))
        async with stores[0].engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        found = [await rows(s) for s in stores]
        for s in stores:
            await s.close()

        assert versions == [(HEAD,)]
        assert found == [[], [], []]

    async def test_waits_for_another_process(self, url: str) -> None:
        """While another process holds the database's migration lock, migrating waits for it."""
        other = SqlStore(url)
        if other.url.startswith("sqlite"):
            Path(other.engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)
        async with other.engine.connect() as conn:
            await conn.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
            if not other.url.startswith("sqlite"):
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            store = SqlStore(url)
            migrating = asyncio.create_task(store.migrate())
            await asyncio.sleep(0.5)
            assert not migrating.done()
            await conn.commit()
        await asyncio.wait_for(migrating, 10)
        assert await rows(store) == []
        await store.close()
        await other.close()

    async def test_migrations_match_the_code(self, store: SqlStore) -> None:
        """The schema the migrations build is the one the store's tables describe (the
        credentials' table included: its adapter registers it on the same metadata)."""
        assert credentials.metadata is metadata

        def differences(conn: Connection) -> list[object]:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        async with store.engine.connect() as conn:
            assert await conn.run_sync(differences) == []

    def test_migrations_ship_with_the_package(self) -> None:
        """The environment, the template and the revisions sit inside the package."""
        assert (MIGRATIONS / "env.py").is_file()
        assert (MIGRATIONS / "script.py.mako").is_file()
        assert (MIGRATIONS / "versions" / "0001_incident_log.py").is_file()
        assert (MIGRATIONS / "versions" / "0002_webhook_deliveries.py").is_file()
        assert (MIGRATIONS / "versions" / "0003_archive.py").is_file()
        assert (MIGRATIONS / "versions" / "0004_credentials.py").is_file()
        assert (MIGRATIONS / "versions" / "0005_timeline_via.py").is_file()
        assert (MIGRATIONS / "versions" / "0006_followup_issues.py").is_file()
        assert (MIGRATIONS / "versions" / "0007_shift_reports.py").is_file()
        assert (MIGRATIONS / "versions" / "0008_notification_deliveries.py").is_file()

    async def test_from_the_first_revision(self, url: str) -> None:
        """A database at 0001 (made before delivery ids were kept) upgrades, keeping its rows."""
        store = SqlStore(url)
        if store.url.startswith("sqlite"):
            Path(store.engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)

        def upgrade_to_0001(conn: Connection) -> None:
            command.upgrade(alembic_config(conn), "0001")

        async with store.engine.begin() as conn:
            await conn.run_sync(upgrade_to_0001)
        async with store.engine.begin() as conn:
            await conn.execute(text("INSERT INTO incidents " + OLD_ROW))
        await store.migrate()

        assert [r.id for r in await rows(store)] == ["INC-7"]
        assert await store.remember_delivery("github", "d-1", T0)
        await store.close()


class TestUpsert:
    async def test_twice_is_one_row(self, store: SqlStore) -> None:
        """Upserting the same record twice (a retried activity) leaves one row."""
        await store.upsert_incident(record())
        await store.upsert_incident(record())

        assert await rows(store) == [record()]

    async def test_later_status_updates_the_row(self, store: SqlStore) -> None:
        """Each status change updates the incident's one row."""
        await store.upsert_incident(record())
        acked = record(status=IncidentStatus.active, lead="alice", acknowledged_at=T0)
        await store.upsert_incident(acked)
        resolved = acked.model_copy(
            update={
                "status": IncidentStatus.resolved,
                "resolved_at": T0 + timedelta(hours=2),
                "resolution": "fixed",
                "resolution_summary": "restarted the primary",
            }
        )
        await store.upsert_incident(resolved)

        assert await rows(store) == [resolved]

    async def test_older_status_is_ignored(self, store: SqlStore) -> None:
        """A record delivering 'active' after 'resolved' (a late retry) does not move it back."""
        resolved = record(
            status=IncidentStatus.resolved,
            lead="alice",
            acknowledged_at=T0,
            resolved_at=T0 + timedelta(hours=2),
            resolution="fixed",
        )
        await store.upsert_incident(resolved)
        with capture_logs() as logs:
            await store.upsert_incident(record(status=IncidentStatus.active, lead="carol"))

        assert await rows(store) == [resolved]
        assert [e["event"] for e in logs] == ["older incident record ignored"]

    @pytest.mark.parametrize(
        ("stored", "late"),
        [
            (IncidentStatus.active, IncidentStatus.triage),
            (IncidentStatus.closed, IncidentStatus.resolved),
            (IncidentStatus.closed, IncidentStatus.triage),
        ],
    )
    async def test_never_backwards(
        self, store: SqlStore, stored: IncidentStatus, late: IncidentStatus
    ) -> None:
        """triage < active < resolved < closed: an earlier status never overwrites a later one."""
        await store.upsert_incident(record(status=stored))
        await store.upsert_incident(record(status=late, title="stale"))

        [row] = await rows(store)
        assert (row.status, row.title) == (stored, "Incident 1")

    async def test_same_status_updates_and_keeps_known_times(self, store: SqlStore) -> None:
        """At the same status the newer values win, but known times and links are not erased."""
        closed = record(
            status=IncidentStatus.closed,
            acknowledged_at=T0,
            resolved_at=T0 + timedelta(hours=3),
            closed_at=T0 + timedelta(days=2),
            postmortem_url="https://github.com/acme/ops/issues/9",
            followups_open=1,
            followups_closed=1,
        )
        await store.upsert_incident(closed)
        await store.upsert_incident(
            record(status=IncidentStatus.closed, followups_open=0, followups_closed=2)
        )

        [row] = await rows(store)
        assert (row.followups_open, row.followups_closed) == (0, 2)
        assert row.acknowledged_at == closed.acknowledged_at
        assert row.closed_at == closed.closed_at
        assert row.postmortem_url == closed.postmortem_url

    async def test_times_come_back_aware_utc(self, store: SqlStore) -> None:
        """Times written with any offset (or none: UTC) come back as the same instant, in UTC."""
        paris = timezone(timedelta(hours=2))
        await store.upsert_incident(
            record(
                declared_at=datetime(2026, 5, 4, 11, 0, tzinfo=paris),
                acknowledged_at=datetime(2026, 5, 4, 9, 5),  # noqa: DTZ001 - naive is read as UTC
            )
        )

        [row] = await rows(store)
        assert row.declared_at == datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        assert row.declared_at.utcoffset() == timedelta(0)
        assert row.acknowledged_at == datetime(2026, 5, 4, 9, 5, tzinfo=UTC)
        assert row.acknowledged_at is not None
        assert row.acknowledged_at.tzinfo is not None


class TestList:
    @pytest.fixture
    async def filled(self, store: SqlStore) -> SqlStore:
        """Four incidents an hour apart: two critical gitserver, a major database, a minor."""
        await store.upsert_incident(record(1))
        await store.upsert_incident(record(2, severity="major", service="database"))
        await store.upsert_incident(record(3))
        await store.upsert_incident(record(4, severity="minor", service=None))
        return store

    async def test_newest_first(self, filled: SqlStore) -> None:
        """Rows come newest first."""
        assert [r.id for r in await rows(filled)] == ["INC-4", "INC-3", "INC-2", "INC-1"]

    async def test_since_and_until(self, filled: SqlStore) -> None:
        """``since`` is inclusive, ``until`` exclusive, compared as instants whatever the offset."""
        tokyo = timezone(timedelta(hours=9))
        query = LogQuery(
            since=(T0 + timedelta(hours=2)).astimezone(tokyo), until=T0 + timedelta(hours=4)
        )

        assert [r.id for r in await filled.list_incidents(query)] == ["INC-3", "INC-2"]

    async def test_severity_and_service(self, filled: SqlStore) -> None:
        """Severity and service filter exactly."""
        critical = await filled.list_incidents(LogQuery(severity="critical"))
        database = await filled.list_incidents(LogQuery(service="database"))

        assert [r.id for r in critical] == ["INC-3", "INC-1"]
        assert [r.id for r in database] == ["INC-2"]

    async def test_reading_does_not_wait_for_a_writer(self, filled: SqlStore, url: str) -> None:
        """While another process holds a write transaction, reading answers at once."""
        writer = SqlStore(url)
        async with writer.engine.connect() as conn:
            await conn.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
            found = await asyncio.wait_for(filled.list_incidents(LogQuery()), 5)
            await conn.rollback()
        await writer.close()

        assert len(found) == 4

    async def test_limit_keeps_the_newest(self, filled: SqlStore) -> None:
        """A limit keeps the most recent incidents."""
        assert [r.id for r in await filled.list_incidents(LogQuery(limit=2))] == ["INC-4", "INC-3"]


async def delivery_ids(store: SqlStore, source: str = "github") -> list[str]:
    """The ids the store keeps for ``source``, oldest first."""
    rows = webhook_deliveries.c
    query = select(rows.delivery_id).where(rows.source == source).order_by(rows.seen_at)
    async with store.engine.connect() as conn:
        return list((await conn.execute(query)).scalars())


class TestDeliveries:
    """Webhook delivery ids: each recorded once, durable, and kept for a bounded while."""

    async def test_new_then_seen(self, store: SqlStore) -> None:
        """The first record of an id is new; the next is not."""
        assert await store.remember_delivery("github", "d-1", T0)
        assert not await store.remember_delivery("github", "d-1", T0 + timedelta(minutes=5))
        assert await delivery_ids(store) == ["d-1"]

    async def test_sources_are_apart(self, store: SqlStore) -> None:
        """The same id from another source is another delivery."""
        assert await store.remember_delivery("github", "d-1", T0)
        assert await store.remember_delivery("gitlab", "d-1", T0)

    async def test_concurrent_records_let_one_through(self, url: str) -> None:
        """Identical deliveries recorded at once by two processes' stores: exactly one is new."""
        stores = [await open_store(url) for _ in range(2)]
        results = await asyncio.gather(
            *(s.remember_delivery("github", "d-1", T0) for s in stores for _ in range(3))
        )
        for s in stores:
            await s.close()

        assert sorted(results) == [False] * 5 + [True]

    async def test_durable(self, url: str) -> None:
        """Another store on the same database (a restart) knows the ids recorded before."""
        first = await open_store(url)
        await first.remember_delivery("github", "d-1", T0)
        await first.close()

        second = await open_store(url)
        seen_again = await second.remember_delivery("github", "d-1", T0 + timedelta(hours=1))
        await second.close()

        assert not seen_again

    async def test_forget(self, store: SqlStore) -> None:
        """A forgotten id (its processing failed) is new again; forgetting twice is fine."""
        await store.remember_delivery("github", "d-1", T0)
        await store.forget_delivery("github", "d-1")
        await store.forget_delivery("github", "d-1")

        assert await store.remember_delivery("github", "d-1", T0)

    async def test_kept_for_the_window(self, store: SqlStore) -> None:
        """Ids are kept a week (GitHub redelivers up to 7 days back), then dropped."""
        await store.remember_delivery("github", "old", T0)
        await store.remember_delivery("gitlab", "old", T0)
        within = T0 + DELIVERY_WINDOW - timedelta(seconds=1)
        assert not await store.remember_delivery("github", "old", within)

        later = T0 + DELIVERY_WINDOW + timedelta(seconds=1)
        assert await store.remember_delivery("github", "new", later)
        assert await delivery_ids(store) == ["new"]
        # Another source's ids age out with that source's own deliveries.
        assert await delivery_ids(store, "gitlab") == ["old"]

    async def test_expired_id_is_new_again(self, store: SqlStore) -> None:
        await store.remember_delivery("github", "d-1", T0)

        assert await store.remember_delivery("github", "d-1", T0 + DELIVERY_WINDOW * 2)

    async def test_at_most_the_limit(self, url: str) -> None:
        """Past the limit the oldest ids go first: the table stays bounded in a burst."""
        store = await open_store(url)
        bounded = SqlStore(url, delivery_limit=3)
        for n in range(10):
            assert await bounded.remember_delivery("github", f"d-{n}", T0 + timedelta(seconds=n))
        kept = await delivery_ids(store)
        await bounded.close()
        await store.close()

        assert kept == ["d-7", "d-8", "d-9"]

    async def test_naive_times_are_utc(self, store: SqlStore) -> None:
        await store.remember_delivery("github", "d-1", datetime(2026, 5, 4, 9, 0))  # noqa: DTZ001 - the point

        assert not await store.remember_delivery("github", "d-1", T0)


class TestUrls:
    @pytest.mark.parametrize(
        ("given", "used"),
        [
            ("postgres://u:p@db/tocsin", "postgresql+asyncpg://u:p@db/tocsin"),
            ("postgresql://u:p@db:5432/tocsin", "postgresql+asyncpg://u:p@db:5432/tocsin"),
            ("postgresql+asyncpg://u@db/tocsin", "postgresql+asyncpg://u@db/tocsin"),
            ("sqlite:///x/tocsin.db", "sqlite+aiosqlite:///x/tocsin.db"),
            ("sqlite+aiosqlite:////abs/tocsin.db", "sqlite+aiosqlite:////abs/tocsin.db"),
        ],
    )
    def test_drivers_are_async(self, given: str, used: str) -> None:
        """PostgreSQL URLs use asyncpg and SQLite URLs aiosqlite, whichever way they are written."""
        assert normalise_url(given).render_as_string(hide_password=False) == used

    @pytest.mark.parametrize(
        "given", ["mysql://u:hunter2@db/x", "postgresql+psycopg2://u:hunter2@db/x", "not a url"]
    )
    def test_unsupported_never_repeats_the_url(self, given: str) -> None:
        """Other databases and unparsable text are refused without echoing a password."""
        with pytest.raises(ValueError, match="sqlite\\+aiosqlite") as caught:
            normalise_url(given)
        assert "hunter2" not in str(caught.value)

    def test_password_masked(self) -> None:
        """The store's URL and repr mask the password."""
        store = SqlStore("postgresql://tocsin:hunter2@db/tocsin")

        assert "hunter2" not in store.url
        assert "hunter2" not in repr(store)


class TestErrors:
    async def test_unreachable_database_is_unavailable(self, tmp_path: Path) -> None:
        """A database that cannot be opened is Unavailable (retry), and says which action failed."""
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        store = SqlStore(f"sqlite:///{blocker / 'tocsin.db'}")

        with pytest.raises(Unavailable, match="incident log \\(migrate\\)"):
            await store.upsert_incident(record())
        await store.close()

    async def test_unreachable_postgres_is_unavailable(self) -> None:
        """Nothing listening on the PostgreSQL port is Unavailable, without the password."""
        store = SqlStore("postgresql://tocsin:hunter2@127.0.0.1:9/tocsin")

        with pytest.raises(Unavailable) as caught:
            await store.list_incidents(LogQuery())
        await store.close()
        assert "hunter2" not in str(caught.value)


class FailingStore:
    """A Store whose database always fails the given way."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.records: list[IncidentRecord] = []

    async def upsert_incident(self, record: IncidentRecord) -> None:
        raise self.error

    async def list_incidents(self, query: LogQuery) -> list[IncidentRecord]:
        raise self.error


class TestRecordIncidentActivity:
    async def test_records_the_row(self, store: SqlStore) -> None:
        """The activity upserts the record it is given."""
        await ActivityEnvironment().run(StoreActivities(store).record_incident, record())

        assert await rows(store) == [record()]

    async def test_unavailable_is_retryable(self) -> None:
        """A database outage becomes a retryable ApplicationError."""
        activities = StoreActivities(FailingStore(Unavailable("incident log (upsert): down")))

        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(activities.record_incident, record())
        assert caught.value.type == "Unavailable"
        assert not caught.value.non_retryable

    async def test_rejected_is_not_retried(self) -> None:
        """Values the database refuses fail the activity without retries."""
        activities = StoreActivities(FailingStore(Rejected("incident log (upsert): too long")))

        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(activities.record_incident, record())
        assert caught.value.type == "Rejected"
        assert caught.value.non_retryable
