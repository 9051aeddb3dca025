"""Revisions of the incident log schema, oldest first (Alembic skips this file)."""
