"""Rotation rules: versions, swaps and overrides over the DST-correct schedule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workflows.config import Rotation, TocsinConfig
from workflows.rotation_models import Override, RotationPlan, ShiftSpan, Swap
from workflows.rotation_rules import (
    all_spans,
    apply_config_change,
    check_override,
    check_swap,
    layer_gaps,
    layer_spans,
    next_handoff_after,
    oncall_at,
    plan_from_config,
    prune,
    shift_bounds,
    version_at,
)
from workflows.rotation_warnings import rotation_warnings

CHICAGO = ZoneInfo("America/Chicago")
PEOPLE = ("alice", "bob", "carol", "dana", "erik")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware Chicago wall-clock datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def make_rotation(**changes: Any) -> Rotation:
    """Weekly Monday 10:00 Chicago from Monday 2026-01-05: eoc alice/bob/carol, tm dana/erik."""
    fields: dict[str, Any] = {
        "timezone": "America/Chicago",
        "handoff": {"weekday": "monday", "time": "10:00"},
        "shift": "1w",
        "start": "2026-01-05",
        "layers": {"eoc": ["alice", "bob", "carol"], "tm": ["dana", "erik"]},
    }
    fields.update(changes)
    return Rotation.model_validate(fields)


WEEKLY = make_rotation()
FIRST = utc(2026, 1, 5, 16)  # shift 0: Monday 10:00 CST
# Shift 8 spans the spring-forward change (2026-03-08), shift 42 the fall-back (2026-11-01).
SPRING = (utc(2026, 3, 2, 16), utc(2026, 3, 9, 15))
FALL = (utc(2026, 10, 26, 15), utc(2026, 11, 2, 16))
# Wednesday of shift 42 (alice holds eoc, dana tm).
MIDWEEK = local(2026, 10, 28, 12)


def plan(**changes: Any) -> RotationPlan:
    """The delivery plan with WEEKLY as its only version, then ``changes``."""
    return plan_from_config("delivery", WEEKLY).model_copy(update=changes)


def override(oid: str, person: str, start: datetime, end: datetime, **extra: Any) -> Override:
    """An eoc override created at the start of the year unless told otherwise."""
    fields: dict[str, Any] = {"by": "dana", "created_at": utc(2026, 1, 1), "layer": "eoc"}
    fields.update(extra)
    return Override(id=oid, person=person, start=start, end=end, **fields)


def swap(first: str, first_start: datetime, second: str, second_start: datetime) -> Swap:
    """An eoc swap made at the start of the year."""
    return Swap(
        id="s1",
        layer="eoc",
        first_person=first,
        first_start=first_start,
        second_person=second,
        second_start=second_start,
        by=first,
        created_at=utc(2026, 1, 1),
    )


def who(spans: list[ShiftSpan]) -> list[tuple[str | None, datetime, datetime]]:
    """Each span as (person, start, end)."""
    return [(s.person, s.start, s.end) for s in spans]


def holders(p: RotationPlan, at: datetime) -> dict[str, str | None]:
    """Who holds each layer at ``at``."""
    return {layer: span.person if span else None for layer, span in oncall_at(p, at).items()}


def shift_start(index: int) -> datetime:
    """The handoff that starts shift ``index`` of WEEKLY (Monday 10:00 local)."""
    day = datetime(2026, 1, 5, 10, tzinfo=CHICAGO)  # wall-clock arithmetic keeps 10:00
    return (day + timedelta(weeks=index)).astimezone(UTC)


class TestHandoffsAcrossDst:
    def test_spring_forward_shift(self) -> None:
        """The shift spanning 2026-03-08 runs 10:00 CST to 10:00 CDT: 167 hours."""
        bounds = shift_bounds(plan(), local(2026, 3, 8, 12))

        assert bounds == SPRING
        assert bounds[1] - bounds[0] == timedelta(hours=167)
        assert {b.astimezone(CHICAGO).time() for b in bounds} == {time(10)}

    def test_fall_back_shift(self) -> None:
        """The shift spanning 2026-11-01 runs 10:00 CDT to 10:00 CST: 169 hours."""
        bounds = shift_bounds(plan(), MIDWEEK)

        assert bounds == FALL
        assert bounds[1] - bounds[0] == timedelta(hours=169)

    def test_next_handoff_is_monday_ten_local(self) -> None:
        """Every handoff through the year is a Monday at 10:00 in Chicago."""
        at = FIRST
        for _ in range(52):
            at = next_handoff_after(plan(), at)
            assert at.astimezone(CHICAGO).weekday() == 0
            assert at.astimezone(CHICAGO).time() == time(10)

    def test_two_layers_across_spring(self) -> None:
        """Both layers hand over at the same instant on each side of the change."""
        spans = all_spans(plan(), SPRING[0], SPRING[1] + timedelta(hours=1))

        assert [(s.layer, s.person, s.start) for s in spans] == [
            ("eoc", "carol", SPRING[0]),
            ("tm", "dana", SPRING[0]),
            ("eoc", "alice", SPRING[1]),
            ("tm", "erik", SPRING[1]),
        ]

    def test_oncall_at_handoff_instant(self) -> None:
        """At the handoff instant the incoming people hold the layers."""
        assert holders(plan(), FALL[1]) == {"eoc": "bob", "tm": "erik"}
        assert holders(plan(), FALL[1] - timedelta(seconds=1)) == {"eoc": "alice", "tm": "dana"}

    def test_before_start(self) -> None:
        """Before shift 0 nobody holds anything and the next handoff is shift 0."""
        before = FIRST - timedelta(days=3)

        assert shift_bounds(plan(), before) is None
        assert oncall_at(plan(), before) == {"eoc": None, "tm": None}
        assert next_handoff_after(plan(), before) == FIRST


class TestOverride:
    COVER = override("o1", "bob", local(2026, 10, 28), local(2026, 10, 29))

    def test_day_in_the_middle_splits_in_three(self) -> None:
        """A day's cover splits alice's week into alice, bob (override), alice."""
        spans = layer_spans(plan(overrides=[self.COVER]), "eoc", *FALL)

        assert who(spans) == [
            ("alice", FALL[0], self.COVER.start),
            ("bob", self.COVER.start, self.COVER.end),
            ("alice", self.COVER.end, FALL[1]),
        ]
        assert [s.source for s in spans] == ["schedule", "override", "schedule"]
        assert spans[1].override_id == "o1"

    def test_oncall_inside_and_outside(self) -> None:
        """Inside the override bob holds eoc until it ends; outside alice does; tm is untouched."""
        p = plan(overrides=[self.COVER])

        inside = oncall_at(p, MIDWEEK)
        outside = oncall_at(p, local(2026, 10, 29, 9))

        assert inside["eoc"] is not None
        assert (inside["eoc"].person, inside["eoc"].end) == ("bob", self.COVER.end)
        assert inside["eoc"].source == "override"
        assert outside["eoc"] is not None
        assert (outside["eoc"].person, outside["eoc"].start) == ("alice", self.COVER.end)
        assert holders(p, MIDWEEK)["tm"] == "dana"

    def test_override_across_a_handoff_keeps_shift_bounds(self) -> None:
        """An override spanning a handoff gives one span per shift, both to the cover."""
        cover = override("o1", "carol", local(2026, 11, 1), local(2026, 11, 3))

        spans = layer_spans(plan(overrides=[cover]), "eoc", *FALL)

        assert who(spans) == [("alice", FALL[0], cover.start), ("carol", cover.start, FALL[1])]


class TestOverlappingOverrides:
    def test_most_recent_wins(self) -> None:
        """Where two overrides overlap the one created later holds the layer."""
        older = override("o1", "bob", local(2026, 10, 27), local(2026, 10, 29))
        newer = override(
            "o2", "carol", local(2026, 10, 28), local(2026, 10, 30), created_at=utc(2026, 2, 1)
        )

        spans = layer_spans(plan(overrides=[newer, older]), "eoc", *FALL)

        assert who(spans) == [
            ("alice", FALL[0], older.start),
            ("bob", older.start, newer.start),
            ("carol", newer.start, newer.end),
            ("alice", newer.end, FALL[1]),
        ]

    def test_older_created_later_wins(self) -> None:
        """Creation time decides, not position or start: the later-made override wins."""
        first = override(
            "o1", "bob", local(2026, 10, 27), local(2026, 10, 29), created_at=utc(2026, 3, 1)
        )
        second = override("o2", "carol", local(2026, 10, 28), local(2026, 10, 30))

        spans = layer_spans(plan(overrides=[first, second]), "eoc", *FALL)

        assert who(spans)[1:3] == [
            ("bob", first.start, first.end),
            ("carol", first.end, second.end),
        ]


class TestTakeCurrentShift:
    def test_take_from_now_to_shift_end(self) -> None:
        """Bob takes alice's shift from now: he holds eoc until the handoff, then the schedule."""
        bounds = shift_bounds(plan(), MIDWEEK)
        assert bounds is not None
        take = override("o1", "bob", MIDWEEK, bounds[1], created_at=MIDWEEK)
        p = plan(overrides=[take])

        now = oncall_at(p, MIDWEEK)["eoc"]
        assert now is not None
        assert (now.person, now.start, now.end) == ("bob", MIDWEEK, FALL[1])
        assert holders(p, MIDWEEK - timedelta(minutes=1))["eoc"] == "alice"
        next_week = oncall_at(p, FALL[1])["eoc"]
        assert next_week is not None
        assert (next_week.person, next_week.source) == ("bob", "schedule")
        assert holders(p, shift_start(44))["eoc"] == "carol"


class TestSwap:
    # Shift 45 is alice's, shift 46 bob's.
    SWAP = swap("alice", shift_start(45), "bob", shift_start(46))

    def test_both_shifts_exchanged(self) -> None:
        """During alice's shift bob is on call, during bob's alice; the next shift is untouched."""
        spans = layer_spans(plan(swaps=[self.SWAP]), "eoc", shift_start(45), shift_start(48))

        assert [(s.person, s.source) for s in spans] == [
            ("bob", "swap"),
            ("alice", "swap"),
            ("carol", "schedule"),
        ]

    def test_oncall_follows_swap(self) -> None:
        """oncall_at answers with the swap applied to eoc only."""
        p = plan(swaps=[self.SWAP])

        assert holders(p, shift_start(45) + timedelta(days=2)) == {"eoc": "bob", "tm": "erik"}
        assert holders(p, shift_start(46)) == {"eoc": "alice", "tm": "dana"}

    def test_override_applies_over_swap(self) -> None:
        """An override during a swapped shift still wins over the swapped holder."""
        cover = override("o1", "dana", shift_start(45), shift_start(45) + timedelta(days=1))
        p = plan(swaps=[self.SWAP], overrides=[cover])

        assert holders(p, shift_start(45))["eoc"] == "dana"
        assert holders(p, shift_start(45) + timedelta(days=2))["eoc"] == "bob"

    def test_swap_stops_applying_after_members_change(self) -> None:
        """A side whose shift no longer belongs to its person stops; the other side still applies."""
        changed = apply_config_change(
            plan(swaps=[self.SWAP]),
            make_rotation(layers={"eoc": ["alice", "carol", "bob"], "tm": ["dana", "erik"]}),
            MIDWEEK,
        )
        assert changed is not None

        # Shift 45 is still alice's (swap applies: bob); shift 46 is now carol's, not bob's.
        assert holders(changed, shift_start(45))["eoc"] == "bob"
        assert holders(changed, shift_start(46))["eoc"] == "carol"

    def test_swap_stops_applying_after_handoff_moves(self) -> None:
        """When handoffs move to 12:00, no shift starts at the swap's instants any more."""
        changed = apply_config_change(
            plan(swaps=[self.SWAP]),
            make_rotation(handoff={"weekday": "monday", "time": "12:00"}),
            MIDWEEK,
        )
        assert changed is not None

        spans = layer_spans(changed, "eoc", shift_start(45), shift_start(47))
        assert {s.source for s in spans} == {"schedule"}


class TestConfigChange:
    NEW_MEMBERS = make_rotation(layers={"eoc": ["erik", "alice", "bob"], "tm": ["dana", "erik"]})

    def test_applied_from_next_handoff(self) -> None:
        """A change mid-shift takes effect at the next handoff; the past and the running shift stay."""
        original = plan()
        changed = apply_config_change(original, self.NEW_MEMBERS, MIDWEEK)
        assert changed is not None

        assert [v.effective_from for v in changed.versions] == [None, FALL[1]]
        past = (FIRST, MIDWEEK)
        assert all_spans(changed, *past) == all_spans(original, *past)
        assert shift_bounds(changed, MIDWEEK) == FALL
        assert holders(changed, FALL[1] - timedelta(seconds=1)) == {"eoc": "alice", "tm": "dana"}
        # Shift 43 under the new members: 43 % 3 == 1.
        assert holders(changed, FALL[1]) == {"eoc": "alice", "tm": "erik"}
        assert version_at(changed, MIDWEEK) == WEEKLY
        assert version_at(changed, FALL[1]) == self.NEW_MEMBERS

    def test_change_at_handoff_instant_keeps_the_new_shift(self) -> None:
        """A change made exactly at a handoff leaves the shift that just started alone."""
        changed = apply_config_change(plan(), self.NEW_MEMBERS, FALL[0])

        assert changed is not None
        assert changed.versions[1].effective_from == FALL[1]

    def test_same_config_is_no_change(self) -> None:
        """Applying the config in effect returns None."""
        assert apply_config_change(plan(), WEEKLY, MIDWEEK) is None

    def test_handoff_time_change(self) -> None:
        """Moving the handoff to 12:00 keeps the 10:00 handoff in progress; noon rules after it."""
        noon = make_rotation(handoff={"weekday": "monday", "time": "12:00"})
        changed = apply_config_change(plan(), noon, MIDWEEK)
        assert changed is not None
        twelve = local(2026, 11, 2, 12).astimezone(UTC)

        assert shift_bounds(changed, MIDWEEK) == FALL
        # The first shift of the new version runs from the old handoff to the new one: under
        # the noon schedule the shift running at 10:00 is still alice's.
        assert shift_bounds(changed, FALL[1]) == (FALL[1], twelve)
        assert holders(changed, FALL[1])["eoc"] == "alice"
        assert holders(changed, twelve)["eoc"] == "bob"
        assert next_handoff_after(changed, FALL[1]) == twelve
        following = next_handoff_after(changed, twelve)
        assert following == local(2026, 11, 9, 12).astimezone(UTC)
        assert following.astimezone(CHICAGO).time() == time(12)

    def test_pending_change_replaced(self) -> None:
        """A second change before the handoff replaces the pending one."""
        first = apply_config_change(plan(), self.NEW_MEMBERS, MIDWEEK)
        assert first is not None
        third = make_rotation(layers={"eoc": ["carol"], "tm": ["erik"]})

        second = apply_config_change(first, third, MIDWEEK + timedelta(days=1))

        assert second is not None
        assert [(v.effective_from, v.spec) for v in second.versions] == [
            (None, WEEKLY),
            (FALL[1], third),
        ]
        assert apply_config_change(second, third, MIDWEEK + timedelta(days=2)) is None

    def test_reverting_drops_pending_change(self) -> None:
        """Changing back to the config in effect before the handoff cancels the pending version."""
        pending = apply_config_change(plan(), self.NEW_MEMBERS, MIDWEEK)
        assert pending is not None

        reverted = apply_config_change(pending, WEEKLY, MIDWEEK + timedelta(days=1))

        assert reverted is not None
        assert reverted.versions == plan().versions

    def test_not_started_is_replaced(self) -> None:
        """Before shift 0 the new config replaces the old one entirely."""
        later = make_rotation(start="2026-02-02")

        changed = apply_config_change(plan(), later, FIRST - timedelta(days=1))

        assert changed is not None
        assert [(v.effective_from, v.spec) for v in changed.versions] == [(None, later)]


class TestGaps:
    def test_before_start(self) -> None:
        """Every layer has a gap from the range start until shift 0."""
        gaps = layer_gaps(plan(), FIRST - timedelta(days=2), FIRST + timedelta(weeks=3))

        assert [(g.layer, g.start, g.end) for g in gaps] == [
            ("eoc", FIRST - timedelta(days=2), FIRST),
            ("tm", FIRST - timedelta(days=2), FIRST),
        ]

    def test_layer_missing_from_a_version(self) -> None:
        """A version without a layer leaves that layer with nobody, merged into one gap."""
        no_tm = make_rotation(layers={"eoc": ["alice", "bob", "carol"]})
        changed = apply_config_change(plan(), no_tm, MIDWEEK)
        assert changed is not None
        end = FALL[1] + timedelta(weeks=4)

        gaps = layer_gaps(changed, FALL[0], end)

        assert [(g.layer, g.start, g.end) for g in gaps] == [("tm", FALL[1], end)]
        assert holders(changed, FALL[1]) == {"eoc": "bob"}
        assert [s.person for s in layer_spans(changed, "tm", FALL[0], end)] == ["dana", None]

    def test_override_fills_a_gap(self) -> None:
        """An override before the rotation starts gives the layer a holder there."""
        cover = override("o1", "bob", FIRST - timedelta(days=1), FIRST)

        gaps = layer_gaps(plan(overrides=[cover]), FIRST - timedelta(days=2), FIRST)

        assert [(g.layer, g.end) for g in gaps] == [("eoc", cover.start), ("tm", FIRST)]
        assert holders(plan(overrides=[cover]), FIRST - timedelta(hours=1))["eoc"] == "bob"


class TestPrune:
    def test_keeps_answers_after_before(self) -> None:
        """Pruning drops old overrides, swaps and versions without changing any later answer."""
        old = override("o1", "bob", shift_start(2), shift_start(3))
        running = override("o2", "carol", shift_start(44), shift_start(46))
        old_swap = swap("alice", shift_start(3), "bob", shift_start(4))
        future_swap = swap("alice", shift_start(48), "bob", shift_start(49)).model_copy(
            update={"id": "s2"}
        )
        p = plan(overrides=[old, running], swaps=[old_swap, future_swap])
        p = apply_config_change(p, TestConfigChange.NEW_MEMBERS, local(2026, 3, 4)) or p
        noon = make_rotation(handoff={"weekday": "monday", "time": "12:00"})
        p = apply_config_change(p, noon, local(2026, 6, 3)) or p
        before = shift_start(45) + timedelta(days=1)

        pruned = prune(p, before)

        assert [o.id for o in pruned.overrides] == ["o2"]
        assert [s.id for s in pruned.swaps] == ["s2"]
        assert len(pruned.versions) == 1
        assert pruned.versions[0] == p.versions[-1]
        later = (before, before + timedelta(weeks=10))
        assert all_spans(pruned, *later) == all_spans(p, *later)
        for days in (0, 3, 20, 40):
            at = before + timedelta(days=days)
            assert oncall_at(pruned, at) == oncall_at(p, at)
            assert shift_bounds(pruned, at) == shift_bounds(p, at)
            assert next_handoff_after(pruned, at) == next_handoff_after(p, at)

    def test_keeps_swap_with_a_side_to_come(self) -> None:
        """A swap whose second shift has not ended yet is kept."""
        pending = swap("alice", shift_start(3), "bob", shift_start(10))

        pruned = prune(plan(swaps=[pending]), shift_start(6))

        assert pruned.swaps == [pending]


class TestCheckOverride:
    NOW = MIDWEEK

    def check(self, **changes: Any) -> None:
        """check_override on the plain plan with a valid request, then ``changes``."""
        args: dict[str, Any] = {
            "request_layer": "eoc",
            "person": "bob",
            "start": self.NOW,
            "end": self.NOW + timedelta(days=1),
            "now": self.NOW,
            "people": PEOPLE,
        }
        args.update(changes)
        check_override(plan(), **args)

    def test_valid(self) -> None:
        """A day's cover from now by a known person is accepted."""
        self.check()

    def test_unknown_layer(self) -> None:
        """A layer no version has is refused, listing the layers."""
        with pytest.raises(ValueError, match=r"unknown layer 'sre' \(layers: eoc, tm\)"):
            self.check(request_layer="sre")

    def test_unknown_person(self) -> None:
        """A person missing from the config is refused."""
        with pytest.raises(ValueError, match="unknown person 'zed'"):
            self.check(person="zed")

    def test_end_before_start(self) -> None:
        """An empty or reversed range is refused."""
        with pytest.raises(ValueError, match="must end after it starts"):
            self.check(end=self.NOW)

    def test_end_in_past(self) -> None:
        """An override that is over already is refused, with the end in local time."""
        with pytest.raises(ValueError, match=r"would end in the past \(Tue 2026-10-27 12:00 CDT\)"):
            self.check(start=self.NOW - timedelta(days=2), end=self.NOW - timedelta(days=1))

    def test_too_long(self) -> None:
        """More than 90 days is refused."""
        with pytest.raises(ValueError, match=r"at most 90 days \(this one lasts 91 days\)"):
            self.check(end=self.NOW + timedelta(days=91))


class TestCheckSwap:
    NOW = MIDWEEK

    def check(self, p: RotationPlan | None = None, **changes: Any) -> None:
        """check_swap of alice's shift 45 with bob's shift 46, then ``changes``."""
        args: dict[str, Any] = {
            "layer": "eoc",
            "first_person": "alice",
            "first_start": shift_start(45),
            "second_person": "bob",
            "second_start": shift_start(46),
            "now": self.NOW,
        }
        args.update(changes)
        check_swap(p or plan(), **args)

    def test_valid(self) -> None:
        """Two future shifts held by their people are accepted."""
        self.check()

    def test_unknown_layer(self) -> None:
        """A layer no version has is refused."""
        with pytest.raises(ValueError, match="unknown layer 'sre'"):
            self.check(layer="sre")

    def test_same_person(self) -> None:
        """A swap with oneself is refused."""
        with pytest.raises(ValueError, match="two different people"):
            self.check(second_person="alice", second_start=shift_start(48))

    def test_not_a_shift_start(self) -> None:
        """An instant that is not a handoff is refused, naming the next handoff."""
        with pytest.raises(
            ValueError,
            match=r"no eoc shift starts at Mon 2026-11-23 11:00 CST "
            r"\(the next handoff is Mon 2026-11-30 10:00 CST\)",
        ):
            self.check(first_start=shift_start(46) + timedelta(hours=1))

    def test_started_shift(self) -> None:
        """The running shift cannot be swapped (use an override to take it)."""
        with pytest.raises(
            ValueError, match="eoc shift starting Mon 2026-10-26 10:00 CDT has already started"
        ):
            self.check(first_start=FALL[0])

    def test_not_the_holder(self) -> None:
        """A person who does not hold the shift by schedule is refused, naming the holder."""
        with pytest.raises(
            ValueError, match=r"carol does not hold the eoc shift starting .* \(bob does\)"
        ):
            self.check(second_person="carol")

    def test_override_does_not_make_a_holder(self) -> None:
        """Holding a shift through an override is not holding it by schedule."""
        cover = override("o1", "carol", shift_start(46), shift_start(47))
        with pytest.raises(ValueError, match="carol does not hold"):
            self.check(plan(overrides=[cover]), second_person="carol")

    def test_already_swapped(self) -> None:
        """A shift that is part of another swap is refused until that swap is removed."""
        existing = swap("alice", shift_start(45), "carol", shift_start(47))
        with pytest.raises(ValueError, match=r"already part of swap s1 \(remove that swap first\)"):
            self.check(plan(swaps=[existing]))


class TestWarnings:
    def config(self, **people: dict[str, Any]) -> TocsinConfig:
        """A config with the weekly rotation whose people are ``people``."""
        everyone: dict[str, Any] = {pid: {"name": pid.title()} for pid in PEOPLE}
        everyone.update(people)
        return TocsinConfig.model_validate(
            {
                "people": everyone,
                "teams": {
                    "delivery": {
                        "members": list(PEOPLE),
                        "rotation": "delivery",
                        "escalation_policy": "delivery",
                    }
                },
                "rotations": {"delivery": WEEKLY.model_dump(mode="json")},
                "escalation_policies": {
                    "delivery": {
                        "steps": [{"targets": ["rotation:delivery/eoc"], "ack_timeout": "10m"}]
                    }
                },
            }
        )

    def test_clean(self) -> None:
        """Console contacts and a start on the handoff weekday give no warning."""
        assert rotation_warnings(self.config()) == []

    def test_unreachable_people(self) -> None:
        """Empty contact lists and email/slack without their detail are unreachable."""
        config = self.config(
            bob={"name": "Bob", "contact": []},
            dana={"name": "Dana", "contact": ["email", "slack"]},
            erik={"name": "Erik", "contact": ["email", "ntfy://ntfy.sh/erik"]},
        )

        assert rotation_warnings(config) == [
            "rotation delivery: bob (eoc) has no working contact method: the contact list is empty",
            "rotation delivery: dana (tm) has no working contact method: "
            "'email' needs people.dana.email, 'slack' needs people.dana.slack",
        ]

    def test_start_not_on_handoff_day(self) -> None:
        """A start date that is not the handoff weekday leaves a gap until the first handoff."""
        config = self.config().model_copy(
            update={"rotations": {"delivery": make_rotation(start="2026-01-01")}}
        )

        assert rotation_warnings(config) == [
            "rotation delivery: nobody is on call from its start date 2026-01-01 until its "
            "first handoff Mon 2026-01-05 10:00 CST (the start is not a monday)"
        ]
