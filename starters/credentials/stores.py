"""Where credentials are kept: beside the incident log, in its database."""

from __future__ import annotations

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from activities.ports import Credentials


def credentials_of(store: object) -> Credentials | None:
    """The credentials in ``store``'s database; None for a store without one (a fake)."""
    return SqlCredentials(store) if isinstance(store, SqlStore) else None
