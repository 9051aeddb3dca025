"""The ``heartbeats:`` config section: what a valid heartbeat is, and the errors naming the
key of one that is not; the overdue page's text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.test_config import Data, example, problems_of
from worker.config import parse_config
from workflows.heartbeat_models import HeartbeatCarry, deadline, overdue_summary


def with_heartbeat(**spec: Any) -> Data:
    data = example()
    data["heartbeats"] = {"backup": spec}
    return data


class TestHeartbeatConfig:
    """A heartbeat names its interval, grace and exactly one known service or team."""

    def test_valid_heartbeat_loads(self) -> None:
        data = with_heartbeat(
            interval="1d", grace="2h", team="delivery", urgency="low", description="nightly"
        )
        config = parse_config(data, "tocsin.yaml")
        spec = config.heartbeats["backup"]
        assert spec.late_after == timedelta(days=1, hours=2)
        assert spec.urgency == "low"
        assert spec.shown() == "every 1d (grace 2h)"

    def test_grace_defaults_to_none_and_may_be_zero(self) -> None:
        for grace in (None, 0, "0m"):
            spec: dict[str, Any] = {"interval": "5m", "team": "delivery"}
            if grace is not None:
                spec["grace"] = grace
            config = parse_config(with_heartbeat(**spec), "tocsin.yaml")
            assert config.heartbeats["backup"].grace == timedelta(0)

    @pytest.mark.parametrize(
        ("spec", "problem"),
        [
            (
                {"interval": "soon", "team": "delivery"},
                "tocsin.yaml: heartbeats.backup.interval: invalid duration 'soon'",
            ),
            (
                {"interval": "30s", "team": "delivery"},
                "tocsin.yaml: heartbeats.backup.interval: must be at least 1m",
            ),
            (
                {"interval": "6w", "team": "delivery"},
                "tocsin.yaml: heartbeats.backup.interval: must be at most 5w",
            ),
            (
                {"interval": "1h", "grace": "2w", "team": "delivery"},
                "tocsin.yaml: heartbeats.backup.grace: must be at most 1w",
            ),
            (
                {"interval": "1h", "team": "nobody"},
                "tocsin.yaml: heartbeats.backup.team: unknown team 'nobody'",
            ),
            (
                {"interval": "1h", "service": "billing"},
                "tocsin.yaml: heartbeats.backup.service: unknown service 'billing'",
            ),
            (
                {"interval": "1h"},
                "tocsin.yaml: heartbeats.backup: name exactly one of service or team",
            ),
            (
                {"interval": "1h", "team": "delivery", "urgency": "urgent"},
                "tocsin.yaml: heartbeats.backup.urgency: Input should be 'high' or 'low'",
            ),
            (
                {"interval": "1h", "team": "delivery", "every": "1h"},
                "tocsin.yaml: heartbeats.backup.every: Extra inputs are not permitted",
            ),
        ],
    )
    def test_bad_heartbeat_names_its_key(self, spec: Data, problem: str) -> None:
        problems = problems_of(lambda data: data.update(heartbeats={"backup": spec}))
        assert any(p.startswith(problem) for p in problems), problems

    def test_bad_name_is_refused(self) -> None:
        problems = problems_of(
            lambda data: data.update(
                heartbeats={"Nightly Backup": {"interval": "1h", "team": "delivery"}}
            )
        )
        assert any(p.startswith("tocsin.yaml: heartbeats.Nightly Backup") for p in problems)


class TestOverdueText:
    """The page says when the heartbeat was last seen, and how long ago."""

    START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)

    def test_last_seen(self) -> None:
        carry = HeartbeatCarry(started_at=self.START, last_seen=self.START)
        now = self.START + timedelta(hours=1, minutes=5, seconds=30)
        assert (
            overdue_summary("backup", carry, now)
            == "backup is overdue; last seen 2026-11-30 02:00 UTC (1h5m ago)"
        )

    def test_never_seen(self) -> None:
        carry = HeartbeatCarry(started_at=self.START)
        assert (
            overdue_summary("backup", carry, self.START + timedelta(hours=2))
            == "backup is overdue; never seen since 2026-11-30 02:00 UTC"
        )

    def test_deadline_counts_from_the_last_ping_or_the_start(self) -> None:
        config = parse_config(with_heartbeat(interval="1h", grace="10m", team="delivery"), "x")
        spec = config.heartbeats["backup"]
        fresh = HeartbeatCarry(started_at=self.START)
        assert deadline(spec, fresh) == self.START + timedelta(hours=1, minutes=10)
        seen = fresh.model_copy(update={"last_seen": self.START + timedelta(hours=3)})
        assert deadline(spec, seen) == self.START + timedelta(hours=4, minutes=10)
