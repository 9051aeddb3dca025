"""Durations as written in tocsin.yaml: short `10m` form and ISO 8601 `PT10M` form."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from workflows.durations import Duration, at_most, format_duration, parse_duration


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("10m", timedelta(minutes=10)),
            ("1w", timedelta(weeks=1)),
            ("90s", timedelta(seconds=90)),
            ("12h", timedelta(hours=12)),
            ("1d", timedelta(days=1)),
            (" 5m ", timedelta(minutes=5)),
        ],
    )
    def test_short_form(self, text: str, expected: timedelta) -> None:
        """An integer followed by one of s, m, h, d, w is that many units."""
        assert parse_duration(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("PT10M", timedelta(minutes=10)),
            ("P1W", timedelta(weeks=1)),
            ("PT1H30M", timedelta(hours=1, minutes=30)),
            ("P1DT12H", timedelta(days=1, hours=12)),
            ("PT45S", timedelta(seconds=45)),
        ],
    )
    def test_iso_form(self, text: str, expected: timedelta) -> None:
        """ISO 8601 durations with weeks, days, hours, minutes and seconds are accepted."""
        assert parse_duration(text) == expected

    def test_compound_short_form(self) -> None:
        """Units can be combined, as in 1h30m (90 minutes) or 1d12h (36 hours)."""
        assert parse_duration("1h30m") == timedelta(minutes=90)
        assert parse_duration("1d12h") == timedelta(hours=36)

    def test_mixed_format_parses_back(self) -> None:
        """What format_duration writes for an uneven value (1m30s) is accepted again."""
        assert parse_duration(format_duration(timedelta(seconds=90))) == timedelta(seconds=90)

    def test_timedelta_passes_through(self) -> None:
        """A positive timedelta (already parsed) is returned unchanged."""
        assert parse_duration(timedelta(minutes=3)) == timedelta(minutes=3)

    @pytest.mark.parametrize(
        "text", ["10", "10x", "m", "", "1h 30m", "h30m", "ten minutes", "P", "PT"]
    )
    def test_rejects_malformed_text(self, text: str) -> None:
        """Text in neither form is rejected with a message showing both forms."""
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(text)

    @pytest.mark.parametrize("text", ["0m", "0s", "PT0M", "P0W"])
    def test_rejects_zero(self, text: str) -> None:
        """A duration of zero is rejected: every timeout and shift must last some time."""
        with pytest.raises(ValueError, match="greater than zero"):
            parse_duration(text)

    def test_rejects_negative(self) -> None:
        """A negative duration is rejected, whether written as text or given as a timedelta."""
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration("-5m")
        with pytest.raises(ValueError, match="greater than zero"):
            parse_duration(timedelta(minutes=-5))

    @pytest.mark.parametrize("value", [10, 600, 1.5, None, ["10m"]])
    def test_rejects_non_strings(self, value: object) -> None:
        """A bare number (YAML `ack_timeout: 10`) or any other non-string is rejected."""
        with pytest.raises(ValueError, match="expected a duration"):
            parse_duration(value)

    @pytest.mark.parametrize(
        "text", ["99999999999w", "P99999999999W", "PT99999999999999H", f"PT{'9' * 400}S"]
    )
    def test_rejects_overflowing_number(self, text: str) -> None:
        """A number too large for a timedelta is a ValueError saying so, never an OverflowError."""
        with pytest.raises(ValueError, match="too large"):
            parse_duration(text)

    def test_overflow_message_stays_short(self) -> None:
        """A 5,000-digit number is refused as too large with its text cut short in the message."""
        with pytest.raises(ValueError, match="too large") as caught:
            parse_duration("9" * 5000 + "s")
        assert len(str(caught.value)) < 80


class Step(BaseModel):
    """A model with one duration bounded at a week, like an escalation step's ack_timeout."""

    timeout: Annotated[Duration, at_most(timedelta(weeks=1))] = timedelta(minutes=5)


class TestAtMost:
    """A bounded duration field accepts up to its bound and names the bound past it."""

    @pytest.mark.parametrize("text", ["10m", "7d", "P1W", "PT168H"])
    def test_within_bound(self, text: str) -> None:
        """Values up to the bound are parsed as usual and written back in short form."""
        step = Step(timeout=text)
        assert step.timeout == parse_duration(text)
        assert step.model_dump()["timeout"] == format_duration(parse_duration(text))

    @pytest.mark.parametrize("value", ["8d", "3000000d", "99999999999w", timedelta(days=8)])
    def test_over_bound(self, value: object) -> None:
        """Past the bound, a number too large to compute included, the message states the bound."""
        with pytest.raises(ValidationError) as caught:
            Step(timeout=value)
        [error] = caught.value.errors()
        assert error["msg"] == "Value error, must be at most 1w"

    def test_malformed_text_keeps_its_message(self) -> None:
        """Text that is no duration at all is still explained with both accepted forms."""
        with pytest.raises(ValidationError, match="invalid duration '10x'"):
            Step(timeout="10x")


class TestFormatDuration:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (timedelta(minutes=10), "10m"),
            (timedelta(weeks=1), "1w"),
            (timedelta(weeks=2), "2w"),
            (timedelta(days=3), "3d"),
            (timedelta(hours=12), "12h"),
            (timedelta(hours=1, minutes=30), "90m"),
            (timedelta(seconds=45), "45s"),
        ],
    )
    def test_largest_exact_unit(self, value: timedelta, expected: str) -> None:
        """A duration is spelled in the largest unit that divides it exactly."""
        assert format_duration(value) == expected

    def test_mixed_units(self) -> None:
        """A duration no single unit divides is spelled as several units, largest first."""
        assert format_duration(timedelta(seconds=90)) == "1m30s"
        assert format_duration(timedelta(days=1, hours=1, minutes=1, seconds=1)) == "1d1h1m1s"

    @pytest.mark.parametrize("text", ["10m", "1w", "45s", "PT10M", "P1W", "PT1H30M", "P1DT12H"])
    def test_round_trips_through_parse(self, text: str) -> None:
        """A single-unit spelling from format_duration parses back to the same duration."""
        value = parse_duration(text)
        assert parse_duration(format_duration(value)) == value
