"""API credentials in SQL, beside the incident log: the same database, engine and
migrations (``migrations/versions/0004_credentials.py``) as :class:`SqlStore`.

Only the argon2 hash of a token's secret is written; nothing here logs a hash or a token
(errors carry the credential id, which is the token's public part).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Table, Text, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

# One translation of database errors into Unavailable / Rejected for the whole database.
from activities.adapters.sql_errors import DatabaseErrors
from activities.adapters.sql_schema import READ_ONLY, UtcDateTime, as_utc, metadata
from activities.adapters.sql_store import SqlStore
from activities.credential_models import CredentialRecord, Kind, Scope

# Registered on the store's metadata, so that the migrations are compared with it too.
credentials = Table(
    "credentials",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("person", String(128), nullable=True),
    Column("scopes", Text, nullable=False),
    Column("secret_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)


class SqlCredentials:
    """The :class:`activities.ports.Credentials` over the incident log's database.

    It opens nothing of its own: ``store`` owns the engine (and closes it), and the first
    call brings the schema to the newest migration through it.

    Raises (every method):
        Unavailable: the database could not be reached or failed; retrying may help.
        Rejected: the database refused the values (``create`` with an id already taken).
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"SqlCredentials({self._store.url!r})"

    async def create(self, record: CredentialRecord) -> None:
        """Insert the credential (its id must be new)."""
        await self._store.migrate()
        row = {
            **record.model_dump(mode="python", exclude={"scopes"}),
            "kind": str(record.kind),
            "scopes": " ".join(str(s) for s in record.scopes),
            "secret_hash": record.secret_hash,
        }
        async with self._guard("create credential", record.id), self._engine.begin() as conn:
            await conn.execute(credentials.insert().values(**row))

    async def get(self, credential_id: str) -> CredentialRecord | None:
        """The credential with this id, revoked or not."""
        await self._store.migrate()
        stmt = select(credentials).where(credentials.c.id == credential_id)
        async with self._guard("read credential", credential_id), self._engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _record(dict(row))

    async def list_all(self) -> list[CredentialRecord]:
        """Every credential, newest first."""
        await self._store.migrate()
        stmt = select(credentials).order_by(
            credentials.c.created_at.desc(), credentials.c.id.desc()
        )
        async with self._guard("list credentials", None), self._engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            rows = (await conn.execute(stmt)).mappings().all()
        return [_record(dict(row)) for row in rows]

    async def revoke(self, credential_id: str, at: datetime) -> CredentialRecord | None:
        """Revoke at ``at`` unless revoked already; the record as it is now."""
        await self._store.migrate()
        c = credentials.c
        mark = (
            update(credentials)
            .where(c.id == credential_id, c.revoked_at.is_(None))
            .values(revoked_at=as_utc(at))
        )
        read = select(credentials).where(c.id == credential_id)
        async with self._guard("revoke credential", credential_id), self._engine.begin() as conn:
            await conn.execute(mark)
            row = (await conn.execute(read)).mappings().first()
        return None if row is None else _record(dict(row))

    async def touch(self, credential_id: str, at: datetime) -> None:
        """Set when the credential was last used."""
        await self._store.migrate()
        stmt = (
            update(credentials)
            .where(credentials.c.id == credential_id)
            .values(last_used_at=as_utc(at))
        )
        async with self._guard("touch credential", credential_id), self._engine.begin() as conn:
            await conn.execute(stmt)

    @property
    def _engine(self) -> AsyncEngine:
        return self._store.engine

    def _guard(self, action: str, credential_id: str | None) -> DatabaseErrors:
        # Not "credential_id": log fields named like secrets are redacted whole.
        context: dict[str, object] = (
            {} if credential_id is None else {"principal_id": credential_id}
        )
        return DatabaseErrors(action, self._store.url, context)


def _record(row: dict[str, Any]) -> CredentialRecord:
    row["scopes"] = tuple(Scope(s) for s in row["scopes"].split())
    row["kind"] = Kind(row["kind"])
    return CredentialRecord(**row)
