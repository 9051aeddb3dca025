"""API credentials in SQL, beside the incident log: SQLite in a temporary file always, and
PostgreSQL too when ``TOCSIN_TEST_DATABASE_URL`` names a database the tests may empty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from structlog.testing import capture_logs

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore, alembic_config
from activities.credential_models import CredentialRecord, Kind, Scope
from activities.errors import Rejected, Unavailable
from tests.unit.test_sql_store import POSTGRES_URL, empty_postgres

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def record(number: int = 1, **changes: object) -> CredentialRecord:
    """A person token of alice's, created ``number`` hours after T0."""
    base = CredentialRecord(
        id=f"{number:012x}",
        name=f"laptop-{number}",
        kind=Kind.person,
        person="alice",
        secret_hash=HASH,
        created_at=T0 + timedelta(hours=number),
        created_by="cli",
    )
    return base.model_copy(update=changes)


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
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """An empty store of each supported kind (not migrated yet)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'tocsin.db'}"
    else:
        assert POSTGRES_URL is not None
        await empty_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    opened = SqlStore(url)
    yield opened
    await opened.close()


@pytest.fixture
def credentials(store: SqlStore) -> SqlCredentials:
    return SqlCredentials(store)


class TestCredentials:
    async def test_created_then_read(self, credentials: SqlCredentials) -> None:
        """A credential reads back as written, hash included, on a database not yet migrated."""
        written = record(kind=Kind.integration, person=None, scopes=(Scope.intake_events,))

        await credentials.create(written)
        found = await credentials.get(written.id)

        assert found == written
        assert found is not None
        assert found.secret_hash == HASH
        assert await credentials.get("000000000000") is None

    async def test_scopes_keep_their_order(self, credentials: SqlCredentials) -> None:
        """Several scopes come back as given."""
        scopes = (Scope.pages_create, Scope.intake_alertmanager, Scope.intake_events)
        await credentials.create(record(kind=Kind.integration, person=None, scopes=scopes))

        found = await credentials.get(record().id)

        assert found is not None
        assert found.scopes == scopes

    async def test_list_newest_first(self, credentials: SqlCredentials) -> None:
        """Every credential, revoked ones too, newest first."""
        for number in (2, 1, 3):
            await credentials.create(record(number))
        await credentials.revoke(record(1).id, T0)

        listed = await credentials.list_all()

        assert [c.name for c in listed] == ["laptop-3", "laptop-2", "laptop-1"]
        assert listed[2].revoked

    async def test_same_id_twice_is_rejected(self, credentials: SqlCredentials) -> None:
        """A second credential with a taken id is Rejected, and the first stays."""
        await credentials.create(record())

        with pytest.raises(Rejected, match="create credential"):
            await credentials.create(record(name="other"))
        assert (await credentials.list_all())[0].name == "laptop-1"

    async def test_revoke_keeps_the_first_time(self, credentials: SqlCredentials) -> None:
        """Revoking sets the time once; revoking again changes nothing; unknown is None."""
        await credentials.create(record())

        first = await credentials.revoke(record().id, T0)
        again = await credentials.revoke(record().id, T0 + timedelta(days=1))

        assert first is not None
        assert first.revoked_at == T0
        assert again == first
        assert await credentials.revoke("000000000000", T0) is None

    async def test_touch(self, credentials: SqlCredentials) -> None:
        """The last use is recorded, in UTC whatever the offset given."""
        await credentials.create(record())
        chicago = timezone(timedelta(hours=-6))

        await credentials.touch(record().id, datetime(2026, 11, 30, 3, 0, tzinfo=chicago))
        found = await credentials.get(record().id)

        assert found is not None
        assert found.last_used_at == T0

    async def test_concurrent_touches(self, credentials: SqlCredentials) -> None:
        """Many uses at once (the API under load) all land; none fails on a lock."""
        await credentials.create(record())

        await asyncio.gather(
            *(credentials.touch(record().id, T0 + timedelta(seconds=i)) for i in range(10))
        )

        found = await credentials.get(record().id)
        assert found is not None
        assert found.last_used_at is not None

    async def test_never_logs_the_hash(self, credentials: SqlCredentials) -> None:
        """A refused write logs the action and the id, not the hash."""
        await credentials.create(record())

        with capture_logs() as logs, pytest.raises(Rejected):
            await credentials.create(record())

        assert logs
        assert HASH not in repr(logs)
        assert logs[0]["principal_id"] == record().id


class TestMigration:
    async def test_from_0003_keeps_the_incident_log(self, store: SqlStore) -> None:
        """A database at 0003 (before credentials) gains the table and keeps its rows."""
        if store.url.startswith("sqlite"):
            Path(store.engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)

        def upgrade_to_0003(conn: Connection) -> None:
            from alembic import command  # noqa: PLC0415

            command.upgrade(alembic_config(conn), "0003")

        async with store.engine.begin() as conn:
            await conn.run_sync(upgrade_to_0003)
            await conn.execute(
                text("INSERT INTO webhook_deliveries VALUES ('github', 'd-1', :at)"), {"at": T0}
            )
        credentials = SqlCredentials(store)

        await credentials.create(record())

        assert await credentials.get(record().id) is not None
        assert not await store.remember_delivery("github", "d-1", T0)


class TestErrors:
    async def test_unreachable_database_is_unavailable(self, tmp_path: Path) -> None:
        """A database that cannot be opened is Unavailable, naming the step that failed."""
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        store = SqlStore(f"sqlite:///{blocker / 'tocsin.db'}")

        with pytest.raises(Unavailable, match="migrate"):
            await SqlCredentials(store).get("0123456789ab")
        await store.close()

    def test_repr_masks_the_password(self) -> None:
        """The adapter's repr shows the database, not its password."""
        store = SqlStore("postgresql://tocsin:hunter2@db/tocsin")

        assert "hunter2" not in repr(SqlCredentials(store))
