"""A page's pure rules for living long: when to continue as new, what it spills to the
archive, what the next run carries; and the alert, state and view rules it runs on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.archive_models import TimelineSlice
from workflows.models import (
    Alert,
    AlertQuery,
    NotificationRecord,
    PageCarry,
    PageInput,
    PageState,
    PageStatus,
    TimelineEntry,
)
from workflows.page_alerts import alert_notes, alert_verdict, merge_alerts
from workflows.page_carry import (
    CARRIED_AT_MOST,
    FIRING_WHOLE,
    HISTORY_BYTES_CAP,
    HISTORY_CAP,
    NOTIFIED_KEPT,
    RESOLVED_ALERTS_KEPT,
    TIMELINE_KEPT,
    Spill,
    carried_state,
    history_long,
    spill,
)
from workflows.page_rules import (
    acknowledge_refusal,
    escalate_refusal,
    mark_reopened,
    responder_refusal,
)
from workflows.page_views import alert_slice, bounded_view, render_details, timeline_slice

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def alert(n: int, status: str = "resolved", labels: int = 0) -> Alert:
    return Alert(
        fingerprint=f"fp{n:05d}",
        status=status,  # type: ignore[arg-type]
        summary=f"disk full on gitserver-{n}",
        labels={f"label{k}": f"value {k} of gitserver-{n}" for k in range(labels)},
        annotations={"runbook_url": "https://example.com/runbooks/disk-full"} if labels else {},
    )


def page(
    entries: int = 0, firing: int = 0, resolved: int = 0, notified: int = 0, **changes: object
) -> PageState:
    """A page holding ``entries`` timeline entries, ``resolved`` then ``firing`` alerts."""
    state = PageState(
        id="am-7f3a",
        workflow_id="page-am-7f3a",
        team="delivery",
        summary="DiskFull",
        created_at=T0,
        timeline=[
            TimelineEntry(at=T0 + timedelta(seconds=n), kind="alert", text=f"entry {n}")
            for n in range(entries)
        ],
        alerts=[alert(n) for n in range(resolved)]
        + [alert(resolved + n, "firing") for n in range(firing)],
        notified=[
            NotificationRecord(person=f"p{n}", step=1, method="console", at=T0, ok=True)
            for n in range(notified)
        ],
    )
    return state.model_copy(update=changes)


class TestHistoryLong:
    """A run continues as new past its limit, when Temporal suggests it, or past the caps."""

    @pytest.mark.parametrize(
        ("length", "size", "suggested", "limit", "long"),
        [
            (100, 10_000, False, 0, False),
            (100, 10_000, True, 0, True),
            (2_001, 10_000, False, 2_000, True),
            (1_999, 10_000, False, 2_000, False),
            (HISTORY_CAP + 1, 10_000, False, 0, True),
            (100, HISTORY_BYTES_CAP + 1, False, 0, True),
            (100, 10_000, True, 2_000, True),
        ],
    )
    def test_when(self, length: int, size: int, suggested: bool, limit: int, long: bool) -> None:
        assert history_long(length, size, suggested=suggested, limit=limit) is long


class TestSpill:
    """What goes to the archive: older timeline entries and older resolved alerts."""

    def test_a_small_page_spills_nothing(self) -> None:
        assert spill(page(entries=TIMELINE_KEPT, resolved=RESOLVED_ALERTS_KEPT)) == Spill()

    def test_timeline_beyond_the_newest_kept(self) -> None:
        """The oldest entries go, numbered after those archived by earlier runs."""
        state = page(entries=TIMELINE_KEPT + 30, timeline_archived=1_000)

        chosen = spill(state).timeline

        assert chosen is not None
        assert chosen.subject == "page-am-7f3a"
        assert chosen.start == 1_000
        assert chosen.entries == state.timeline[:30]

    def test_only_older_resolved_alerts(self) -> None:
        """Firing alerts stay whatever their number; the newest resolved ones stay too."""
        state = page(firing=500, resolved=RESOLVED_ALERTS_KEPT + 7, alerts_archived=40)

        chosen = spill(state).alerts

        assert chosen is not None
        assert chosen.start == 40
        assert chosen.alerts == state.alerts[:7]
        assert all(a.status == "resolved" for a in chosen.alerts)


class TestCarriedState:
    """The state a continued run starts from."""

    def test_without_what_was_archived(self) -> None:
        state = page(
            entries=TIMELINE_KEPT + 50,
            resolved=RESOLVED_ALERTS_KEPT + 10,
            firing=3,
            notified=NOTIFIED_KEPT + 5,
            timeline_archived=400,
            alerts_archived=20,
            continued=2,
        )
        done = spill(state)

        carried = carried_state(state, done)

        assert carried.timeline == state.timeline[50:]
        assert carried.timeline_archived == 450
        assert carried.alerts == state.alerts[10:]
        assert carried.alerts_archived == 30
        assert carried.notified == state.notified[5:]
        assert carried.notified_omitted == 5
        assert carried.continued == 3
        assert carried.timeline_dropped == carried.alerts_dropped == 0
        assert state.timeline_archived == 400, "the running state is left as it is"

    def test_what_arrived_while_the_archive_wrote_is_held(self) -> None:
        """Entries recorded since the spill was chosen stay; an alert that fired again
        since (a new object under the same fingerprint) stays, firing."""
        state = page(entries=TIMELINE_KEPT + 10, resolved=RESOLVED_ALERTS_KEPT + 2)
        done = spill(state)
        late = TimelineEntry(at=T0, kind="alert", text="late")
        state.timeline.append(late)
        merge_alerts(state.alerts, [alert(0, "firing")])

        carried = carried_state(state, done)

        assert carried.timeline[-1] == late
        assert len(carried.timeline) == TIMELINE_KEPT + 1
        assert [a.fingerprint for a in carried.alerts if a.status == "firing"] == ["fp00000"]
        assert "fp00001" not in {a.fingerprint for a in carried.alerts}
        assert carried.alerts_archived == 2

    def test_when_the_archive_failed_nothing_counts_as_archived(self) -> None:
        """Entries stay held up to a bound; beyond it the oldest are dropped and counted,
        and keep their numbers (the next spill continues after them)."""
        state = page(entries=CARRIED_AT_MOST + 25, resolved=CARRIED_AT_MOST + 3, firing=2)
        done = Spill(spill(state).timeline, spill(state).alerts, saved=False)

        carried = carried_state(state, done)

        assert carried.timeline == state.timeline[25:]
        assert carried.timeline_archived == carried.timeline_dropped == 25
        assert carried.alerts_archived == 0
        assert carried.alerts_dropped == 3
        assert len(carried.alerts) == CARRIED_AT_MOST + 2
        assert spill(carried).timeline is not None
        assert spill(carried).timeline.start == 25  # type: ignore[union-attr]

    def test_a_storm_of_firing_alerts_is_carried_slim_and_small(self) -> None:
        """Every firing alert is carried (they decide when the page resolves); past the
        first ones without labels, so the next run's input stays far below 2 MB."""
        state = page(firing=5_000)
        state.alerts = [alert(n, "firing", labels=6) for n in range(5_000)]

        carried = carried_state(state, spill(state))
        size = len(
            PageInput(
                key="k", team="t", summary="s", carried=PageCarry(state=carried)
            ).model_dump_json()
        )

        assert [a.fingerprint for a in carried.alerts] == [a.fingerprint for a in state.alerts]
        assert carried.alerts[FIRING_WHOLE - 1].labels
        assert not carried.alerts[FIRING_WHOLE].labels
        assert carried.alerts[FIRING_WHOLE].summary == state.alerts[FIRING_WHOLE].summary
        assert size < 1_500_000


class TestAlerts:
    """Merging by fingerprint and what it means for the page."""

    def test_merge_reports_joined_and_resolved(self) -> None:
        known = [alert(1, "firing"), alert(2)]
        index = {"fp00001": 0, "fp00002": 1}

        joined, resolved = merge_alerts(
            known, [alert(1), alert(2, "firing"), alert(3, "firing"), alert(4)], index
        )

        assert [a.fingerprint for a in joined] == ["fp00002", "fp00003"]
        assert [a.fingerprint for a in resolved] == ["fp00001"]
        assert [a.fingerprint for a in known] == ["fp00001", "fp00002", "fp00003", "fp00004"]
        assert index == {"fp00001": 0, "fp00002": 1, "fp00003": 2, "fp00004": 3}

    def test_notes(self) -> None:
        assert alert_notes([alert(1, "firing")], [alert(2)], 4) == [
            "Alert: disk full on gitserver-1 firing (4 firing)",
            "Alert: disk full on gitserver-2 resolved (4 firing)",
        ]

    def test_a_page_whose_alerts_are_all_archived_still_resolves(self) -> None:
        """Archived alerts are resolved ones: with none firing the page resolves."""
        assert alert_verdict(page(alerts_archived=12), 0) == "resolve"
        assert alert_verdict(page(), 0) is None
        assert alert_verdict(page(firing=1), 1) is None
        assert alert_verdict(page(firing=1, status=PageStatus.resolved), 1) == "reopen"


class TestRules:
    def test_reopen_keeps_the_acknowledgement(self) -> None:
        state = page(status=PageStatus.resolved, acknowledged_by="alice", resolved_by="am")

        text = mark_reopened(state, timedelta(minutes=5))

        assert state.status == PageStatus.acknowledged
        assert state.resolved_by is None
        assert state.flaps == 1
        assert (
            text
            == "Fired again within 5m of resolving (flap 1): reopened, still acknowledged by alice"
        )

    def test_refusals(self) -> None:
        """Responders are the team and everyone notified (carried across runs)."""
        open_page = page()
        assert responder_refusal(open_page, "erin", "resolve", {"alice"}) == (
            "'erin' may not resolve page am-7f3a: not a member of team delivery and not notified"
        )
        assert responder_refusal(open_page, "alice", "resolve", {"alice"}) is None
        acked = page(status=PageStatus.acknowledged, acknowledged_by="bob")
        assert acknowledge_refusal(acked, "alice", {"alice"}) == (
            "page am-7f3a is already acknowledged by bob"
        )
        assert escalate_refusal(open_page, "alice", {"alice"}, escalating=True) == (
            "page am-7f3a is already escalating"
        )


class TestViews:
    """What queries show of a page that continued as new."""

    def test_timeline_slice_numbers_entries_over_the_whole_timeline(self) -> None:
        state = page(entries=10, timeline_archived=100)

        before = timeline_slice(state, TimelineSlice(subject="page-am-7f3a", offset=95, limit=8))
        inside = timeline_slice(state, TimelineSlice(subject="page-am-7f3a", offset=104, limit=3))
        beyond = timeline_slice(state, TimelineSlice(subject="page-am-7f3a", offset=200))

        assert (before.total, before.archived, before.offset) == (110, 100, 100)
        assert before.entries == state.timeline[:3]
        assert inside.entries == state.timeline[4:7]
        assert beyond.entries == []
        assert (
            timeline_slice(state, TimelineSlice(subject="page-am-7f3a", offset=0, limit=50)).entries
            == []
        )

    def test_counts_include_the_archive(self) -> None:
        state = page(firing=2, resolved=3, alerts_archived=40)

        assert bounded_view(state).alerts_total == 45
        assert alert_slice(state, AlertQuery(offset=4)).model_dump() == {
            "total": 5,
            "alerts": [state.alerts[4].model_dump()],
            "archived": 40,
        }
        assert "**Alerts:** 2 firing, 43 resolved" in render_details(state)
        assert "**Alerts:** 7 firing" in render_details(state, firing=7)
