"""The page log and the alert-noise report: the entry a page writes, off hours, the SQLite
adapter, the report's rules and on-call load, ``GET /api/report/alerts`` and
``tocsin report alerts``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from starters.alert_report import alert_period
from starters.cli import app
from starters.noise_report import NoiseReport, noise_report, report_text, rule_noise, shift_load
from tests.unit.test_log_http import AUTH, incident, serve
from tests.unit.test_shift_reports import incident as summary
from tests.unit.test_shift_reports import shift_report
from worker.config import load_config
from workflows.incident_models import IncidentRecord
from workflows.models import Alert, PageState, PageStatus
from workflows.page_log import PageLogEntry, incident_of, is_off_hours, page_log_entry
from workflows.rotation_models import ShiftReport, TeamActivity

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
CONFIG = load_config(EXAMPLE)
MONDAY = datetime(2026, 11, 2, 16, tzinfo=UTC)  # 10:00 in Chicago, the delivery handoff
NOW = datetime.now(UTC).replace(microsecond=0)


def entry(rule: str = "Disk", minutes: float = 0, **changes: object) -> PageLogEntry:
    base = PageLogEntry(
        page_id=f"{rule}-{minutes}",
        opened_at=MONDAY + timedelta(hours=1, minutes=minutes),
        source="alertmanager",
        rule=rule,
        team="delivery",
    )
    return base.model_copy(update=changes)


def acked(rule: str, minutes: float, after: float, **changes: object) -> PageLogEntry:
    found = entry(rule, minutes, acked_by="bob", **changes)
    return found.model_copy(update={"acked_at": found.opened_at + timedelta(minutes=after)})


class TestEntry:
    def state(self, **changes: object) -> PageState:
        base = PageState(
            id="p1", workflow_id="page-p1", team="delivery", summary="disk", created_at=MONDAY
        )
        return base.model_copy(update=changes)

    def test_rule_is_alertname_then_watch_then_summary(self) -> None:
        """The alertname of its alerts, else the heartbeat or check, else the summary."""
        named = Alert(fingerprint="a", status="firing", summary="s", labels={"alertname": "Disk"})
        beat = Alert(fingerprint="b", status="firing", summary="s", labels={"heartbeat": "cron"})
        assert page_log_entry(self.state(alerts=[named])).rule == "Disk"
        assert page_log_entry(self.state(alerts=[beat])).rule == "cron"
        assert page_log_entry(self.state(source="events:datadog")).rule == "disk"
        assert page_log_entry(self.state(source="events:datadog")).source == "events"

    def test_resolved_by_its_source_unacknowledged(self) -> None:
        """Auto-resolved unacked only when the source resolved it and nobody acknowledged."""
        done = {"status": PageStatus.resolved, "resolved_at": MONDAY, "source": "alertmanager"}
        auto = page_log_entry(self.state(resolved_by="alertmanager", **done))
        by_hand = page_log_entry(self.state(resolved_by="bob", **done))
        after_ack = page_log_entry(
            self.state(resolved_by="alertmanager", acknowledged_by="bob", **done)
        )
        assert (auto.auto_resolved_unacked, by_hand.auto_resolved_unacked) == (True, False)
        assert not after_ack.auto_resolved_unacked

    def test_incident_of_its_opener(self) -> None:
        assert incident_of("incident-INC-7") == "INC-7"
        assert incident_of("shift-delivery-20261102T1600Z") is None


class TestOffHours:
    def test_default_hours_in_the_rotations_zone(self) -> None:
        """No working hours configured: Mon-Fri 09:00-18:00 in the rotation's zone."""
        assert not is_off_hours(CONFIG, "delivery", MONDAY)  # 10:00 Chicago
        assert is_off_hours(CONFIG, "delivery", MONDAY + timedelta(hours=9))  # 19:00
        assert is_off_hours(CONFIG, "delivery", MONDAY - timedelta(days=2))  # Saturday
        # 10:00 Chicago is 17:00 in Berlin: still ops' working day, 19:00 Chicago is not.
        assert not is_off_hours(CONFIG, "ops", MONDAY)
        assert is_off_hours(CONFIG, "ops", MONDAY + timedelta(hours=9))


class TestRules:
    def test_half_auto_resolved_over_five_pages_is_marked(self) -> None:
        """≥ 50 % auto-resolved unacked over ≥ 5 pages: disable or fix; 4 pages are not."""
        pages = [entry("Disk", i, auto_resolved_unacked=i < 3) for i in range(5)]
        assert rule_noise("Disk", pages).marks == ["disable-or-fix"]
        assert rule_noise("Disk", pages[1:]).marks == []

    def test_three_flaps_per_page_is_flapping(self) -> None:
        assert rule_noise("Lat", [entry("Lat", 0, flaps=3)]).marks == ["flapping"]
        assert rule_noise("Lat", [entry("Lat", 0, flaps=2)]).marks == []

    def test_slow_off_hours_acks_suggest_low_urgency(self) -> None:
        """Three high-urgency off-hours pages acked after a median over 30 minutes."""
        slow = [acked("Backup", i, 45, off_hours=True) for i in range(3)]
        assert rule_noise("Backup", slow).marks == ["low-urgency"]
        low = [p.model_copy(update={"urgency": "low"}) for p in slow]
        assert rule_noise("Backup", low).marks == []
        assert rule_noise("Backup", slow).median_ack_seconds == 45 * 60

    def test_noisiest_first(self) -> None:
        """Unacked pages, flaps and unacked off-hours pages again; silenced ones do not count."""
        pages = [
            acked("Healthy", 0, 2),
            entry("Noisy", 1, off_hours=True),
            entry("Noisy", 2),
            entry("Quiet", 3, silenced=True),
        ]
        found = noise_report(pages, MONDAY, MONDAY + timedelta(days=1), CONFIG)
        assert [(r.rule, r.noise) for r in found.rules] == [
            ("Noisy", 3),
            ("Healthy", 0),
            ("Quiet", 0),
        ]
        assert found.rules[2].silenced == 1

    def test_handoff_test_pages_are_no_rule(self) -> None:
        """Tocsin's own test page at each handoff is not an alert rule to fix: it stays out
        of the rules, is counted apart, and still counts in the on-call load."""
        test = entry("Test page for your delivery shift", 0, source="handoff")
        found = noise_report([test, entry("Disk", 1)], MONDAY, MONDAY + timedelta(days=1), CONFIG)
        assert [r.rule for r in found.rules] == ["Disk"]
        assert (found.pages, found.test_pages) == (2, 1)
        assert sum(s.pages for s in found.load) == 2
        assert "(and 1 handoff test page: not an alert rule" in report_text(found)


class TestLoad:
    def test_kept_report_then_the_plan(self) -> None:
        """A page in a kept shift goes to whoever of it acknowledged, else the first layer;
        outside kept shifts the rotation's plan decides; silenced pages to nobody."""
        kept = shift_report("delivery", 0, {"eoc": "alice", "tm": "dana"})
        pages = [
            entry("A", 0),
            acked("B", 5, 1).model_copy(update={"acked_by": "dana", "off_hours": True}),
            entry("C", 10, silenced=True),
            entry("D", 0).model_copy(update={"opened_at": MONDAY + timedelta(weeks=2)}),
        ]
        load, unattributed, _ = shift_load(pages, [kept], CONFIG)
        assert [
            (s.person, s.pages, s.off_hours_pages, s.incidents, s.from_report) for s in load
        ] == [
            ("alice", 1, 0, [], True),
            ("dana", 1, 1, [], True),
            # the plan: alice, bob, carol weekly from 2026-01-05; 45 weeks on: alice
            ("alice", 1, 0, [], False),
        ]
        assert unattributed == 0


def logged(number: int, at: datetime, **changes: object) -> IncidentRecord:
    """An incident of delivery as the incident log keeps it, led by bob."""
    return incident(number, 0, declared_at=at, lead="bob").model_copy(update=changes)


class TestIncidents:
    """Each person's incidents per shift, by the on-call reports' rule."""

    def load(
        self,
        incidents: list[IncidentRecord],
        reports: list[ShiftReport] | None = None,
        pages: list[PageLogEntry] | None = None,
    ) -> NoiseReport:
        return noise_report(
            pages or [], MONDAY, MONDAY + timedelta(weeks=4), CONFIG, reports, incidents=incidents
        )

    def test_a_kept_shift_counts_everyone_who_worked_it(self) -> None:
        """In a kept shift the report's ``worked_by`` decides, not the log's lead: dana,
        who had no page, and alice, who had one, each worked INC-7."""
        activity = TeamActivity(incidents=[summary(7, "alice", "dana")])
        kept = shift_report("delivery", 0, {"eoc": "alice", "tm": "dana"}, activity)
        at = MONDAY + timedelta(days=2)
        found = self.load([logged(7, at)], [kept], [entry("Disk", 0)])
        assert [(s.person, s.pages, s.incidents, s.from_report) for s in found.load] == [
            ("alice", 1, ["INC-7"], True),
            ("dana", 0, ["INC-7"], True),
        ]
        assert (found.incidents, found.unattributed_incidents) == (1, 0)

    def test_a_kept_shift_missing_an_incident_counts_its_lead(self) -> None:
        """A logged incident the shift's report does not list counts for its lead there;
        one the report lists that the log lacks counts too."""
        activity = TeamActivity(incidents=[summary(8, "dana")])
        kept = shift_report("delivery", 0, {"eoc": "alice", "tm": "dana"}, activity)
        found = self.load([logged(7, MONDAY + timedelta(days=1))], [kept])
        assert [(s.person, s.incidents) for s in found.load] == [
            ("bob", ["INC-7"]),
            ("dana", ["INC-8"]),
        ]
        assert found.incidents == 2

    def test_outside_kept_shifts_the_lead_in_the_planned_shift(self) -> None:
        """No kept report: the lead, in the shift of the plan: bob holds eoc the first week
        (his shift, beside his page), not the second (the shift then, his own row)."""
        week_one = logged(1, MONDAY + timedelta(hours=3))
        week_two = logged(2, MONDAY + timedelta(weeks=1, hours=3))
        found = self.load([week_one, week_two], pages=[entry("Disk", 0)])
        assert [(s.person, s.start, s.pages, s.incidents, s.from_report) for s in found.load] == [
            ("bob", MONDAY, 1, ["INC-1"], False),
            ("bob", MONDAY + timedelta(weeks=1), 0, ["INC-2"], False),
        ]

    def test_nobody_led_it_or_no_rotation(self) -> None:
        """An incident nobody took the lead of, or of a team without a rotation, counts
        for nobody and is said to; one declared outside the period is not counted."""
        at = MONDAY + timedelta(days=1)
        found = self.load(
            [
                logged(1, at, lead=None),
                logged(2, at, team="security"),
                logged(3, MONDAY - timedelta(days=1)),
            ]
        )
        assert found.load == []
        assert (found.incidents, found.unattributed_incidents) == (2, 2)
        text = report_text(found)
        assert "2 incident(s) nobody worked in a shift" in text
        assert "nobody was paged or worked an incident" in text

    def test_a_role_page_counts_for_whoever_answered_it(self) -> None:
        """A page opened for an incident's role: the incident counts for who acknowledged
        it, not for the first layer it woke unanswered."""
        pages = [
            acked("Lead", 0, 2, incident_id="INC-4").model_copy(update={"acked_by": "dana"}),
            entry("Lead", 5, incident_id="INC-5"),
        ]
        found = self.load([], pages=pages)
        assert [(s.person, s.pages, s.incidents) for s in found.load] == [
            ("bob", 1, []),  # eoc of the planned shift
            ("dana", 1, ["INC-4"]),
        ]

    def test_text_counts_them(self) -> None:
        activity = TeamActivity(incidents=[summary(7, "dana")])
        kept = shift_report("delivery", 0, {"eoc": "alice", "tm": "dana"}, activity)
        text = report_text(self.load([], [kept], [entry("Disk", 0)]))
        assert ": 1 page, 1 incident\n" in text
        assert "1 page, 0 off hours, 0 incidents" in text
        assert "0 pages, 0 off hours, 1 incident (INC-7)" in text


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    found = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    yield found
    await found.close()


class TestSqlPageLog:
    async def test_upsert_keeps_the_newest_write_and_the_opening(self, store: SqlStore) -> None:
        """One row per opening: a newer version updates it (rule and source stay as
        opened), an older or repeated write changes nothing, another opening is a row."""
        log = SqlPageLog(store)
        first = entry("Disk", 0, version=2)
        await log.record_page(first)
        await log.record_page(first.model_copy(update={"version": 5, "acked_by": "bob"}))
        await log.record_page(first.model_copy(update={"version": 3, "acked_by": None}))
        await log.record_page(
            first.model_copy(update={"version": 5, "acked_by": "bob", "rule": "summary"})
        )
        later = first.model_copy(update={"opened_at": first.opened_at + timedelta(days=1)})
        await log.record_page(later)
        rows = await log.list_pages(MONDAY, MONDAY + timedelta(days=3))
        assert [(r.opened_at, r.rule, r.acked_by, r.version) for r in rows] == [
            (first.opened_at, "Disk", "bob", 5),
            (later.opened_at, "Disk", None, 2),
        ]
        assert await log.list_pages(MONDAY, first.opened_at) == []


class TestPeriod:
    def test_bad_ranges_say_what_is_wrong(self) -> None:
        with pytest.raises(ValueError, match=r"^from: .* is not before to"):
            alert_period("1d", "3d", None, NOW)
        with pytest.raises(ValueError, match=r"^days: give either"):
            alert_period("3d", None, 2, NOW)
        with pytest.raises(ValueError, match=r"^days: between 1 and 366"):
            alert_period(None, None, 0, NOW)
        with pytest.raises(ValueError, match=r"^to: "):
            alert_period(None, "yesterday", None, NOW)
        assert alert_period(None, None, 7, NOW) == (NOW - timedelta(days=7), NOW)


class TestFrontDoors:
    async def test_route_reports_and_refuses_bad_ranges(
        self, tmp_path: Path, store: SqlStore
    ) -> None:
        """200 with the rules noisiest first and the incident log's incident in its lead's
        load; 422 naming the parameter; 401 without a token."""
        log = SqlPageLog(store)
        for i in range(5):
            await log.record_page(
                entry("Disk", i, auto_resolved_unacked=True, opened_at=NOW - timedelta(hours=i + 1))
            )
        await store.upsert_incident(incident(9, 0.5, lead="carol"))
        async for api in serve(tmp_path, store):
            response = await api.get("/api/report/alerts", params={"days": "2"}, headers=AUTH)
            assert response.status_code == 200, response.text
            body = response.json()
            assert [(r["rule"], r["pages"], r["marks"]) for r in body["rules"]] == [
                ("Disk", 5, ["disable-or-fix"])
            ]
            assert body["incidents"] == 1
            assert [(s["person"], s["incidents"]) for s in body["load"] if s["incidents"]] == [
                ("carol", ["INC-9"])
            ]
            bad = await api.get(
                "/api/report/alerts", params={"from": "1d", "to": "2d"}, headers=AUTH
            )
            assert bad.status_code == 422
            assert "from:" in bad.text
            assert (await api.get("/api/report/alerts")).status_code == 401

    def test_cli_prints_the_report(self, tmp_path: Path) -> None:
        """``tocsin report alerts --json`` over the database; a bad --from exits 2."""
        url = f"sqlite:///{tmp_path / 'tocsin.db'}"

        async def write() -> None:
            store = SqlStore(url)
            await SqlPageLog(store).record_page(
                entry("Disk", 0, opened_at=NOW - timedelta(hours=1))
            )
            await store.upsert_incident(incident(9, 0.5, lead="carol"))
            await store.close()

        asyncio.run(write())
        runner = CliRunner(env={"TOCSIN_DATABASE_URL": url, "TOCSIN_CONFIG": str(EXAMPLE)})
        result = runner.invoke(app, ["report", "alerts", "--days", "1", "--json"])
        assert result.exit_code == 0, result.output
        assert [r["rule"] for r in json.loads(result.stdout)["rules"]] == ["Disk"]
        text = runner.invoke(app, ["report", "alerts", "--days", "1"])
        assert "Disk" in text.stdout
        assert "On-call load" in text.stdout
        assert "1 incident (INC-9)" in text.stdout
        bad = runner.invoke(app, ["report", "alerts", "--from", "soon"])
        assert bad.exit_code == 2
        assert "--from" in bad.stderr
