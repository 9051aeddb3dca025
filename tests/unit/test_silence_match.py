"""Maintenance windows and silences, matched without a server: Alertmanager's matcher
rules, a page held only when every firing alert is covered, weekly windows by local time
across DST, and config errors that name the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from worker.config import ConfigError, parse_config
from workflows.silence_match import find_hold, page_labels, silenceable, window_end
from workflows.silence_models import MaintenanceWindow, Silence, parse_matcher

CHICAGO = ZoneInfo("America/Chicago")
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def weekly(**fields: Any) -> MaintenanceWindow:
    base = {"reason": "patching", "teams": ["ops"], "days": ["saturday"], "start": "22:00"}
    return MaintenanceWindow.model_validate({"end": "02:00", **base, **fields})


class TestMatchers:
    """Alertmanager's four operators; a missing label reads as empty; regexes are anchored."""

    @pytest.mark.parametrize(
        ("text", "labels", "hit"),
        [
            ("env=prod", {"env": "prod"}, True),
            ("env!=prod", {"env": "prod"}, False),
            ("env!=prod", {}, True),
            ('alertname=~"Disk.*"', {"alertname": "DiskFull"}, True),
            ("alertname=~Disk", {"alertname": "DiskFull"}, False),
            ("alertname!~Disk.*", {"alertname": "CPU"}, True),
            ("env=", {}, True),
        ],
    )
    def test_rules(self, text: str, labels: dict[str, str], hit: bool) -> None:
        assert parse_matcher(text).matches(labels) is hit

    def test_bad_matcher_says_the_forms(self) -> None:
        with pytest.raises(ValueError, match="name=value"):
            parse_matcher("no operator")


class TestHolds:
    """A page is held when every firing alert is covered; the page's service and team are
    labels; the hold ending last wins; only alert sources are held."""

    def silence(self, **fields: Any) -> Silence:
        base = {
            "id": "s1",
            "starts_at": T0 - timedelta(hours=1),
            "ends_at": T0 + timedelta(hours=1),
            "reason": "deploy",
            "created_by": "alice",
            "created_at": T0,
        }
        return Silence.model_validate({**base, **fields})

    def test_every_firing_alert_must_match(self) -> None:
        silence = self.silence(services=["db"], matchers=["alertname=Lag"])
        lag = page_labels("db", "ops", [{"alertname": "Lag"}])
        both = page_labels("db", "ops", [{"alertname": "Lag"}, {"alertname": "Down"}])
        assert find_hold({}, CHICAGO, [silence], lag, T0) is not None
        assert find_hold({}, CHICAGO, [silence], both, T0) is None

    def test_the_page_service_and_team_are_labels(self) -> None:
        silence = self.silence(matchers=["team=ops", "service=~d.*"])
        hold = find_hold({}, CHICAGO, [silence], page_labels("db", "ops", []), T0)
        assert hold is not None
        assert (hold.by, hold.text) == ("alice (silence s1)", "alice (silence s1): deploy")

    def test_ended_or_later_silences_hold_nothing(self) -> None:
        labels = page_labels(None, "ops", [])
        ended = self.silence(teams=["ops"], ended_at=T0 - timedelta(minutes=1))
        later = self.silence(teams=["ops"], starts_at=T0 + timedelta(minutes=5))
        assert find_hold({}, CHICAGO, [ended, later], labels, T0) is None

    def test_the_hold_ending_last_wins(self) -> None:
        once = MaintenanceWindow.model_validate(
            {
                "reason": "db",
                "teams": ["ops"],
                "start": "2026-11-30 00:00",
                "end": "2026-12-01 00:00",
            }
        )
        hold = find_hold({"db": once}, UTC, [self.silence(teams=["ops"])], [{"team": "ops"}], T0)
        assert hold is not None
        assert (hold.by, hold.until) == ("maintenance db", datetime(2026, 12, 1, tzinfo=UTC))

    def test_people_are_never_held(self) -> None:
        assert [silenceable(s) for s in ("alertmanager", "events:ci", "heartbeat", "check")] == [
            True
        ] * 4
        assert not any(silenceable(s) for s in ("api", "slack", "console", "cli"))


class TestWeeklyWindows:
    """Saturday 22:00 to Sunday 02:00 Chicago time, whatever the offset that week."""

    @pytest.mark.parametrize(
        ("saturday", "offset"),
        [("2026-10-31", -5), ("2026-11-07", -6)],  # DST ends 2026-11-01 in Chicago
    )
    def test_local_times_across_dst(self, saturday: str, offset: int) -> None:
        window = weekly(timezone="America/Chicago")
        starts = datetime.fromisoformat(f"{saturday}T22:00").replace(tzinfo=CHICAGO)
        assert starts.utcoffset() == timedelta(hours=offset)
        assert window_end(window, UTC, starts - timedelta(minutes=1)) is None
        end = window_end(window, UTC, starts + timedelta(hours=3))  # past midnight
        assert end is not None
        assert end.astimezone(CHICAGO).strftime("%a %H:%M") == "Sun 02:00"
        assert window_end(window, UTC, end) is None

    def test_zone_defaults_to_the_config(self) -> None:
        at = datetime(2026, 11, 7, 22, 30, tzinfo=CHICAGO)
        assert window_end(weekly(), CHICAGO, at) is not None
        assert window_end(weekly(), UTC, at) is None


def config_with(**extra: Any) -> list[str]:
    with open("tocsin.example.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    try:
        parse_config({**data, **extra}, "tocsin.yaml")
    except ConfigError as err:
        return err.problems
    return []


class TestConfigErrors:
    """Every bad window or setting is an error naming its key."""

    @pytest.mark.parametrize(
        ("window", "problem"),
        [
            (
                {"start": 1320, "end": "02:00", "days": ["saturday"]},
                "maintenance.w.start: write it in quotes",
            ),
            ({"start": "22:00", "end": "02:00"}, "maintenance.w: a window without days is one-off"),
            (
                {"start": "2026-12-05 22:00", "end": "2026-12-05 21:00"},
                "maintenance.w: end must be after start",
            ),
            (
                {"start": "22:00", "end": "02:00", "days": ["sat"]},
                "maintenance.w.days: unknown day 'sat'",
            ),
            (
                {"start": "22:00", "end": "02:00", "days": ["sunday"], "timezone": "Mars/Base"},
                "maintenance.w.timezone",
            ),
            (
                {"start": "22:00", "end": "02:00", "days": ["sunday"], "matchers": ["x=~("]},
                "maintenance.w.matchers: invalid matcher",
            ),
            (
                {"start": "22:00", "end": "02:00", "days": ["sunday"], "services": ["nope"]},
                "maintenance.w.services.0: unknown service 'nope'",
            ),
        ],
    )
    def test_window(self, window: dict[str, Any], problem: str) -> None:
        covered = {"teams": ["delivery"]} if not {"services", "matchers"} & set(window) else {}
        problems = config_with(maintenance={"w": {"reason": "r", **covered, **window}})
        assert any(p.startswith(f"tocsin.yaml: {problem}") for p in problems), problems

    def test_nothing_covered(self) -> None:
        window = {"reason": "r", "start": "22:00", "end": "02:00", "days": ["sunday"]}
        assert config_with(maintenance={"w": window}) == [
            "tocsin.yaml: maintenance.w: say what it covers: services, teams and/or matchers"
        ]

    def test_max_duration(self) -> None:
        assert config_with(silences={"max_duration": "1d"}) == []
        assert config_with(silences={"max_duration": "100d"}) == [
            "tocsin.yaml: silences.max_duration: must be at most 90d"
        ]
