"""A real Prometheus Alertmanager delivering to Tocsin's webhook over loopback HTTP.

Alertmanager groups alerts, resends the whole group when it changes and sends ``resolved``
when every alert of the group has ended; Tocsin must turn one group into one page.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from starters.alertmanager import group_page_key
from starters.api import TocsinClient
from starters.errors import PageNotFound
from starters.events import event_page_key
from tests.e2e.conftest import EVENTS_KEY, Stack, free_port, running_stack, write_config
from tests.fakes.receiver import Receiver
from workflows.models import PageListItem, PageState, PageStatus

pytestmark = pytest.mark.e2e

ALERTMANAGER = "prometheus-alertmanager"

# Appended to the e2e config: alerts for gitserver go to its service, everything else to
# the default route (delivery), flagged as unrouted.
# The e2e config already routes service=gitserver to its service and the rest to
# delivery; these tests add flap detection.
ROUTING = """
alerting:
  flap_window: 5m
"""

# Groups by alert name and service, flushed within a second, resent hourly.
ROUTE = """
route:
  receiver: {receiver}
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
"""

ALERTMANAGER_CONFIG = (
    ROUTE
    + """
receivers:
  - name: {receiver}
    webhook_configs:
      - url: {webhook}
        send_resolved: true
        http_config:
          authorization: {{credentials: {credentials}}}
"""
)

# Alertmanager's own PagerDuty integration (Events API v2), its url pointed at Tocsin: the
# routing key is the gitserver service's integration key.
PAGERDUTY_CONFIG = (
    ROUTE
    + """
receivers:
  - name: {receiver}
    pagerduty_configs:
      - url: {webhook}
        routing_key: {credentials}
        send_resolved: true
"""
)

# Alertmanager's own Opsgenie integration (Alert API v2), its api_url pointed at Tocsin:
# the GenieKey is the gitserver service's integration key.
OPSGENIE_CONFIG = (
    ROUTE
    + """
receivers:
  - name: {receiver}
    opsgenie_configs:
      - api_url: {webhook}
        api_key: {credentials}
        priority: P2
        tags: "disk,gitserver"
        send_resolved: true
"""
)
TEMPLATES = {
    "webhook": ALERTMANAGER_CONFIG,
    "pagerduty": PAGERDUTY_CONFIG,
    "opsgenie": OPSGENIE_CONFIG,
}


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def disk_full(
    instance: str, starts_at: datetime, ends_at: datetime | None = None
) -> dict[str, Any]:
    """A DiskFull alert of gitserver as Prometheus would post it to Alertmanager."""
    alert: dict[str, Any] = {
        "labels": {
            "alertname": "DiskFull",
            "service": "gitserver",
            "instance": instance,
            "severity": "critical",
        },
        "annotations": {
            "summary": f"disk full on {instance}",
            "runbook_url": "https://example.com/runbooks/disk-full",
        },
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk",
        "startsAt": _timestamp(starts_at),
    }
    if ends_at is not None:
        alert["endsAt"] = _timestamp(ends_at)
    return alert


def am_group_key(**group_labels: str) -> str:
    """The groupKey Alertmanager 0.25 sends for a group of the root route."""
    labels = ", ".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return f"{{}}:{{{labels}}}"


@dataclass
class Alertmanager:
    """``prometheus-alertmanager`` as a subprocess: no clustering, state in a temp dir."""

    workdir: Path
    webhook: str
    credentials: str
    # A receiver name of its own makes this instance's page ids unique in the shared dev
    # server, whatever other tests post for the same alert names.
    receiver: str = field(default_factory=lambda: f"tocsin-{secrets.token_hex(4)}")
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    config_template: str = ALERTMANAGER_CONFIG

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "alertmanager.log"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def page_id(self, **group_labels: str) -> str:
        """The Tocsin page id of this instance's group with these group labels."""
        return group_page_key(self.receiver, am_group_key(**group_labels))

    def launch(self, binary: str) -> None:
        """Write and check the config, then start the process (it is ready later)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(
            self.config_template.format(
                receiver=self.receiver,
                webhook=json.dumps(self.webhook),
                credentials=json.dumps(self.credentials),
            )
        )
        amtool = shutil.which("amtool")
        if amtool is not None:
            checked = subprocess.run(
                [amtool, "check-config", str(config)], capture_output=True, check=False
            )
            assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.external-url={self.url}",
                    "--cluster.listen-address=",
                ],
                stdout=out,
                stderr=out,
            )

    async def wait_ready(self) -> None:
        """Wait for ``/-/ready``; fail with Alertmanager's log if it exits or stays unready."""
        assert self.process is not None
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            for _ in range(200):
                assert self.process.poll() is None, f"alertmanager exited:\n{self.log()}"
                try:
                    if (await http.get("/-/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        pytest.fail(f"alertmanager not ready within 10 s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers: no process outlives the test."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    async def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Post alerts as Prometheus does (``POST /api/v2/alerts``)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            response = await http.post("/api/v2/alerts", json=alerts)
        assert response.status_code == 200, response.text

    async def failed_webhook_deliveries(self, integration: str = "webhook") -> float:
        """Alertmanager's own count of notifications that failed, by integration."""
        return await self._counter("alertmanager_notifications_failed_total", integration)

    async def sent_notifications(self, integration: str) -> float:
        """Alertmanager's own count of notifications it sent, by integration."""
        return await self._counter("alertmanager_notifications_total", integration)

    async def _counter(self, name: str, integration: str) -> float:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            metrics = (await http.get("/metrics")).text
        for line in metrics.splitlines():
            if line.startswith(f'{name}{{integration="{integration}"}}'):
                return float(line.split()[-1])
        return 0.0


StartAlertmanager = Callable[..., Awaitable[Alertmanager]]
Receiving = Literal["webhook", "pagerduty", "opsgenie"]


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    """The Debian package's binary; without it these tests skip before starting anything."""
    binary = shutil.which(ALERTMANAGER)
    if binary is None:
        pytest.skip(
            "prometheus-alertmanager not installed; `make test` installs it when run as root"
        )
    return binary


@pytest.fixture
async def start_alertmanager(
    alertmanager_binary: str, routed_stack: Stack, tmp_path: Path
) -> AsyncIterator[StartAlertmanager]:
    """Starts Alertmanagers that present ``credentials`` to the stack; stops them first."""
    started: list[Alertmanager] = []
    webhook = str(routed_stack.http.base_url).rstrip("/") + "/webhooks/alertmanager"

    async def start(credentials: str, *, receiver: Receiving = "webhook") -> Alertmanager:
        """An Alertmanager with a webhook receiver presenting ``credentials``, or its own
        PagerDuty receiver posting to ``/v2/enqueue`` with ``credentials`` as the routing
        key, or its Opsgenie receiver with Tocsin as ``api_url`` and ``credentials`` as the
        GenieKey."""
        base = str(routed_stack.http.base_url).rstrip("/")
        urls = {"webhook": webhook, "pagerduty": f"{base}/v2/enqueue", "opsgenie": f"{base}/"}
        am = Alertmanager(
            workdir=tmp_path / f"alertmanager-{len(started)}",
            webhook=urls[receiver],
            credentials=credentials,
            config_template=TEMPLATES[receiver],
        )
        started.append(am)
        am.launch(alertmanager_binary)
        await am.wait_ready()
        return am

    try:
        yield start
    finally:
        for am in started:
            am.stop()


@pytest.fixture
async def routed_stack(
    dev_env: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Stack]:
    """The e2e stack (worker + HTTP API on loopback) with services and routes configured
    (the gitserver service's Events API key set, for Alertmanager's PagerDuty receiver)."""
    monkeypatch.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
    config_path = write_config(tmp_path / "tocsin.yaml", receiver)
    config_path.write_text(config_path.read_text() + ROUTING)
    async with running_stack(dev_env.client, receiver, config_path) as stack:
        yield stack


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """Poll ``check()`` until it returns something truthy (visibility lags ~1 s)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def page_where(
    tocsin: TocsinClient, page_id: str, condition: Callable[[PageState], bool]
) -> PageState:
    """The page once ``condition`` holds for it (it may not exist yet); fails after 10 s."""
    last: PageState | None = None

    async def check() -> PageState | None:
        nonlocal last
        try:
            last = await tocsin.get_page(page_id)
        except PageNotFound:
            return None
        return last if condition(last) else None

    page: PageState | None = await eventually(check)
    assert page is not None, f"page {page_id} never got there; last seen: {last!r}"
    return page


async def pages_since(tocsin: TocsinClient, started: datetime) -> list[PageListItem]:
    """Pages of team delivery opened during this test (the dev server is shared)."""
    return [
        p
        for p in await tocsin.list_pages(team="delivery")
        if p.created_at is not None and p.created_at >= started
    ]


class TestAlertGroup:
    async def test_one_group_is_one_page_until_alertmanager_resolves_it(
        self, start_alertmanager: StartAlertmanager, routed_stack: Stack
    ) -> None:
        """A group pages its service's EOC once, gathers joining alerts, and resolves with them."""
        stack = routed_stack
        started = datetime.now(UTC)
        am = await start_alertmanager(stack.token)
        page_id = am.page_id(alertname="DiskFull", service="gitserver")
        # Fresh alerts: Alertmanager flushes a group at once (without its group_wait) when
        # its first alert is older than group_wait, and could then split the first two.
        fired_at = datetime.now(UTC)

        await am.post_alerts(
            [disk_full("gitserver-0", fired_at), disk_full("gitserver-1", fired_at)]
        )
        page = await page_where(stack.tocsin, page_id, lambda p: len(p.alerts) == 2)
        assert page.status == PageStatus.triggered
        assert page.source == "alertmanager"
        assert page.team == "delivery"
        assert page.service == "gitserver"
        assert page.severity == "critical"
        assert page.unrouted is False
        assert page.summary == "DiskFull (service=gitserver)"
        assert page.details == am.url, "the page links back to Alertmanager"
        assert sorted(a.summary for a in page.alerts) == [
            "disk full on gitserver-0",
            "disk full on gitserver-1",
        ]
        assert {a.status for a in page.alerts} == {"firing"}
        assert page.timeline[0].text == (
            "Page opened by alertmanager: DiskFull (service=gitserver) (2 alerts firing)"
        )

        await stack.receiver.wait_for(lambda ds: any(d.page_id == page_id for d in ds))
        [delivery] = stack.receiver.deliveries
        assert delivery.path == "/alice", "the EOC of delivery is paged"
        assert delivery.page_id == page_id
        assert "DiskFull (service=gitserver)" in delivery.body["title"]
        assert am.url in delivery.message

        # A third alert joins: Alertmanager resends the whole group to the same page.
        await am.post_alerts([disk_full("gitserver-2", fired_at)])
        page = await page_where(stack.tocsin, page_id, lambda p: len(p.alerts) == 3)
        assert _count(page, "firing") == 3
        joined = [e for e in page.timeline if e.kind == "alert"]
        assert [(e.text, e.by) for e in joined] == [
            ("Alert: disk full on gitserver-2 firing (3 firing)", "alertmanager")
        ]
        await asyncio.sleep(0.5)
        assert len(stack.receiver.deliveries) == 1, "a joining alert pages nobody again"

        # Every alert ends: Alertmanager sends the group as resolved.
        ended_at = datetime.now(UTC)
        await am.post_alerts(
            [disk_full(f"gitserver-{i}", fired_at, ends_at=ended_at) for i in range(3)]
        )
        page = await page_where(stack.tocsin, page_id, lambda p: p.status == PageStatus.resolved)
        assert page.resolved_by == "alertmanager"
        assert _count(page, "resolved") == 3
        assert page.timeline[-1].kind == "resolved"
        assert page.timeline[-1].text == "All alerts resolved"
        assert page.timeline[-1].by == "alertmanager"
        assert any(
            e.kind == "alert" and e.text.endswith("resolved (0 firing)") for e in page.timeline
        )
        assert len(stack.receiver.deliveries) == 1

        async def listed_resolved() -> list[PageListItem]:
            pages = await pages_since(stack.tocsin, started)
            return pages if pages and all(p.status == "resolved" for p in pages) else []

        assert await am.failed_webhook_deliveries() == 0, am.log()
        listed = await eventually(listed_resolved)
        assert [(p.id, p.status) for p in listed] == [(page_id, "resolved")], (
            "every delivery of the group went to one page"
        )


class TestPagerDutyReceiver:
    async def test_pagerduty_configs_reach_tocsin_by_url(
        self, start_alertmanager: StartAlertmanager, routed_stack: Stack
    ) -> None:
        """Alertmanager's native PagerDuty integration, its ``url`` set to Tocsin's
        ``/v2/enqueue``: the group opens one page of the service and resolves it."""
        stack = routed_stack
        am = await start_alertmanager(EVENTS_KEY, receiver="pagerduty")
        # Alertmanager's dedup key for a group is the SHA-256 of its group key.
        group_key = am_group_key(alertname="DiskFull", service="gitserver")
        dedup_key = hashlib.sha256(group_key.encode()).hexdigest()
        page_id = event_page_key("gitserver", dedup_key)
        fired_at = datetime.now(UTC)

        await am.post_alerts(
            [disk_full("gitserver-0", fired_at), disk_full("gitserver-1", fired_at)]
        )
        page = await page_where(stack.tocsin, page_id, lambda p: len(p.alerts) >= 1)
        assert page.status == PageStatus.triggered
        assert page.service == "gitserver"
        assert page.team == "delivery"
        assert "DiskFull" in page.summary
        await stack.receiver.wait_for(lambda ds: any(d.page_id == page_id for d in ds))

        ended_at = datetime.now(UTC)
        await am.post_alerts(
            [disk_full(f"gitserver-{i}", fired_at, ends_at=ended_at) for i in range(2)]
        )
        page = await page_where(stack.tocsin, page_id, lambda p: p.status == PageStatus.resolved)
        assert await am.failed_webhook_deliveries("pagerduty") == 0, am.log()
        assert await am.sent_notifications("pagerduty") >= 2


class TestOpsgenieReceiver:
    async def test_opsgenie_configs_reach_tocsin_by_api_url(
        self, start_alertmanager: StartAlertmanager, routed_stack: Stack
    ) -> None:
        """Alertmanager's native Opsgenie integration, its ``api_url`` set to Tocsin: the
        group opens one page of the service (its alias the page's dedup key, its priority
        the severity) and closes it when the group resolves."""
        stack = routed_stack
        am = await start_alertmanager(EVENTS_KEY, receiver="opsgenie")
        # Alertmanager's alias for a group is the SHA-256 of its group key. (An alias and a
        # PagerDuty dedup key of one service name the same page: this group is not the
        # PagerDuty test's, whose page may still be open on the shared dev server.)
        group_key = am_group_key(alertname="GitDiskFull", service="gitserver")
        alias = hashlib.sha256(group_key.encode()).hexdigest()
        page_id = event_page_key("gitserver", alias)
        fired_at = datetime.now(UTC)

        await am.post_alerts([git_disk_full(f"gitserver-{i}", fired_at) for i in range(2)])
        page = await page_where(stack.tocsin, page_id, lambda p: len(p.alerts) >= 1)
        assert page.status == PageStatus.triggered
        assert (page.service, page.team, page.severity) == ("gitserver", "delivery", "error")
        assert "GitDiskFull" in page.summary
        assert page.alerts[0].labels["tags"] == "disk, gitserver"
        await stack.receiver.wait_for(lambda ds: any(d.page_id == page_id for d in ds))

        ended_at = datetime.now(UTC)
        await am.post_alerts(
            [git_disk_full(f"gitserver-{i}", fired_at, ends_at=ended_at) for i in range(2)]
        )
        page = await page_where(stack.tocsin, page_id, lambda p: p.status == PageStatus.resolved)
        assert (page.resolved_by or "").startswith("opsgenie")
        assert await am.failed_webhook_deliveries("opsgenie") == 0, am.log()
        assert await am.sent_notifications("opsgenie") >= 2
        # One page for the group: every create landed on it.
        pages = [p for p in await pages_since(stack.tocsin, fired_at) if p.id == page_id]
        assert len(pages) == 1


def git_disk_full(
    instance: str, starts_at: datetime, ends_at: datetime | None = None
) -> dict[str, Any]:
    """:func:`disk_full` under another alert name: a group of its own."""
    alert = disk_full(instance, starts_at, ends_at)
    alert["labels"]["alertname"] = "GitDiskFull"
    return alert


class TestUnroutedAlert:
    async def test_alert_no_route_matches_goes_to_default_route_flagged(
        self, start_alertmanager: StartAlertmanager, routed_stack: Stack
    ) -> None:
        """An alert of an unknown service still pages the default team, flagged as unrouted."""
        stack = routed_stack
        am = await start_alertmanager(stack.token)
        page_id = am.page_id(alertname="QueueStuck", service="unknown")
        await am.post_alerts(
            [
                {
                    "labels": {
                        "alertname": "QueueStuck",
                        "service": "unknown",
                        "instance": "worker-0",
                        "severity": "critical",
                    },
                    "annotations": {"summary": "queue stuck on worker-0"},
                    "startsAt": _timestamp(datetime.now(UTC)),
                }
            ]
        )
        page = await page_where(stack.tocsin, page_id, lambda p: bool(p.alerts))
        assert page.unrouted is True
        assert page.team == "delivery"
        assert page.service is None
        assert page.summary == "queue stuck on worker-0"
        [note] = [e for e in page.timeline if e.kind == "unrouted"]
        assert note.text.startswith("No route matched labels ")
        assert "service=unknown" in note.text
        assert note.text.endswith("sent to the default route (delivery)")
        await stack.receiver.wait_for(lambda ds: any(d.page_id == page_id for d in ds))
        assert [d.path for d in stack.receiver.for_page(page_id)] == ["/alice"]


class TestWrongToken:
    async def test_alertmanager_with_wrong_token_is_refused_and_pages_nobody(
        self, start_alertmanager: StartAlertmanager, routed_stack: Stack
    ) -> None:
        """Alertmanager holding a wrong token gets 401 (in its log) and no page is opened."""
        stack = routed_stack
        started = datetime.now(UTC)
        am = await start_alertmanager("not-" + stack.token)
        await am.post_alerts([disk_full("gitserver-0", started)])

        async def refused_twice() -> bool:
            return await am.failed_webhook_deliveries() >= 2

        assert await eventually(refused_twice), am.log()
        log = am.log()
        assert "Notify for alerts failed" in log
        assert "unexpected status code 401" in log
        assert "wrong bearer credentials" in log, "Alertmanager's log says why"
        assert am.credentials not in log, "the refusal does not echo the credentials"
        with pytest.raises(PageNotFound):
            await stack.tocsin.get_page(am.page_id(alertname="DiskFull", service="gitserver"))
        assert await pages_since(stack.tocsin, started) == []
        assert stack.receiver.deliveries == []


def _count(page: PageState, status: str) -> int:
    return sum(1 for a in page.alerts if a.status == status)
