"""The console's *Reports*, *Alert noise*: the alert-noise report of the period the form asks
for, read from the page log and the incident log in SQLite (Temporal is never asked)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from activities.ports import Store
from starters.http.alert_report import NOT_KEPT, UNAVAILABLE
from tests.unit.test_console_schedules import Console, browse, example
from tests.unit.test_log_http import incident
from workflows.incident_models import IncidentRecord, LogQuery
from workflows.page_log import PageLogEntry

NOW = datetime.now(UTC).replace(microsecond=0)


def logged(rule: str, hours_ago: float, **changes: object) -> PageLogEntry:
    """A page of delivery as the page log keeps it, opened ``hours_ago``."""
    base = PageLogEntry(
        page_id=f"{rule}-{hours_ago}",
        opened_at=NOW - timedelta(hours=hours_ago),
        source="alertmanager",
        rule=rule,
        team="delivery",
    )
    return base.model_copy(update=changes)


class DownIncidentLog(SqlStore):
    """A store whose incident log cannot be read."""

    async def list_incidents(self, query: LogQuery) -> list[IncidentRecord]:
        raise Unavailable("incident log (list): connection refused")


async def console(tmp_path: Path, store: Store | None) -> AsyncIterator[httpx.AsyncClient]:
    async for http in browse(tmp_path, Console(example(tmp_path)), store):
        yield http


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Five DiskSpaceLow pages of the last day that resolved by themselves, one 5-day-old
    acknowledged Latency page, and INC-9 (led by carol) in the incident log."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    log = SqlPageLog(store)
    for hours in range(1, 6):
        await log.record_page(logged("DiskSpaceLow", hours, auto_resolved_unacked=True))
    acked_at = NOW - timedelta(days=5) + timedelta(minutes=4)
    await log.record_page(logged("Latency", 120, acked_by="bob", acked_at=acked_at))
    await store.upsert_incident(incident(9, 0.5, lead="carol"))
    async for found in console(tmp_path, store):
        yield found
    await store.close()


def section(html: str, name: str) -> str:
    return html.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]


def row(html: str, marker: str) -> str:
    found = re.search(rf"<tr {re.escape(marker)}.*?</tr>", html, re.DOTALL)
    assert found is not None, html
    return found[0]


class TestAlertNoise:
    async def test_rules_marked_with_their_reason_and_the_load(
        self, http: httpx.AsyncClient
    ) -> None:
        """The last 30 days: DiskSpaceLow first, marked to disable or fix with the stated
        check as the reason; Latency unmarked; carol's shift counts INC-9 with a link."""
        response = await http.get("/reports/alerts")

        assert response.status_code == 200
        html = response.text
        rules = section(html, "noise-rules")
        assert "6 pages, 1 incident." in rules
        assert rules.index('data-rule="DiskSpaceLow"') < rules.index('data-rule="Latency"')
        disk = row(rules, 'data-rule="DiskSpaceLow"')
        assert 'class="marked"' in disk
        assert '<td class="auto">5</td>' in disk
        mark = disk.split('data-check="disable-or-fix"', 1)[1].split("</li>", 1)[0]
        assert "disable or fix: nobody acts on it" in mark
        assert (
            "marked because: at least 5 pages and at least 50 % of them resolved by their "
            "source unacknowledged" in mark
        )
        latency = row(rules, 'data-rule="Latency"')
        assert "marked" not in latency
        assert '<td class="ack">4m00s</td>' in latency
        load = section(html, "noise-load")
        worked = [
            r for r in re.findall(r"<tr data-person.*?</tr>", load, re.DOTALL) if "INC-9" in r
        ]
        assert len(worked) == 1
        assert worked[0].startswith('<tr data-person="carol" data-rotation="delivery"')
        assert '<td class="incidents">1: <a href="/incidents/INC-9">INC-9</a></td>' in worked[0]
        assert "(planned)" in worked[0]
        assert re.search(r"\d\d:\d\d C[SD]T", worked[0])  # the delivery rotation's zone

    async def test_the_form_picks_the_period(self, http: httpx.AsyncClient) -> None:
        """``from=2d`` leaves out the 5-day-old page; the form keeps what was typed; the
        quick links ask for days."""
        html = (await http.get("/reports/alerts", params={"from": "2d", "to": ""})).text

        assert 'name="from" value="2d"' in html
        assert "5 pages, 1 incident." in html
        assert 'data-rule="Latency"' not in html
        week = (await http.get("/reports/alerts", params={"days": "7"})).text
        assert 'href="/reports/alerts?days=7" aria-current="page"' in week
        assert 'data-rule="Latency"' in week

    async def test_bad_period_says_what_is_wrong(self, http: httpx.AsyncClient) -> None:
        """A period that does not parse is a 422 naming the field, with the form to fix it."""
        backwards = await http.get("/reports/alerts", params={"from": "1d", "to": "2d"})
        not_days = await http.get("/reports/alerts", params={"days": "many"})

        assert backwards.status_code == 422
        error = backwards.text.split('id="noise-error"', 1)[1].split("</p>", 1)[0]
        assert "from: " in error
        assert "is not before to" in error
        assert 'id="noise-period"' in backwards.text
        assert not_days.status_code == 422
        assert "days: a whole number of days, not &#39;many&#39;" in not_days.text

    async def test_linked_from_reports(self, http: httpx.AsyncClient) -> None:
        html = (await http.get("/reports")).text

        assert '<a href="/reports/alerts">Alert noise</a>' in html

    async def test_without_a_store(self, tmp_path: Path) -> None:
        """Without the SQL store the page says the page log is not kept here."""
        async for found in console(tmp_path, None):
            response = await found.get("/reports/alerts")

            assert response.status_code == 200
            assert NOT_KEPT in response.text

    async def test_store_down(self, tmp_path: Path) -> None:
        """A store that fails: the page says to try again, and still shows the form."""
        store = DownIncidentLog(f"sqlite:///{tmp_path / 'tocsin.db'}")
        async for found in console(tmp_path, store):
            response = await found.get("/reports/alerts")

            assert response.status_code == 200
            assert UNAVAILABLE in response.text
            assert 'id="noise-period"' in response.text
        await store.close()
