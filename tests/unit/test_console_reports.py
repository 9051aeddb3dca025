"""The console's *Reports*: the incident log with MTTA/MTTR per severity and per service
(the same figures as ``/api/report``), and each rotation's recent on-call reports, read
from its shifts' workflows (faked here: no Temporal)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.sql_store import SqlStore
from activities.ports import Store
from starters.console.actions import TEMPORAL_DOWN
from starters.console.reports_view import recent_shifts
from tests.unit.test_console_schedules import Console, browse, example
from tests.unit.test_log_http import DownStore, incident
from workflows.ids import shift_workflow_id
from workflows.incident_models import IncidentStatus
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    ShiftNote,
    ShiftReport,
    TeamActivity,
)
from workflows.rotation_rules import plan_from_config

NOW = datetime.now(UTC)


@dataclass
class Described:
    status: WorkflowExecutionStatus | None


class Shifts:
    """Stands in for Temporal: shift workflows by id (finished ones with their report,
    running ones without); any other id is not found, and so is everything when ``down``
    is an RPC status."""

    def __init__(self) -> None:
        self.finished: dict[str, ShiftReport] = {}
        self.running: set[str] = set()
        self.down: RPCStatusCode | None = None
        self.described: list[str] = []

    def get_workflow_handle_for(self, run: Any, workflow_id: str, **_: Any) -> Any:
        shifts = self

        class Handle:
            async def describe(self, **_: Any) -> Described:
                shifts.described.append(workflow_id)
                if shifts.down is not None:
                    raise RPCError("unavailable", shifts.down, b"")
                if workflow_id in shifts.finished:
                    return Described(WorkflowExecutionStatus.COMPLETED)
                if workflow_id in shifts.running:
                    return Described(WorkflowExecutionStatus.RUNNING)
                raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")

            async def result(self, **_: Any) -> ShiftReport:
                return shifts.finished[workflow_id]

        return Handle()


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


@dataclass
class Reports:
    http: httpx.AsyncClient
    shifts: Shifts


async def open_reports(tmp_path: Path, store: Store | None) -> AsyncIterator[Reports]:
    shifts = Shifts()
    tocsin = Console(example(tmp_path), temporal=shifts)
    config = tocsin.config.current()
    plan = plan_from_config("delivery", config.rotations["delivery"])
    (running, _), (start, end) = recent_shifts(plan, NOW, 2)
    shifts.running.add(shift_workflow_id("delivery", running))
    shifts.finished[shift_workflow_id("delivery", start)] = ShiftReport(
        rotation="delivery",
        start=start,
        end=end,
        holders={"eoc": "alice", "tm": "dana"},
        notes=[ShiftNote(at=end - timedelta(hours=2), by="alice", text="gitserver-0 disk at 85%")],
        activity=TeamActivity(
            pages=[page_summary(1), page_summary(2, off_hours=True), page_summary(3, test=True)],
            incidents=[
                IncidentSummary(
                    id="INC-7",
                    title="git pushes fail",
                    severity="major",
                    status="resolved",
                    declared_at=start + timedelta(days=1),
                )
            ],
        ),
        test_page="test-delivery",
        test_page_acknowledged_by="alice",
        recovery_day=True,
    )
    async for http in browse(tmp_path, tocsin, store):
        yield Reports(http, shifts)


@pytest.fixture
async def reports(tmp_path: Path) -> AsyncIterator[Reports]:
    """Three incidents (2, 10 and 40 days old) in the log, and delivery's last shift
    finished with its report."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    await store.upsert_incident(incident(1, 40))
    await store.upsert_incident(
        incident(2, 10, severity="minor", service="database", resolution="false_positive")
    )
    await store.upsert_incident(
        incident(3, 2, status=IncidentStatus.active, resolved_at=None, resolution=None)
    )
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
    async def test_recent_reports_per_rotation(self, reports: Reports) -> None:
        """delivery's last shift shows its holders, page and incident counts (test pages
        left out), off-hours pages and notes; the running shift has no report yet; the
        other rotations' shifts are not known to Temporal."""
        html = (await reports.http.get("/reports")).text

        delivery = html.split('id="reports-delivery"', 1)[1].split("</section>", 1)[0]
        assert 'data-status="running"' in delivery
        ended = delivery.split('data-status="ended"', 1)[1]
        assert '<dd class="outgoing">eoc alice, tm dana</dd>' in ended
        assert '<dd class="pages">2 (1 off hours)</dd>' in ended
        assert '1: <a href="/incidents/INC-7">INC-7</a>' in ended
        assert "alice: gitserver-0 disk at 85%" in ended
        assert "acknowledged by alice" in ended
        assert "Recovery day" in ended
        ops = html.split('id="reports-ops"', 1)[1].split("</section>", 1)[0]
        assert "No shift of ops is known to Temporal." in ops
        # Six shifts looked up per rotation, newest first.
        wanted = [s for s in reports.shifts.described if s.startswith("shift-delivery-")]
        assert len(wanted) == 6

    async def test_temporal_down(self, reports: Reports) -> None:
        """Temporal not answering: each rotation says so, the incident log still shows."""
        reports.shifts.down = RPCStatusCode.UNAVAILABLE

        response = await reports.http.get("/reports")

        assert response.status_code == 200
        delivery = response.text.split('id="reports-delivery"', 1)[1].split("</section>", 1)[0]
        assert TEMPORAL_DOWN in delivery
        assert 'id="by-severity"' in response.text
