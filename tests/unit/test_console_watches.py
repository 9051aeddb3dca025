"""The console's *Watches*: every configured heartbeat (status, interval and grace, last
seen and by whom, next due, overdue at, its open page linked) and every configured uptime
check (status now, uptime over 24 h / 7 d / 30 d, p50/p99 latency, last failure), with
times in the config's zone. Heartbeats come from recorded fake workflows behind the same
service as ``GET /api/heartbeats``; checks from probe results kept in SQLite, as
``GET /api/checks`` reads them. Temporal or the store failing is a sentence on the page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.sql_check_results import SqlCheckResults
from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from starters.console.app import ConsoleSettings
from starters.console.sessions import ConsoleKeys
from starters.credentials import Authenticator
from starters.errors import Rejected
from starters.heartbeats import Heartbeats
from starters.http.app import create_app
from starters.http.checks import NOT_KEPT, UNAVAILABLE
from starters.http.heartbeats import heartbeats
from tests.fakes.credentials import CountingHasher
from tests.unit.test_console_schedules import TOKEN, Console, example, sign_in
from tests.unit.test_uptime_checks import NOW, RESULTS, result
from worker.config import ConfigFile
from workflows.heartbeat_models import HeartbeatPing, HeartbeatState

CHICAGO = ZoneInfo("America/Chicago")  # the example config's zone
RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
SEEN = RECENT - timedelta(days=2)  # nightly-backup's last ping: overdue since a day ago
WATCHES = """
heartbeats:
  nightly-backup: {interval: 1d, grace: 2h, service: database, description: pg_dump to S3}
  queue-drain: {interval: 1h, team: delivery}
  report-mail: {interval: 5m, team: delivery}
checks:
  api: {url: "https://api.example.com/health", team: delivery}
  new: {url: "https://new.example.com/", method: HEAD, team: delivery}
  web: {url: "https://web.example.com/", team: delivery}
"""


def shown(when: datetime) -> str:
    """A time as the page shows it: in the config's zone."""
    return f"{when.astimezone(CHICAGO):%a %Y-%m-%d %H:%M %Z}"


@dataclass
class FakeHeartbeatWorkflows:
    """Heartbeat workflows as states: nightly-backup overdue with a page open, queue-drain
    pinged ten minutes ago, report-mail not running; ``down``: Temporal does not answer."""

    down: bool = False
    asked: list[str] = field(default_factory=list)

    async def ping(self, name: str, ping: HeartbeatPing) -> None:
        raise AssertionError("the console never pings a heartbeat")

    async def get_state(self, name: str) -> HeartbeatState:
        self.asked.append(name)
        if self.down:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if name == "nightly-backup":
            return HeartbeatState(
                name=name,
                status="overdue",
                service="database",
                description="pg_dump to S3",
                interval=timedelta(days=1),
                grace=timedelta(hours=2),
                last_seen=SEEN,
                last_by="integration backup-host",
                next_due=SEEN + timedelta(days=1),
                overdue_at=SEEN + timedelta(days=1, hours=2),
                page_id="heartbeat-nightly-backup",
            )
        if name == "queue-drain":
            return HeartbeatState(
                name=name,
                status="ok",
                team="delivery",
                interval=timedelta(hours=1),
                last_seen=RECENT,
                last_by="integration cron",
                next_due=RECENT + timedelta(hours=1),
                overdue_at=RECENT + timedelta(hours=1),
            )
        raise Rejected(f"heartbeat {name} is not running yet")


class FlakyStore(SqlStore):
    """A SQLite store that can be made unreachable (``down``)."""

    down = False

    async def migrate(self) -> None:
        if self.down:
            raise Unavailable("check results: connection refused")
        await super().migrate()


@dataclass
class Watch:
    """alice's browser on the console, the heartbeat workflows and the results store."""

    http: httpx.AsyncClient
    workflows: FakeHeartbeatWorkflows
    store: FlakyStore | None


async def watching(folder: Path, store: FlakyStore | None) -> AsyncIterator[Watch]:
    """The app with the example config plus :data:`WATCHES`, its heartbeats behind
    :class:`FakeHeartbeatWorkflows` (Temporal itself is never used), alice signed in."""
    config = example(folder)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.update(yaml.safe_load(WATCHES))
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    workflows = FakeHeartbeatWorkflows()
    credentials = SqlStore(f"sqlite:///{folder / 'credentials.db'}")
    app = create_app(
        TOKEN,
        Console(config),
        store=store,
        credentials=SqlCredentials(credentials),
        console=ConsoleSettings(keys=ConsoleKeys("k" * 40)),
    )
    app.state.authenticator = Authenticator(
        TOKEN, SqlCredentials(credentials), hasher=CountingHasher()
    )
    app.dependency_overrides[heartbeats] = lambda: Heartbeats(workflows, ConfigFile(config))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            await sign_in(http, "alice")
            yield Watch(http, workflows, store)
    await credentials.close()


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Watch]:
    """One app for the module, its store holding :data:`RESULTS` (api and web) and the
    results of ``old``, a check no longer configured."""
    folder = tmp_path_factory.mktemp("console-watches")
    store = FlakyStore(f"sqlite:///{folder / 'tocsin.db'}")
    results = SqlCheckResults(store)
    for r in [*RESULTS, result("old", timedelta(hours=1))]:
        await results.record_check_result(r)
    async for watch in watching(folder, store):
        yield watch
    await store.close()


@pytest.fixture
async def watch(served: Watch) -> AsyncIterator[Watch]:
    """The module's console with Temporal and the store answering."""
    served.workflows.down = False
    served.workflows.asked.clear()
    yield served
    served.workflows.down = False
    if served.store is not None:
        served.store.down = False


def row(html: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{re.escape(row_id)}".*?</tr>', html, re.DOTALL)
    assert found is not None, html
    return found[0]


def cell(html: str, name: str) -> str:
    found = re.search(rf'<td class="{name}">(.*?)</td>', html, re.DOTALL)
    assert found is not None, html
    return found[1]


class TestHeartbeats:
    """Each configured heartbeat, by name, as its workflow reports it."""

    async def test_overdue_with_its_page(self, watch: Watch) -> None:
        """Overdue: every 1d + 2h grace; last seen, next due and overdue at in Chicago
        time; the open page linked to its page view."""
        response = await watch.http.get("/watches")

        assert response.status_code == 200
        beat = row(response.text, "heartbeat-nightly-backup")
        assert 'data-status="overdue"' in beat
        assert '<span class="badge triggered">overdue</span>' in beat
        assert "database" in beat
        assert "pg_dump to S3" in beat
        assert cell(beat, "every") == "1d + 2h grace"
        last = cell(beat, "last-seen")
        assert re.search(r">\w{3} \d{4}-\d\d-\d\d \d\d:\d\d C[SD]T</time>", last)
        assert f"{shown(SEEN)}</time> (2d ago) by integration backup-host" in last
        assert shown(SEEN + timedelta(days=1)) in cell(beat, "next-due")
        overdue = cell(beat, "overdue-at")
        assert shown(SEEN + timedelta(days=1, hours=2)) in overdue
        assert "(in " not in overdue
        assert cell(beat, "page") == (
            '<a href="/pages/heartbeat-nightly-backup">heartbeat-nightly-backup</a>'
        )

    async def test_ok_and_not_running(self, watch: Watch) -> None:
        """An ok heartbeat says when it pages without a ping; one whose workflow is not
        running is unknown (the config still names it), and says why."""
        html = (await watch.http.get("/watches")).text

        drain = row(html, "heartbeat-queue-drain")
        assert '<span class="badge resolved">ok</span>' in drain
        assert cell(drain, "every") == "1h"
        last = cell(drain, "last-seen")
        assert f"{shown(RECENT)}</time>" in last
        assert re.search(r"\(\d+m ago\) by integration cron", last)
        assert shown(RECENT + timedelta(hours=1)) in cell(drain, "overdue-at")
        assert "(in " in cell(drain, "overdue-at")
        assert cell(drain, "page") == "—"
        mail = row(html, "heartbeat-report-mail")
        assert '<span class="badge unknown">unknown</span>' in mail
        assert "its workflow is not running" in mail
        assert cell(mail, "every") == "5m"
        assert cell(mail, "next-due") == "—"
        names = re.findall(r'<tr id="heartbeat-([^"]+)"', html)
        assert names == ["nightly-backup", "queue-drain", "report-mail"]

    async def test_temporal_down_is_a_sentence(self, watch: Watch) -> None:
        """Temporal not answering: the heartbeats say so; the checks still show."""
        watch.workflows.down = True

        response = await watch.http.get("/watches")

        assert response.status_code == 200
        error = response.text.split('id="heartbeats-error"', 1)[1].split("</p>", 1)[0]
        assert "Heartbeats cannot be shown: Temporal did not answer" in error
        assert 'id="heartbeat-nightly-backup"' not in response.text
        assert 'id="check-api"' in response.text


class TestChecks:
    """Each configured check's figures from the kept probe results (30 days)."""

    async def test_figures_of_each_check(self, watch: Watch) -> None:
        """api: up now, 75 % over 24 h and 7 d, 80 % over 30 d, p50 100 ms, p99 900 ms,
        last failed five hours ago with its error (Chicago time); web up; new pending;
        old (no longer configured) not listed."""
        html = (await watch.http.get("/watches")).text

        api = row(html, "check-api")
        assert '<span class="badge resolved">up</span>' in api
        assert "GET https://api.example.com/health" in api
        assert cell(api, "uptime-24h") == "75.00 %"
        assert cell(api, "uptime-7d") == "75.00 %"
        assert cell(api, "uptime-30d") == "80.00 %"
        assert cell(api, "p50") == "100 ms"
        assert cell(api, "p99") == "900 ms"
        failure = cell(api, "last-failure")
        assert f"{shown(NOW - timedelta(hours=5))}</time>" in failure
        assert ": status 503 (expected 200-399)" in failure
        web = row(html, "check-web")
        assert cell(web, "uptime-24h") == "100.00 %"
        assert cell(web, "last-failure") == "—"
        new = row(html, "check-new")
        assert 'data-status="pending"' in new
        assert "HEAD https://new.example.com/" in new
        assert "not probed yet" in new
        assert cell(new, "uptime-30d") == "—"
        assert re.findall(r'<tr id="check-([^"]+)"', html) == ["api", "new", "web"]

    async def test_store_down_is_a_sentence(self, watch: Watch) -> None:
        """The store failing: the checks say to try again; the heartbeats still show."""
        assert watch.store is not None
        watch.store.down = True

        response = await watch.http.get("/watches")

        assert response.status_code == 200
        error = response.text.split('id="checks-error"', 1)[1].split("</p>", 1)[0]
        assert f"Uptime checks cannot be shown: {UNAVAILABLE}." in error
        assert 'id="heartbeat-nightly-backup"' in response.text

    async def test_no_store_says_so(self, tmp_path: Path) -> None:
        """An app without a SQL store keeps no results: the page says so (not a 503)."""
        async for bare in watching(tmp_path, None):
            response = await bare.http.get("/watches")

            assert response.status_code == 200
            error = response.text.split('id="checks-error"', 1)[1].split("</p>", 1)[0]
            assert f"Uptime checks cannot be shown: {NOT_KEPT}." in error
            assert 'id="heartbeat-nightly-backup"' in response.text


class TestNavigation:
    async def test_linked_in_the_navigation(self, watch: Watch) -> None:
        html = (await watch.http.get("/watches")).text
        other = (await watch.http.get("/silences")).text

        assert '<a href="/watches" aria-current="page">Watches</a>' in html
        assert '<a href="/watches">Watches</a>' in other
        assert "Times in America/Chicago." in html
