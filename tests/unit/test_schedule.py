"""Rotation arithmetic: handoffs at local wall-clock time across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workflows.config import Rotation
from workflows.schedule import (
    anchor,
    holder,
    next_handoff,
    oncall,
    shift_index,
    shift_start,
    shifts,
)

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
SECOND = timedelta(seconds=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_rotation(**changes: Any) -> Rotation:
    """A weekly Monday-10:00 Chicago rotation starting Monday 2026-10-19, with ``changes``."""
    fields: dict[str, Any] = {
        "timezone": "America/Chicago",
        "handoff": {"weekday": "monday", "time": "10:00"},
        "shift": "1w",
        "start": "2026-10-19",
        "layers": {"eoc": ["alice", "bob"], "tm": ["dana"]},
    }
    fields.update(changes)
    return Rotation.model_validate(fields)


WEEKLY = make_rotation()


def daily(handoff: str) -> Rotation:
    """A daily Chicago rotation with no weekday, handing over at ``handoff`` local time."""
    return make_rotation(
        handoff={"time": handoff},
        shift="1d",
        start="2026-10-01",
        layers={"primary": ["erin", "frank"]},
    )


class TestAnchor:
    def test_start_on_handoff_weekday(self) -> None:
        """A start date that is the handoff weekday is the first handoff day."""
        assert anchor(WEEKLY) == datetime(2026, 10, 19, 10, 0)  # noqa: DTZ001 -- naive local by design

    def test_start_moves_forward_to_weekday(self) -> None:
        """A start date on a Thursday moves forward to the following Monday, never back."""
        rotation = make_rotation(start="2026-10-15")
        assert anchor(rotation) == datetime(2026, 10, 19, 10, 0)  # noqa: DTZ001 -- naive local
        assert shift_start(rotation, 0) == utc(2026, 10, 19, 15, 0)

    def test_start_the_day_after_weekday(self) -> None:
        """A start date on a Tuesday waits six days for the next Monday."""
        rotation = make_rotation(start="2026-10-20")
        assert anchor(rotation).date().isoformat() == "2026-10-26"

    def test_no_weekday_starts_on_start_date(self) -> None:
        """Without a weekday, shift 0 starts on the start date itself at the handoff time."""
        assert anchor(daily("02:30")) == datetime(2026, 10, 1, 2, 30)  # noqa: DTZ001 -- naive local


class TestWeeklyAcrossDst:
    def test_fall_back_handoffs(self) -> None:
        """Around 2026-11-01 the handoff stays at 10:00 local and the spanning shift lasts 169h."""
        before = shift_start(WEEKLY, 1)
        after = shift_start(WEEKLY, 2)

        assert before == utc(2026, 10, 26, 15, 0)  # 10:00 CDT
        assert after == utc(2026, 11, 2, 16, 0)  # 10:00 CST
        assert after - before == timedelta(hours=169)
        for instant in (before, after):
            assert instant.astimezone(CHICAGO).time() == time(10, 0)

    def test_spring_forward_handoffs(self) -> None:
        """Around 2027-03-14 the handoff stays at 10:00 local and the spanning shift lasts 167h."""
        index = shift_index(WEEKLY, utc(2027, 3, 8, 16, 0))
        assert index is not None
        before = shift_start(WEEKLY, index)
        after = shift_start(WEEKLY, index + 1)

        assert index == 20
        assert before == utc(2027, 3, 8, 16, 0)  # 10:00 CST
        assert after == utc(2027, 3, 15, 15, 0)  # 10:00 CDT
        assert after - before == timedelta(hours=167)
        for instant in (before, after):
            assert instant.astimezone(CHICAGO).time() == time(10, 0)

    def test_every_handoff_is_monday_ten_local(self) -> None:
        """For a whole year every handoff is a Monday at 10:00 in Chicago."""
        for index in range(53):
            local = shift_start(WEEKLY, index).astimezone(CHICAGO)
            assert (local.weekday(), local.time()) == (0, time(10, 0))

    @pytest.mark.parametrize(
        ("handoff", "outgoing", "incoming"),
        [
            (utc(2026, 10, 19, 15, 0), None, "alice"),
            (utc(2026, 10, 26, 15, 0), "alice", "bob"),
            (utc(2026, 11, 2, 16, 0), "bob", "alice"),
            (utc(2027, 3, 8, 16, 0), "bob", "alice"),  # shift 20
            (utc(2027, 3, 15, 15, 0), "alice", "bob"),
        ],
    )
    def test_eoc_holder_changes_exactly_at_handoff(
        self, handoff: datetime, outgoing: str | None, incoming: str
    ) -> None:
        """One second before a handoff the outgoing person holds the layer; at it, the incoming one."""
        just_before = holder(WEEKLY, "eoc", handoff - SECOND)
        at = holder(WEEKLY, "eoc", handoff)

        assert (just_before.person if just_before else None) == outgoing
        assert at is not None
        assert at.person == incoming
        assert at.start == handoff
        assert next_handoff(WEEKLY, handoff - SECOND) == handoff

    def test_single_member_layer_always_holds(self) -> None:
        """A layer with one member is held by that member on both sides of every handoff."""
        for handoff in (utc(2026, 10, 26, 15, 0), utc(2026, 11, 2, 16, 0), utc(2027, 3, 15, 15, 0)):
            for at in (handoff - SECOND, handoff):
                shift = holder(WEEKLY, "tm", at)
                assert shift is not None
                assert shift.person == "dana"

    def test_held_shift_spans_dst(self) -> None:
        """The shift running during the fall-back night starts and ends at 10:00 local."""
        shift = holder(WEEKLY, "eoc", utc(2026, 11, 1, 7, 30))  # 01:30 CST, second occurrence
        assert shift is not None
        assert (shift.person, shift.index) == ("bob", 1)
        assert (shift.start, shift.end) == (utc(2026, 10, 26, 15, 0), utc(2026, 11, 2, 16, 0))

    def test_oncall_lists_every_layer(self) -> None:
        """oncall() gives the holder of each layer at one instant."""
        found = oncall(WEEKLY, utc(2026, 11, 2, 16, 0))
        assert {layer: s.person if s else None for layer, s in found.items()} == {
            "eoc": "alice",
            "tm": "dana",
        }


class TestBeforeStart:
    def test_nobody_before_start(self) -> None:
        """Before the first handoff nobody holds any layer."""
        rotation = make_rotation(start="2026-11-23")
        first = utc(2026, 11, 23, 16, 0)  # 10:00 CST

        assert shift_index(rotation, first - SECOND) is None
        assert holder(rotation, "eoc", first - SECOND) is None
        assert oncall(rotation, first - SECOND) == {"eoc": None, "tm": None}
        assert shift_index(rotation, first) == 0

    def test_next_handoff_before_start_is_first_shift(self) -> None:
        """Before the rotation starts, the next handoff is the start of shift 0."""
        rotation = make_rotation(start="2026-11-23")
        assert next_handoff(rotation, utc(2026, 1, 1)) == utc(2026, 11, 23, 16, 0)

    def test_nobody_between_start_date_and_weekday(self) -> None:
        """With start on a Thursday, nobody is on call until the following Monday's handoff."""
        rotation = make_rotation(start="2026-10-15")
        assert holder(rotation, "eoc", utc(2026, 10, 16, 12, 0)) is None
        shift = holder(rotation, "eoc", utc(2026, 10, 19, 15, 0))
        assert shift is not None
        assert (shift.person, shift.index) == ("alice", 0)

    def test_unknown_layer(self) -> None:
        """Asking for a layer the rotation does not have raises KeyError."""
        with pytest.raises(KeyError):
            holder(WEEKLY, "lead", utc(2026, 11, 2, 16, 0))


class TestBerlin:
    ROTATION = make_rotation(
        timezone="Europe/Berlin",
        handoff={"weekday": "monday", "time": "09:00"},
        start="2026-10-19",
    )

    def test_autumn_change(self) -> None:
        """Across 2026-10-25 the Monday handoff moves from 07:00Z (CEST) to 08:00Z (CET)."""
        assert shift_start(self.ROTATION, 0) == utc(2026, 10, 19, 7, 0)
        assert shift_start(self.ROTATION, 1) == utc(2026, 10, 26, 8, 0)
        assert shift_start(self.ROTATION, 1) - shift_start(self.ROTATION, 0) == timedelta(hours=169)

    def test_spring_change(self) -> None:
        """Across 2027-03-28 the Monday handoff moves from 08:00Z (CET) to 07:00Z (CEST)."""
        before = utc(2027, 3, 22, 8, 0)
        after = utc(2027, 3, 29, 7, 0)
        index = shift_index(self.ROTATION, before)
        assert index is not None
        assert shift_start(self.ROTATION, index) == before
        assert shift_start(self.ROTATION, index + 1) == after
        assert after - before == timedelta(hours=167)
        assert after.astimezone(BERLIN).time() == time(9, 0)
        assert next_handoff(self.ROTATION, before) == after

    def test_holders_around_spring_change(self) -> None:
        """The outgoing person holds until 07:00Z on 2027-03-29, the incoming one from then."""
        after = utc(2027, 3, 29, 7, 0)
        outgoing = holder(self.ROTATION, "eoc", after - SECOND)
        incoming = holder(self.ROTATION, "eoc", after)
        assert outgoing is not None
        assert incoming is not None
        assert outgoing.person != incoming.person
        assert outgoing.end == incoming.start == after


class TestDailyAcrossDst:
    def test_handoff_in_spring_forward_gap(self) -> None:
        """02:30 does not exist on 2027-03-14 in Chicago: the handoff is at 03:30 CDT (08:30Z)."""
        rotation = daily("02:30")
        handoff = utc(2027, 3, 14, 8, 30)
        index = shift_index(rotation, handoff)
        assert index is not None

        assert shift_start(rotation, index) == handoff
        local = handoff.astimezone(CHICAGO)
        assert (local.time(), local.tzname()) == (time(3, 30), "CDT")
        assert shift_index(rotation, handoff - SECOND) == index - 1
        assert shift_start(rotation, index - 1) == utc(2027, 3, 13, 8, 30)  # 02:30 CST
        assert shift_start(rotation, index + 1) == utc(2027, 3, 15, 7, 30)  # 02:30 CDT

    def test_handoff_in_fall_back_overlap(self) -> None:
        """01:30 happens twice on 2026-11-01 in Chicago: the handoff is the first, CDT (06:30Z)."""
        rotation = daily("01:30")
        handoff = utc(2026, 11, 1, 6, 30)
        index = shift_index(rotation, handoff)
        assert index is not None

        assert shift_start(rotation, index) == handoff
        local = handoff.astimezone(CHICAGO)
        assert (local.time(), local.tzname()) == (time(1, 30), "CDT")
        assert shift_index(rotation, handoff - SECOND) == index - 1
        # The second 01:30 (CST) is inside the same shift, which lasts 25 hours.
        assert shift_index(rotation, utc(2026, 11, 1, 7, 30)) == index
        assert shift_start(rotation, index + 1) == utc(2026, 11, 2, 7, 30)

    def test_people_alternate_daily(self) -> None:
        """With two members, each holds every other day."""
        rotation = daily("02:30")
        people = [s.person for s in shifts(rotation, "primary", utc(2027, 3, 12), utc(2027, 3, 16))]
        assert len(people) == 5
        assert people[::2] == [people[0]] * 3
        assert people[1::2] == [people[1]] * 2
        assert people[0] != people[1]


class TestTwelveHour:
    ROTATION = make_rotation(
        handoff={"time": "08:00"},
        shift="12h",
        start="2026-10-30",
        layers={"ops": ["gil", "hana"]},
    )

    def test_handoffs_at_eight_local(self) -> None:
        """12h shifts hand over at 08:00 and 20:00 local on both sides of the fall-back change."""
        found = shifts(self.ROTATION, "ops", utc(2026, 10, 30, 13, 0), utc(2026, 11, 3, 15, 0))
        assert [s.start.astimezone(CHICAGO).strftime("%d %H:%M") for s in found] == [
            "30 08:00",
            "30 20:00",
            "31 08:00",
            "31 20:00",
            "01 08:00",
            "01 20:00",
            "02 08:00",
            "02 20:00",
            "03 08:00",
        ]
        assert [s.person for s in found] == ["gil", "hana"] * 4 + ["gil"]

    def test_shift_over_fall_back_lasts_thirteen_hours(self) -> None:
        """The night shift that contains the repeated hour lasts 13 hours."""
        shift = holder(self.ROTATION, "ops", utc(2026, 11, 1, 7, 0))
        assert shift is not None
        assert shift.start == utc(2026, 11, 1, 1, 0)  # 20:00 CDT on 31 Oct
        assert shift.end == utc(2026, 11, 1, 14, 0)  # 08:00 CST on 1 Nov
        assert shift.end - shift.start == timedelta(hours=13)


class TestShifts:
    def test_consecutive_shifts_cover_the_range(self) -> None:
        """shifts() lists every overlapping shift in order, each ending where the next starts."""
        start = utc(2026, 10, 28)
        end = utc(2027, 3, 20)
        found = shifts(WEEKLY, "eoc", start, end)

        assert found[0].start <= start < found[0].end
        assert found[-1].start < end <= found[-1].end
        for earlier, later in pairwise(found):
            assert earlier.end == later.start
            assert later.index == earlier.index + 1
            assert earlier.person != later.person
        assert {s.layer for s in found} == {"eoc"}

    def test_range_before_start_begins_at_shift_zero(self) -> None:
        """A range that opens before the rotation starts lists shifts from shift 0 only."""
        rotation = make_rotation(start="2026-11-23")
        found = shifts(rotation, "tm", utc(2026, 11, 1), utc(2026, 12, 1))
        assert [s.index for s in found] == [0, 1]
        assert found[0].start == utc(2026, 11, 23, 16, 0)

    def test_range_entirely_before_start_is_empty(self) -> None:
        """A range that closes before the rotation starts has no shifts."""
        rotation = make_rotation(start="2026-11-23")
        assert shifts(rotation, "eoc", utc(2026, 11, 1), utc(2026, 11, 2)) == []

    def test_end_on_handoff_is_exclusive(self) -> None:
        """A range ending exactly at a handoff does not include the shift that starts there."""
        found = shifts(WEEKLY, "eoc", utc(2026, 10, 19, 15, 0), utc(2026, 11, 2, 16, 0))
        assert [s.index for s in found] == [0, 1]


class TestNaiveDatetimes:
    NAIVE = datetime(2026, 11, 2, 10, 0)  # noqa: DTZ001 -- the point is that it is naive

    def test_shift_index_rejects_naive(self) -> None:
        """shift_index() refuses a datetime without a time zone."""
        with pytest.raises(ValueError, match="timezone-aware"):
            shift_index(WEEKLY, self.NAIVE)

    def test_holder_rejects_naive(self) -> None:
        """holder() refuses a datetime without a time zone."""
        with pytest.raises(ValueError, match="timezone-aware"):
            holder(WEEKLY, "eoc", self.NAIVE)

    def test_next_handoff_rejects_naive(self) -> None:
        """next_handoff() refuses a datetime without a time zone."""
        with pytest.raises(ValueError, match="timezone-aware"):
            next_handoff(WEEKLY, self.NAIVE)

    def test_shifts_rejects_naive(self) -> None:
        """shifts() refuses naive bounds at either end."""
        with pytest.raises(ValueError, match="timezone-aware"):
            shifts(WEEKLY, "eoc", self.NAIVE, utc(2026, 12, 1))
        with pytest.raises(ValueError, match="timezone-aware"):
            shifts(WEEKLY, "eoc", utc(2026, 10, 1), self.NAIVE)

    def test_other_time_zones_accepted(self) -> None:
        """An aware datetime in any zone is the same instant as its UTC equivalent."""
        local = datetime(2026, 11, 2, 10, 0, tzinfo=CHICAGO)
        assert shift_index(WEEKLY, local) == shift_index(WEEKLY, utc(2026, 11, 2, 16, 0)) == 2
