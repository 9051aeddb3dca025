"""Alembic environment: runs the migrations on the connection ``SqlStore.migrate()`` hands in.

Without one (``alembic`` run by hand with ``-x url=...`` or ``sqlalchemy.url`` set, e.g. to
autogenerate a revision), it opens its own async engine to that URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text

from activities.adapters.sql_schema import metadata
from activities.adapters.sql_store import MIGRATION_LOCK, normalise_url


def run_on(connection: Connection) -> None:
    """Migrate on ``connection``, holding PostgreSQL's migration lock until it commits."""
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - by-hand runs only

    engine = create_async_engine(normalise_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def main() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no connection given: pass -x url=<database URL> to alembic")
    asyncio.run(run_with_own_engine(url))


main()
