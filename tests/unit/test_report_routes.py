"""``GET /api/reports`` and ``GET /api/reports/{id}`` through ASGI transport, over a SQLite
store holding three kept on-call reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest

from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from activities.ports import Store
from tests.unit.test_log_http import AUTH, DownStore, serve
from tests.unit.test_shift_reports import T0, incident, page, shift_report
from workflows.rotation_models import ReportQuery, ShiftReport, TeamActivity

BUSY = TeamActivity(pages=[page(1, off_hours=True), page(2)], incidents=[incident(7, "dana")])
REPORTS = (
    shift_report("delivery", 0, {"eoc": "alice", "tm": "dana"}),
    shift_report("ops", 0, {"eoc": "carol", "tm": None}),
    shift_report("delivery", 1, {"eoc": "bob", "tm": "dana"}, BUSY),
)


class DownReports(DownStore):
    """A store whose database is down, reports included."""

    async def keep_shift_report(self, report: ShiftReport) -> None:
        raise Unavailable("shift reports (keep): connection refused")

    async def list_shift_reports(self, query: ReportQuery) -> list[ShiftReport]:
        raise Unavailable("shift reports (list): connection refused")

    async def get_shift_report(self, report_id: str) -> ShiftReport | None:
        raise Unavailable("shift reports (read): connection refused")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    for report in REPORTS:
        await store.keep_shift_report(report)
    async for client in serve(tmp_path, store):
        yield client


class TestList:
    async def test_newest_first_with_counts(self, api: httpx.AsyncClient) -> None:
        """Every kept report, newest shift first, with what happened in counts and the
        recovery days with their reasons."""
        response = await api.get("/api/reports", headers=AUTH)

        assert response.status_code == 200
        body = response.json()
        assert [r["id"] for r in body] == [REPORTS[2].id, REPORTS[1].id, REPORTS[0].id]
        busy = body[0]
        assert busy["rotation"] == "delivery"
        assert busy["holders"] == {"eoc": "bob", "tm": "dana"}
        assert (busy["pages"], busy["off_hours_pages"], busy["incidents"]) == (2, 1, ["INC-7"])
        assert busy["recovery"] == [
            {"person": "alice", "off_hours_pages": ["p1"], "incidents": []},
            {"person": "dana", "off_hours_pages": [], "incidents": ["INC-7"]},
        ]
        assert busy["start"] == (T0 + timedelta(weeks=1)).isoformat().replace("+00:00", "Z")

    async def test_filters(self, api: httpx.AsyncClient) -> None:
        """rotation, person (on call or given a recovery day), since and limit."""

        async def ids(**params: str) -> list[str]:
            response = await api.get("/api/reports", params=params, headers=AUTH)
            assert response.status_code == 200, response.text
            return [r["id"] for r in response.json()]

        assert await ids(rotation="ops") == [REPORTS[1].id]
        assert await ids(person="dana") == [REPORTS[2].id, REPORTS[0].id]
        assert await ids(person="alice") == [REPORTS[2].id, REPORTS[0].id]
        assert await ids(rotation="gone") == []
        since = (T0 + timedelta(weeks=1, days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert await ids(since=since) == [REPORTS[2].id]
        assert await ids(limit="1") == [REPORTS[2].id]

    @pytest.mark.parametrize(
        ("params", "says"),
        [
            ({"since": "last tuesday"}, "since:"),
            ({"limit": "0"}, "limit"),
            ({"limit": "501"}, "limit"),
            ({"rotation": "x" * 65}, "rotation"),
        ],
    )
    async def test_bad_query(
        self, api: httpx.AsyncClient, params: dict[str, str], says: str
    ) -> None:
        """A query that cannot be answered is a 422 saying which parameter."""
        response = await api.get("/api/reports", params=params, headers=AUTH)

        assert response.status_code == 422
        assert says in response.text

    async def test_needs_the_token(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/reports")).status_code == 401
        assert (await api.get(f"/api/reports/{REPORTS[0].id}")).status_code == 401


class TestOne:
    async def test_whole_report(self, api: httpx.AsyncClient) -> None:
        """One report, whole: pages, incidents, recovery days and the text as posted."""
        response = await api.get(f"/api/reports/{REPORTS[2].id}", headers=AUTH)

        assert response.status_code == 200
        assert ShiftReport.model_validate(response.json()) == REPORTS[2]
        assert "Recovery: dana, take a recovery day — incident INC-7" in response.json()["text"]

    async def test_unknown(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/reports/shift-delivery-20200106T1600Z", headers=AUTH)

        assert response.status_code == 404
        assert response.json()["detail"] == "no on-call report 'shift-delivery-20200106T1600Z'"


class TestWithoutStore:
    async def test_no_store(self, tmp_path: Path) -> None:
        """A process without a store says reports are not kept here (503, not a 500)."""
        async for api in serve(tmp_path, None):
            listed = await api.get("/api/reports", headers=AUTH)
            one = await api.get(f"/api/reports/{REPORTS[0].id}", headers=AUTH)

            assert (listed.status_code, one.status_code) == (503, 503)
            assert "not kept" in listed.json()["detail"]

    async def test_store_down(self, tmp_path: Path) -> None:
        async for api in serve(tmp_path, cast(Store, DownReports())):
            listed = await api.get("/api/reports", headers=AUTH)
            one = await api.get(f"/api/reports/{REPORTS[0].id}", headers=AUTH)

            assert (listed.status_code, one.status_code) == (503, 503)
            assert listed.json()["detail"] == "the report store is unavailable, try again"
