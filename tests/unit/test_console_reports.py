"""The console's *Reports*: the incident log with MTTA/MTTR per severity and per service
(the same figures as ``/api/report``), each rotation's newest kept on-call reports, and
one report to read (the store is SQLite here; Temporal is never asked)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest

from activities.adapters.sql_store import SqlStore
from activities.ports import Store
from starters.http.reports import NOT_KEPT
from tests.unit.test_console_schedules import Console, browse, example
from tests.unit.test_log_http import DownStore, incident
from tests.unit.test_report_routes import DownReports
from workflows.incident_models import IncidentStatus
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    ShiftNote,
    ShiftReport,
    TeamActivity,
)
from workflows.shift_report import recovery_days, report_text

NOW = datetime.now(UTC)
START = NOW - timedelta(days=9)


def page_summary(number: int, *, off_hours: bool = False, test: bool = False) -> PageSummary:
    return PageSummary(
        id=f"p{number}",
        summary=f"page {number}",
        created_at=NOW - timedelta(days=8),
        status="resolved",
        acknowledged_by="alice",
        acknowledged_at=NOW - timedelta(days=8) + timedelta(minutes=2),
        off_hours=off_hours,
        test=test,
    )


def delivery_report() -> ShiftReport:
    """delivery's last shift: two pages (one off hours) and a test page, an incident dana
    worked, a note; kept as the shift workflow keeps it."""
    activity = TeamActivity(
        pages=[page_summary(1), page_summary(2, off_hours=True), page_summary(3, test=True)],
        incidents=[
            IncidentSummary(
                id="INC-7",
                title="git pushes fail",
                severity="major",
                status="resolved",
                declared_at=START + timedelta(days=1),
                worked_by=["dana"],
            )
        ],
    )
    holders: dict[str, str | None] = {"eoc": "alice", "tm": "dana"}
    report = ShiftReport(
        id=f"shift-delivery-{START:%Y%m%dT%H%MZ}",
        rotation="delivery",
        team="delivery",
        timezone="America/Chicago",
        start=START,
        end=START + timedelta(days=7),
        holders=holders,
        notes=[ShiftNote(at=START + timedelta(days=6), by="alice", text="gitserver-0 disk at 85%")],
        activity=activity,
        test_page="test-delivery",
        test_page_acknowledged_by="alice",
        recovery=recovery_days(activity, holders),
    )
    report.recovery_day = True
    report.text = report_text(report, "America/Chicago")
    return report


@dataclass
class Reports:
    http: httpx.AsyncClient
    report: ShiftReport


async def open_reports(tmp_path: Path, store: Store | None) -> AsyncIterator[Reports]:
    async for http in browse(tmp_path, Console(example(tmp_path)), store):
        yield Reports(http, delivery_report())


@pytest.fixture
async def reports(tmp_path: Path) -> AsyncIterator[Reports]:
    """Three incidents (2, 10 and 40 days old) in the log, and delivery's last shift's
    report kept."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    await store.upsert_incident(incident(1, 40))
    await store.upsert_incident(
        incident(2, 10, severity="minor", service="database", resolution="false_positive")
    )
    await store.upsert_incident(
        incident(3, 2, status=IncidentStatus.active, resolved_at=None, resolution=None)
    )
    await store.keep_shift_report(delivery_report())
    async for found in open_reports(tmp_path, store):
        yield found


def cell(html: str, table: str, key: str) -> str:
    """The row of ``key`` in the table with id ``table``."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    found = re.search(rf'<tr data-key="{re.escape(key)}">.*?</tr>', body, re.DOTALL)
    assert found is not None, body
    return found[0]


class TestIncidentLog:
    async def test_mtta_and_mttr_per_severity_and_service(self, reports: Reports) -> None:
        """The last 30 days: two incidents, acknowledged after 3 minutes; only the
        critical one is repaired (the false positive is left out of MTTR), and it is not
        resolved yet."""
        response = await reports.http.get("/reports")

        assert response.status_code == 200
        html = response.text
        assert '<option value="30d" selected>' in html
        critical = cell(html, "by-severity", "critical")
        assert '<td class="mtta">3m00s</td>' in critical
        assert '<td class="mttr">-</td>' in critical
        minor = cell(html, "by-severity", "minor")
        assert "<td>1</td><td>1</td>" in minor  # one incident, one false positive
        assert '<td class="mtta">3m00s</td>' in cell(html, "by-service", "database")
        assert 'id="log-INC-3"' in html
        assert 'id="log-INC-2"' in html
        assert 'id="log-INC-1"' not in html  # 40 days old
        assert "2 (1 false positive)" in html

    async def test_a_longer_period(self, reports: Reports) -> None:
        """90 days takes in the 40-day-old incident, resolved after 45 minutes."""
        html = (await reports.http.get("/reports?period=90d")).text

        assert 'id="log-INC-1"' in html
        assert '<td class="mttr">45m00s</td>' in cell(html, "by-severity", "critical")
        row = html.split('id="log-INC-1"', 1)[1].split("</tr>", 1)[0]
        assert '<td class="tta">3m00s</td>' in row
        assert '<td class="ttr">45m00s</td>' in row

    async def test_no_incident_log(self, tmp_path: Path) -> None:
        """Without a store the page says so, and still shows the on-call reports."""
        async for found in open_reports(tmp_path, None):
            response = await found.http.get("/reports")

            assert response.status_code == 200
            assert 'id="log-error"' in response.text
            assert "not configured" in response.text
            assert 'id="reports-delivery"' in response.text

    async def test_incident_log_down(self, tmp_path: Path) -> None:
        async for found in open_reports(tmp_path, cast(Store, DownStore())):
            response = await found.http.get("/reports")

            assert response.status_code == 200
            assert "the incident log is unavailable, try again" in response.text


class TestOnCallReports:
    async def test_newest_reports_per_rotation(self, reports: Reports) -> None:
        """delivery's kept report shows its holders, page and incident counts (test pages
        left out), the test page and who gets a recovery day, and links to the whole
        report; a rotation without a kept report says so."""
        html = (await reports.http.get("/reports")).text

        delivery = html.split('id="reports-delivery"', 1)[1].split("</section>", 1)[0]
        kept = delivery.split(f'id="report-{reports.report.id}"', 1)[1]
        assert f'href="/reports/{reports.report.id}"' in kept
        assert '<dd class="outgoing">eoc alice, tm dana</dd>' in kept
        assert '<dd class="pages">2 (1 off hours)</dd>' in kept
        assert '1: <a href="/incidents/INC-7">INC-7</a>' in kept
        assert "acknowledged by alice" in kept
        assert '<dd class="recovery">alice, dana</dd>' in kept
        ops = html.split('id="reports-ops"', 1)[1].split("</section>", 1)[0]
        assert "No report of ops is kept yet" in ops

    async def test_read_one(self, reports: Reports) -> None:
        """A report's page: its facts, each recovery day with the page or incident behind
        it, the notes, and the text as it was posted (in the rotation's zone)."""
        response = await reports.http.get(f"/reports/{reports.report.id}")

        assert response.status_code == 200
        html = response.text
        assert '<dd class="pages">2 (1 off hours)</dd>' in html
        recovery = html.split('id="recovery"', 1)[1].split("</ul>", 1)[0]
        assert '<a href="/pages/p2">p2</a>' in recovery.split('data-person="alice"', 1)[1]
        assert '<a href="/incidents/INC-7">INC-7</a>' in recovery.split('data-person="dana"', 1)[1]
        assert "alice: gitserver-0 disk at 85%" in html
        text = html.split('id="report-text">', 1)[1].split("</pre>", 1)[0]
        assert text.startswith("On-call report for `delivery`: ")
        assert "Recovery: dana, take a recovery day — incident INC-7 (git pushes fail)." in text
        assert re.search(r"\d\d:\d\d C[SD]T", text)

    async def test_unknown_report(self, reports: Reports) -> None:
        response = await reports.http.get("/reports/shift-delivery-20200106T1600Z")

        assert response.status_code == 404
        assert (
            "There is no on-call report &#39;shift-delivery-20200106T1600Z&#39;." in response.text
        )

    async def test_without_a_store(self, tmp_path: Path) -> None:
        """Without a store each rotation says reports are not kept; a report cannot be read."""
        async for found in open_reports(tmp_path, None):
            html = (await found.http.get("/reports")).text
            one = await found.http.get(f"/reports/{found.report.id}")

            delivery = html.split('id="reports-delivery"', 1)[1].split("</section>", 1)[0]
            assert NOT_KEPT in delivery
            assert one.status_code == 503

    async def test_store_down(self, tmp_path: Path) -> None:
        """The store down: each rotation says so, and the page still shows."""
        async for found in open_reports(tmp_path, cast(Store, DownReports())):
            response = await found.http.get("/reports")

            assert response.status_code == 200
            delivery = response.text.split('id="reports-delivery"', 1)[1].split("</section>", 1)[0]
            assert "the report store is unavailable, try again" in delivery
