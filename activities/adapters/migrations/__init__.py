"""Alembic migrations of the incident log, run by ``SqlStore.migrate()`` (no alembic.ini)."""
