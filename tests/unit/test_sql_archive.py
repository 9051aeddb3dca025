"""The archive in the SQL store: timeline entries and alerts that long-lived workflows spill
before continuing as new. SQLite in a temporary file always, PostgreSQL too when
``TOCSIN_TEST_DATABASE_URL`` names a database the tests may empty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, func, select, text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.sql_schema import archived_alerts, archived_timeline
from activities.adapters.sql_store import SqlStore, alembic_config, open_store
from activities.errors import Unavailable
from activities.store import StoreActivities
from tests.unit.test_sql_store import POSTGRES_URL, empty_postgres
from workflows.archive_models import AlertSpill, TimelineSpill
from workflows.models import Alert, TimelineEntry

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SUBJECT = "page-am-7f3a"


def entries(first: int, count: int) -> list[TimelineEntry]:
    """Entries numbered ``first`` … ``first + count - 1``, one minute apart."""
    return [
        TimelineEntry(
            at=T0 + timedelta(minutes=n),
            kind="alert",
            text=f"entry {n}",
            by="alertmanager" if n % 2 else None,
        )
        for n in range(first, first + count)
    ]


def spill(first: int, count: int, subject: str = SUBJECT) -> TimelineSpill:
    return TimelineSpill(subject=subject, start=first, entries=entries(first, count))


def alert(n: int) -> Alert:
    return Alert(
        fingerprint=f"fp{n:05d}",
        status="resolved",
        summary=f"disk full on gitserver-{n}",
        severity="critical",
        labels={"alertname": "DiskFull", "instance": f"gitserver-{n}"},
        annotations={"runbook_url": "https://example.com/r"},
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=5),
        details={"value": n, "nested": {"ok": True}},
    )


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
    opened = await open_store(url)
    yield opened
    await opened.close()


async def count_rows(store: SqlStore, table: object) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


class TestTimeline:
    """Spilled timeline entries are stored once each and read back in order."""

    async def test_round_trip_in_order(self, store: SqlStore) -> None:
        """Two spills, read back as one timeline from sequence number 0."""
        await store.archive_timeline(spill(0, 3))
        await store.archive_timeline(spill(3, 2))

        found = await store.read_timeline(SUBJECT)

        assert found.total == 5
        assert found.archived == 5
        assert found.entries == entries(0, 5)

    async def test_times_come_back_aware_utc(self, store: SqlStore) -> None:
        """An entry recorded with an offset comes back as the same instant in UTC."""
        at = datetime(2026, 5, 4, 11, 0, tzinfo=timezone(timedelta(hours=2)))
        entry = TimelineEntry(at=at, kind="step", text="Step 1/2")
        await store.archive_timeline(TimelineSpill(subject=SUBJECT, start=0, entries=[entry]))

        (found,) = (await store.read_timeline(SUBJECT)).entries

        assert found.at == at
        assert found.at.tzinfo == UTC

    async def test_the_same_spill_twice_is_stored_once(self, store: SqlStore) -> None:
        """A retried activity (or a replayed continue-as-new) writes nothing twice."""
        await store.archive_timeline(spill(0, 4))
        await store.archive_timeline(spill(0, 4))

        assert (await store.read_timeline(SUBJECT)).entries == entries(0, 4)
        assert await count_rows(store, archived_timeline) == 4

    async def test_an_overlapping_spill_keeps_what_is_there(self, store: SqlStore) -> None:
        """Entries already stored under their number stay; only the new numbers are added."""
        await store.archive_timeline(spill(0, 3))
        changed = TimelineSpill(
            subject=SUBJECT,
            start=2,
            entries=[TimelineEntry(at=T0, kind="x", text="not the original"), *entries(3, 2)],
        )
        await store.archive_timeline(changed)

        assert (await store.read_timeline(SUBJECT)).entries == entries(0, 5)

    async def test_offset_and_limit(self, store: SqlStore) -> None:
        """A slice from a sequence number, at most ``limit`` entries; the total is all."""
        await store.archive_timeline(spill(0, 10))

        found = await store.read_timeline(SUBJECT, offset=4, limit=3)

        assert found.total == 10
        assert found.offset == 4
        assert found.entries == entries(4, 3)
        assert (await store.read_timeline(SUBJECT, offset=10)).entries == []

    async def test_subjects_are_apart(self, store: SqlStore) -> None:
        """A page and an incident number their entries independently."""
        await store.archive_timeline(spill(0, 2))
        await store.archive_timeline(spill(0, 3, subject="incident-INC-42"))

        assert (await store.read_timeline(SUBJECT)).total == 2
        assert (await store.read_timeline("incident-INC-42")).entries == entries(0, 3)
        assert (await store.read_timeline("page-unknown")).total == 0

    async def test_a_large_spill_in_one_call(self, store: SqlStore) -> None:
        """A run's worth of entries (thousands) is written in batches, in one transaction."""
        await store.archive_timeline(spill(0, 3000))

        found = await store.read_timeline(SUBJECT, offset=2990, limit=1000)

        assert found.total == 3000
        assert [e.text for e in found.entries] == [f"entry {n}" for n in range(2990, 3000)]


class TestAlerts:
    """Spilled alerts are stored whole, once each."""

    async def test_round_trip_whole(self, store: SqlStore) -> None:
        """Labels, annotations, times and details come back as they went in."""
        alerts = [alert(n) for n in range(3)]
        await store.archive_alerts(AlertSpill(subject=SUBJECT, start=0, alerts=alerts))

        found = await store.read_alerts(SUBJECT)

        assert found.total == found.archived == 3
        assert found.alerts == alerts

    async def test_idempotent_and_paged(self, store: SqlStore) -> None:
        """The same spill twice is stored once; a slice starts at its sequence number."""
        alerts = [alert(n) for n in range(5)]
        await store.archive_alerts(AlertSpill(subject=SUBJECT, start=0, alerts=alerts))
        await store.archive_alerts(AlertSpill(subject=SUBJECT, start=0, alerts=alerts))

        found = await store.read_alerts(SUBJECT, offset=3, limit=10)

        assert found.total == 5
        assert [a.fingerprint for a in found.alerts] == ["fp00003", "fp00004"]
        assert await count_rows(store, archived_alerts) == 5


class TestMigration:
    async def test_a_database_at_0002_gets_the_archive(self, url: str) -> None:
        """A database made before the archive upgrades and keeps what it held."""
        store = SqlStore(url)
        if store.url.startswith("sqlite"):
            Path(store.engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)

        def upgrade_to_0002(conn: Connection) -> None:
            command.upgrade(alembic_config(conn), "0002")

        async with store.engine.begin() as conn:
            await conn.run_sync(upgrade_to_0002)
        async with store.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (source, delivery_id, seen_at) "
                    "VALUES ('github', 'd-1', '2026-05-04 09:00:00+00')"
                )
            )
        await store.migrate()

        await store.archive_timeline(spill(0, 2))
        assert (await store.read_timeline(SUBJECT)).total == 2
        assert not await store.remember_delivery("github", "d-1", T0)
        await store.close()


class DownStore:
    """A store whose database is down."""

    async def archive_timeline(self, spill: TimelineSpill) -> None:
        raise Unavailable("incident log (archive archived_timeline): connection refused")

    async def archive_alerts(self, spill: AlertSpill) -> None:
        raise Unavailable("incident log (archive archived_alerts): connection refused")


class TestArchiveActivities:
    async def test_archive_timeline_writes_the_spill(self, store: SqlStore) -> None:
        """The activity hands the spill to the store."""
        activities = StoreActivities(store)

        await ActivityEnvironment().run(activities.archive_timeline, spill(0, 3))
        await ActivityEnvironment().run(
            activities.archive_alerts, AlertSpill(subject=SUBJECT, start=0, alerts=[alert(1)])
        )

        assert (await store.read_timeline(SUBJECT)).entries == entries(0, 3)
        assert (await store.read_alerts(SUBJECT)).alerts == [alert(1)]

    async def test_unavailable_is_retryable(self) -> None:
        """A database outage becomes a retryable ApplicationError (the page retries, then
        continues without it)."""
        activities = StoreActivities(DownStore())  # type: ignore[arg-type]

        for run in (
            lambda: ActivityEnvironment().run(activities.archive_timeline, spill(0, 1)),
            lambda: ActivityEnvironment().run(
                activities.archive_alerts, AlertSpill(subject=SUBJECT, start=0, alerts=[])
            ),
        ):
            with pytest.raises(ApplicationError) as caught:
                await run()
            assert caught.value.type == "Unavailable"
            assert not caught.value.non_retryable
