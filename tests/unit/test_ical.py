"""iCalendar export: rotation and person calendars parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from starters.ical import person_calendar, rotation_calendar
from workflows.config import Person, Rotation
from workflows.rotation_models import Override, RotationPlan, Swap
from workflows.rotation_rules import plan_from_config

CHICAGO = ZoneInfo("America/Chicago")
PEOPLE = {
    "alice": Person(name="Alice"),
    "bob": Person(name="Bob"),
    "carol": Person(name="Carol"),
    "dana": Person(name="Dana"),
}
DELIVERY = Rotation.model_validate(
    {
        "timezone": "America/Chicago",
        "handoff": {"weekday": "monday", "time": "10:00"},
        "shift": "1w",
        "start": "2026-10-26",
        "layers": {"eoc": ["alice", "bob"], "tm": ["dana"]},
    }
)
# Handoffs around the 2026-11-01 fall-back change: 10:00 CDT, then 10:00 CST.
H1 = datetime(2026, 10, 26, 15, tzinfo=UTC)
H2 = datetime(2026, 11, 2, 16, tzinfo=UTC)
H3 = datetime(2026, 11, 9, 16, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """An aware Chicago wall-clock datetime."""
    return datetime(year, month, day, hour, tzinfo=CHICAGO)


def plan(**changes: Any) -> RotationPlan:
    """The delivery plan with ``changes``."""
    return plan_from_config("delivery", DELIVERY).model_copy(update=changes)


def events(data: bytes) -> list[tuple[str, datetime, datetime, str]]:
    """Parse a calendar: (summary, start, end, description) per event, in file order."""
    calendar = Calendar.from_ical(data)
    return [
        (
            str(e["SUMMARY"]),
            e.decoded("DTSTART"),
            e.decoded("DTEND"),
            str(e.get("DESCRIPTION", "")),
        )
        for e in calendar.walk("VEVENT")
    ]


class TestRotationCalendar:
    def test_calendar_properties(self) -> None:
        """The calendar names itself and declares PRODID and VERSION 2.0."""
        calendar = Calendar.from_ical(rotation_calendar(plan(), H1, H2, PEOPLE, "delivery"))

        assert str(calendar["VERSION"]) == "2.0"
        assert "Tocsin" in str(calendar["PRODID"])
        assert str(calendar["X-WR-CALNAME"]) == "Tocsin: delivery on call (delivery rotation)"

    def test_dst_week_in_utc(self) -> None:
        """The fall-back shift runs 10:00 CDT to 10:00 CST: 169 hours, times written in UTC."""
        data = rotation_calendar(plan(), H1, H3, PEOPLE, "delivery")

        found = events(data)

        assert [(s, a, b) for s, a, b, _ in found] == [
            ("Delivery EOC: Alice", H1, H2),
            ("Delivery TM: Dana", H1, H2),
            ("Delivery EOC: Bob", H2, H3),
            ("Delivery TM: Dana", H2, H3),
        ]
        assert found[0][2] - found[0][1] == timedelta(hours=169)
        assert {e[1].astimezone(CHICAGO).hour for e in found} == {10}
        assert b"DTSTART:20261026T150000Z" in data

    def test_whole_shifts_for_a_partial_range(self) -> None:
        """A range starting mid-shift exports that shift from its handoff."""
        found = events(rotation_calendar(plan(), local(2026, 10, 28), H2, PEOPLE, None))

        assert [(s, a, b) for s, a, b, _ in found] == [
            ("Delivery EOC: Alice", H1, H2),
            ("Delivery TM: Dana", H1, H2),
        ]

    def test_override_splits_and_is_described(self) -> None:
        """A day's cover is its own event, noted with who made it and why."""
        cover = Override(
            id="o1",
            layer="eoc",
            person="bob",
            start=local(2026, 10, 28),
            end=local(2026, 10, 29),
            by="dana",
            created_at=H1,
            reason="dentist",
        )
        data = rotation_calendar(plan(overrides=[cover]), H1, H2, PEOPLE, "delivery")

        eoc = [e for e in events(data) if "EOC" in e[0]]

        assert [(s, a, b) for s, a, b, _ in eoc] == [
            ("Delivery EOC: Alice", H1, cover.start),
            ("Delivery EOC: Bob", cover.start, cover.end),
            ("Delivery EOC: Alice", cover.end, H2),
        ]
        assert "Override o1 by dana: dentist" in eoc[1][3]

    def test_swap_is_described(self) -> None:
        """Swapped shifts say so in their description."""
        swap = Swap(
            id="s1",
            layer="eoc",
            first_person="alice",
            first_start=H3,
            second_person="bob",
            second_start=H2,
            by="alice",
            created_at=H1,
        )
        data = rotation_calendar(plan(swaps=[swap]), H2, H3 + timedelta(weeks=2), PEOPLE, None)

        eoc = [e for e in events(data) if "EOC" in e[0]]

        # Alice takes bob's week of H2, bob hers of H3, then his own following week.
        assert [(s, a, b) for s, a, b, _ in eoc] == [
            ("Delivery EOC: Alice", H2, H3),
            ("Delivery EOC: Bob", H3, H3 + timedelta(weeks=1)),
            ("Delivery EOC: Bob", H3 + timedelta(weeks=1), H3 + timedelta(weeks=2)),
        ]
        assert ["Swapped shift" in e[3] for e in eoc] == [True, True, False]

    def test_stable_uids(self) -> None:
        """Fetching again, even from a later instant of the same shift, gives the same UIDs."""

        def uids(start: datetime) -> set[str]:
            data = rotation_calendar(plan(), start, H3, PEOPLE, "delivery")
            return {str(e["UID"]) for e in Calendar.from_ical(data).walk("VEVENT")}

        first = uids(H1)

        assert first == uids(H1 + timedelta(days=2))
        assert f"delivery-eoc-{int(H1.timestamp())}-alice@tocsin" in first

    def test_before_start_has_no_events(self) -> None:
        """Nobody is on call before the rotation starts, so there is nothing to export."""
        data = rotation_calendar(plan(), local(2026, 10, 1), local(2026, 10, 10), PEOPLE, None)

        assert events(data) == []


WEEK = timedelta(weeks=1)
Seen = dict[str, tuple[datetime, datetime, str]]


def by_uid(data: bytes) -> Seen:
    """Parse a calendar: (start, end, summary) per UID; a UID appears once."""
    found = Calendar.from_ical(data).walk("VEVENT")
    seen = {
        str(e["UID"]): (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in found
    }
    assert len(seen) == len(found), "UIDs are unique within a calendar"
    return seen


def shared(first: Seen, second: Seen) -> Seen:
    """The events both calendars have (by UID), checked identical in both."""
    common = first.keys() & second.keys()
    for uid in common:
        assert first[uid] == second[uid], uid
    return {uid: first[uid] for uid in common}


class TestSlidingWindows:
    """Moving the range never changes an event's UID, DTSTART or DTEND."""

    COVER = Override(
        id="o2",
        layer="tm",
        person="carol",
        start=H2 + timedelta(days=5),
        end=H3 + timedelta(days=2),
        by="dana",
        created_at=H1,
        reason="conference",
    )

    def window(self, start: datetime, end: datetime, **changes: Any) -> Seen:
        return by_uid(rotation_calendar(plan(**changes), start, end, PEOPLE, "delivery"))

    def test_run_of_shifts_seen_from_its_middle(self) -> None:
        """Dana holds tm every week: a range starting in her third week has that week with
        the same UID and bounds as a range from the rotation's start."""
        wide = self.window(H1, H1 + 6 * WEEK)
        late = self.window(H1 + 2 * WEEK + timedelta(days=3), H1 + 6 * WEEK)

        common = shared(wide, late)

        dana = sorted(v[:2] for v in common.values() if v[2] == "Delivery TM: Dana")
        assert dana[0] == (H3, H3 + WEEK), "the week the range starts in, whole"
        assert set(late) <= set(wide)
        assert f"delivery-tm-{int(H3.timestamp())}-dana@tocsin" in late

    def test_sliding_by_days(self) -> None:
        """Ranges of two weeks slid a day at a time: every event two of them share is the same."""
        ranges = [(H1 + timedelta(days=d), H1 + timedelta(days=d + 14)) for d in range(0, 22)]
        seen = [self.window(a, b, overrides=[self.COVER]) for a, b in ranges]

        for first, second in pairwise(seen):
            assert shared(first, second), "consecutive ranges overlap"
        union: Seen = {}
        for one in seen:
            shared(union, one)
            union.update(one)
        assert self.window(H1, H1 + timedelta(days=35), overrides=[self.COVER]) == union

    def test_range_end_does_not_move_dtend(self) -> None:
        """A range ending mid-run ends Dana's last event at that shift's handoff, as a
        longer range has it."""
        short = self.window(H1, H2 + timedelta(days=1))
        long = self.window(H1, H1 + 8 * WEEK)

        common = shared(short, long)

        assert max(end for _, end, _ in common.values()) == H3
        assert len(common) == len(short)

    def test_override_across_a_handoff(self) -> None:
        """Carol's cover runs over the H3 handoff: one event on each side of it, each the
        same from a range starting before the cover and from one starting inside it."""
        before = self.window(H1, H1 + 4 * WEEK, overrides=[self.COVER])
        inside = self.window(H3 + timedelta(days=1), H1 + 4 * WEEK, overrides=[self.COVER])

        common = shared(before, inside)

        carol = sorted(v[:2] for v in before.values() if v[2] == "Delivery TM: Carol")
        assert carol == [(self.COVER.start, H3), (H3, self.COVER.end)]
        assert (H3, self.COVER.end, "Delivery TM: Carol") in common.values()
        assert (self.COVER.end, H3 + WEEK, "Delivery TM: Dana") in common.values()


class TestPersonCalendar:
    def test_only_that_persons_shifts(self) -> None:
        """Alice's calendar has her eoc weeks from every plan, summarised for her."""
        other = plan_from_config(
            "ops", DELIVERY.model_copy(update={"layers": {"primary": ["carol", "alice"]}})
        )

        data = person_calendar("alice", [plan(), other], H1, H3 + timedelta(weeks=1), PEOPLE)

        assert [(s, a, b) for s, a, b, _ in events(data)] == [
            ("On call: Alice (delivery eoc)", H1, H2),
            ("On call: Alice (ops primary)", H2, H3),
            ("On call: Alice (delivery eoc)", H3, H3 + timedelta(weeks=1)),
        ]
        assert str(Calendar.from_ical(data)["X-WR-CALNAME"]) == "Tocsin: Alice on call"

    def test_stable_across_ranges(self) -> None:
        """Alice's events are the same whichever range asks for them."""

        def mine(start: datetime, end: datetime) -> Seen:
            return by_uid(person_calendar("alice", [plan()], start, end, PEOPLE))

        first = mine(H1, H1 + 6 * WEEK)
        second = mine(H3 + timedelta(hours=1), H1 + 9 * WEEK)

        assert len(shared(first, second)) == 2, "her weeks of H3 and H3 + 2 weeks"
