"""``tocsin heartbeats``' text: one aligned line per heartbeat, times in the config's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from starters.cli_heartbeats import heartbeats_text
from workflows.heartbeat_models import HeartbeatState

SEEN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class TestHeartbeatsText:
    """Status, interval, last seen, next due and the open page, per heartbeat."""

    def test_lines(self) -> None:
        states = [
            HeartbeatState(
                name="nightly-backup",
                status="overdue",
                interval=timedelta(days=1),
                last_seen=SEEN,
                next_due=SEEN + timedelta(days=1),
                page_id="heartbeat-nightly-backup",
            ),
            HeartbeatState(name="sync", status="unknown", interval=timedelta(minutes=5)),
        ]
        lines = heartbeats_text(states, ZoneInfo("America/Chicago")).splitlines()
        assert lines[0].split() == [
            "NAME",
            "STATUS",
            "EVERY",
            "LAST",
            "SEEN",
            "NEXT",
            "DUE",
            "PAGE",
        ]
        assert lines[1].split() == [
            "nightly-backup", "overdue", "1d", "2026-11-30", "02:00", "CST",
            "2026-12-01", "02:00", "CST", "heartbeat-nightly-backup",
        ]  # fmt: skip
        assert lines[2].split() == ["sync", "unknown", "5m", "-", "-", "-"]

    def test_none_configured(self) -> None:
        assert heartbeats_text([], ZoneInfo("UTC")).startswith("no heartbeats configured")
