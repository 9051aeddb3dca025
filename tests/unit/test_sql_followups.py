"""The index of issues linked to follow-ups in the SQL store: what the GitHub webhook asks
when an issue carries no ``INC-<n>`` label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from activities.ports import FollowupIssues
from tests.unit.test_sql_store import store, url

__all__ = ["store", "url"]  # the fixtures, shared with the store's own tests

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class TestFollowupIssues:
    """An issue linked by URL is found again by repository and number."""

    async def test_found_by_repo_and_number(self, store: SqlStore) -> None:
        """Only the linking incident is returned, and only for that very issue."""
        await store.remember_followup_issue("acme/shop", 7, "INC-3", T0)

        assert await store.incidents_for_issue("acme/shop", 7) == ["INC-3"]
        assert await store.incidents_for_issue("acme/shop", 8) == []
        assert await store.incidents_for_issue("acme/docs", 7) == []

    async def test_repo_in_any_case(self, store: SqlStore) -> None:
        """A URL pasted as Acme/Shop matches GitHub's acme/shop in the webhook, and back."""
        await store.remember_followup_issue("Acme/Shop", 7, "INC-3", T0)

        assert await store.incidents_for_issue("acme/shop", 7) == ["INC-3"]
        assert await store.incidents_for_issue("ACME/SHOP", 7) == ["INC-3"]

    async def test_one_issue_several_incidents(self, store: SqlStore) -> None:
        """Two incidents that linked one issue are both found, in the order they linked it."""
        await store.remember_followup_issue("acme/shop", 7, "INC-9", T0)
        await store.remember_followup_issue("acme/shop", 7, "INC-4", T0 + timedelta(hours=1))

        assert await store.incidents_for_issue("acme/shop", 7) == ["INC-9", "INC-4"]

    async def test_recorded_again_is_kept_once(self, store: SqlStore) -> None:
        """A retried activity records nothing twice."""
        for hours in range(3):
            await store.remember_followup_issue(
                "acme/shop", 7, "INC-3", T0 + timedelta(hours=hours)
            )

        assert await store.incidents_for_issue("acme/shop", 7) == ["INC-3"]

    async def test_large_issue_numbers(self, store: SqlStore) -> None:
        """Issue numbers beyond 32 bits (GitHub allows ten digits in a URL) are kept."""
        await store.remember_followup_issue("acme/shop", 9_999_999_999, "INC-3", T0)

        assert await store.incidents_for_issue("acme/shop", 9_999_999_999) == ["INC-3"]

    async def test_store_is_the_port(self, store: SqlStore) -> None:
        assert isinstance(store, FollowupIssues)

    async def test_unreachable_database(self, tmp_path: Path) -> None:
        """A database that cannot be opened is Unavailable (retried), not a crash."""
        (tmp_path / "data").write_text("a file where the folder should be")
        broken = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'tocsin.db'}")
        with pytest.raises(Unavailable):
            await broken.incidents_for_issue("acme/shop", 7)
        await broken.close()
