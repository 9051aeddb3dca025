"""When working hours next begin: weekends, late evenings, DST; and their config errors."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from workflows.working_hours import WorkingHours, next_start

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = WorkingHours()  # monday to friday, 09:00 to 18:00


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


class TestNextStart:
    def test_inside_is_none(self) -> None:
        assert next_start(OFFICE, BERLIN, at("2026-12-01T10:30")) is None

    def test_end_is_outside(self) -> None:
        assert next_start(OFFICE, BERLIN, at("2026-12-01T18:00")) == at("2026-12-02T09:00")

    def test_night_waits_for_the_morning(self) -> None:
        assert next_start(OFFICE, BERLIN, at("2026-12-01T03:00")) == at("2026-12-01T09:00")

    def test_friday_evening_waits_for_monday(self) -> None:
        assert next_start(OFFICE, BERLIN, at("2026-12-04T19:00")) == at("2026-12-07T09:00")

    def test_read_in_its_own_zone(self) -> None:
        """08:30 UTC is 09:30 in Berlin (winter): inside."""
        utc = datetime(2026, 12, 1, 8, 30, tzinfo=ZoneInfo("UTC"))
        assert next_start(OFFICE, BERLIN, utc) is None

    def test_dst_change_keeps_local_nine(self) -> None:
        """Friday evening before the spring change: Monday 09:00 local, now UTC+2."""
        found = next_start(OFFICE, BERLIN, at("2027-03-26T20:00"))
        assert found == at("2027-03-29T09:00")
        assert found is not None
        assert found.astimezone(ZoneInfo("UTC")).hour == 7

    def test_custom_days(self) -> None:
        weekend = WorkingHours(days=["saturday"], start=time(10), end=time(12))
        assert next_start(weekend, BERLIN, at("2026-12-01T10:30")) == at("2026-12-05T10:00")


class TestConfig:
    @pytest.mark.parametrize(
        ("fields", "reason"),
        [
            ({"days": ["funday"]}, "unknown day 'funday'"),
            ({"days": []}, "at least 1"),
            ({"start": 540}, "write the time in quotes"),
            ({"start": "18:00", "end": "09:00"}, "end must be after start"),
            ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ],
    )
    def test_refused_naming_why(self, fields: dict[str, object], reason: str) -> None:
        with pytest.raises(ValidationError) as raised:
            WorkingHours.model_validate(fields)
        assert reason in str(raised.value)
