"""The web console in a real browser: headless Chromium (Debian's, through its chromedriver)
against the real dev server, a worker, and the API under uvicorn with the console on.

Each flow asserts what a person sees, waiting on element ids and texts (the live fragments
refresh every 3 s). Selenium blocks, and the stack runs on the test's event loop: every
flow runs in a thread (``asyncio.to_thread``), and calls the API from there with a
synchronous client while the loop serves it.

Screenshots of Now, Pages, an incident and a schedule, at 1280 px and at 375 px, go to
``$TOCSIN_SCREENSHOTS`` when set (else the test's tmp_path); at 375 px each view must not
scroll sideways.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.console.app import ConsoleSettings
from starters.console.sessions import ConsoleKeys
from starters.http.app import create_app
from tests.conftest import serving
from tests.e2e.browser import Browser, chromium_binaries, chromium_session, png_size, screenshot_dir
from tests.e2e.conftest import borrowed_incident_counter
from tests.fakes.receiver import Receiver
from worker.build import build_worker
from worker.config import ConfigFile
from worker.rotations import sync_rotations
from worker.search_attributes import ensure_search_attributes
from worker.settings import Settings
from workflows.incident_counter import COUNTER_ID

pytestmark = pytest.mark.e2e

ZONE = "America/Chicago"
CONFIG = """
timezone: UTC
people:
  alice: {{name: Alice, contact: ["{hook}/alice"]}}
  bob: {{name: Bob, contact: ["{hook}/bob"]}}
teams:
  delivery: {{members: [alice, bob], rotation: {rot}, escalation_policy: delivery}}
rotations:
  {rot}:
    timezone: {zone}
    handoff: {{weekday: monday, time: "10:00"}}
    shift: 1w
    start: 2020-01-06
    layers: {{primary: [alice], secondary: [bob]}}
escalation_policies:
  delivery: {{steps: [{{targets: ["rotation:{rot}/primary"], ack_timeout: 1h}}]}}
services:
  gitserver: {{team: delivery}}
incidents: {{lead_timeout: 1h, prompt_interval: 1h}}
routes:
  - {{default: true, team: delivery}}
"""
# A live fragment polls every 3 s: a change shows within one poll and its answer.
LIVE = 5.0
RETENTION = Duration(seconds=86400)


@dataclass
class Console:
    """The stack behind the console: its URL, the bootstrap token's header, each
    person's token (named ``laptop``) and this test's rotation."""

    url: str
    boot: dict[str, str]
    tokens: dict[str, str]
    rotation: str

    def api(self) -> httpx.Client:
        """A blocking API client, for a flow running in its thread."""
        return httpx.Client(base_url=self.url, timeout=20)

    def bearer(self, person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[person]}"}


@pytest.fixture(scope="session", autouse=True)
def chromium_present() -> None:
    """Without Debian's chromium and chromedriver these tests skip before starting anything."""
    chromium_binaries()


@pytest.fixture
async def namespace(dev_env: WorkflowEnvironment) -> Client:
    """A namespace of the test's own on the shared dev server.

    Now and Pages list pages from visibility and query each one, finished or not; a page
    that an earlier test left on a task queue nobody serves any more (even terminated: a
    query replays it on a worker) holds those views ~30 s and then fails them. In a
    namespace of its own a test sees only its own pages.
    """
    name = f"console-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=RETENTION)
    )
    client = Client(
        dev_env.client.service_client,
        namespace=name,
        data_converter=dev_env.client.data_converter,
    )
    await ensure_search_attributes(client, name)
    return client


async def stop_leftovers(client: Client, task_queue: str, rotation: str) -> None:
    """Terminate what a test leaves running on its task queue (its rotation, shift, test
    page and pages): no later test of the module lists a page nobody serves."""
    running = {f"rotation-{rotation}"}
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"'
    running |= {w.id async for w in client.list_workflows(query)}
    for workflow_id in sorted(running - {COUNTER_ID}):
        with contextlib.suppress(RPCError):  # already ended
            await client.get_workflow_handle(workflow_id).terminate("e2e: test over")


@pytest.fixture
async def console(namespace: Client, receiver: Receiver, tmp_path: Path) -> AsyncIterator[Console]:
    """A worker and the API with the console on (a random signing key), tokens in SQLite."""
    config_path = tmp_path / "tocsin.yaml"
    # A rotation of its own: rotation workflows outlive a test on the dev server.
    rotation = f"delivery{uuid.uuid4().hex[:6]}"
    config_path.write_text(
        CONFIG.format(hook=receiver.url("").rstrip("/"), rot=rotation, zone=ZONE)
    )
    config = ConfigFile(config_path)
    task_queue = f"e2e-console-{uuid.uuid4()}"
    boot = secrets.token_urlsafe(16)
    app = create_app(
        boot,
        TocsinClient(namespace, config, task_queue),
        store=SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}"),
        console=ConsoleSettings(keys=ConsoleKeys(secrets.token_urlsafe(40))),
    )
    async with serving(app) as url:
        settings = Settings(public_url=url, task_queue=task_queue, data_dir=tmp_path)
        async with (
            build_worker(namespace, settings, config, task_queue=task_queue),
            borrowed_incident_counter(namespace, task_queue),
            httpx.AsyncClient(base_url=url, timeout=20) as http,
        ):
            await sync_rotations(namespace, config.current(), task_queue)
            headers = {"Authorization": f"Bearer {boot}"}
            tokens = {}
            for person in ("alice", "bob"):
                created = await http.post(
                    "/api/tokens", json={"name": "laptop", "person": person}, headers=headers
                )
                assert created.status_code == 201, created.text
                tokens[person] = created.json()["token"]
            try:
                yield Console(url, headers, tokens, rotation)
            finally:
                await stop_leftovers(namespace, task_queue, rotation)


@pytest.fixture
def chromium(console: Console, tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium for one test; it quits before the stack stops (it depends on it)."""
    with chromium_session(tmp_path / "chromium-profile") as driver:
        yield driver


@pytest.fixture
def browser(console: Console, chromium: WebDriver, tmp_path: Path) -> Browser:
    return Browser(chromium, console.url, screenshot_dir(tmp_path / "screenshots"))


# -- steps a person takes (run in the flow's thread) --


def sign_in(b: Browser, token: str) -> None:
    """Fill the sign-in form with ``token`` and send it."""
    form = b.element("#token-form")
    b.fill(form, "token", token)
    b.submit(form)


def sign_out(b: Browser) -> None:
    b.submit(b.element("form.whoami"))
    b.at(lambda p: p.startswith("/signin"), "the sign-in page after signing out")


def shoot(b: Browser, name: str) -> None:
    """Screenshots at both widths (no sideways scroll at 375 px); both are real PNGs."""
    desktop, phone = b.both_sizes(name)
    assert png_size(desktop)[0] == 1280
    assert png_size(phone)[0] == 375


def create_page(c: Console, summary: str) -> str:
    with c.api() as api:
        created = api.post(
            "/api/pages",
            json={"team": "delivery", "summary": summary, "by": "alice"},
            headers=c.boot,
        )
    assert created.status_code == 201, created.text
    page_id: str = created.json()["id"]
    return page_id


def folded(b: Browser, css: str, wanted: str, timeout: float = 10.0) -> str:
    """Wait until ``css`` contains ``wanted``, whatever the case; its text."""

    def contains(driver: WebDriver) -> str | None:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        text = found[0].text if found else ""
        return text if wanted.lower() in text.lower() else None

    return b.until(contains, f"{css} to contain {wanted!r}", timeout)


# -- the flows --


def flow_sign_in(b: Browser, c: Console) -> None:
    b.open("/")
    b.at(lambda p: p.startswith("/signin"), "the trip to the sign-in page")

    token = c.tokens["alice"]
    mistyped = token[:-1] + ("A" if token[-1] != "A" else "B")
    sign_in(b, mistyped)
    refused = b.element("#signin-error")
    assert "not valid" in refused.text
    assert b.path.startswith("/signin")

    sign_in(b, c.tokens["alice"])
    b.at(lambda p: p == "/", "Now after signing in")
    assert b.element("h1").text == "Now"
    assert b.element("form.whoami span").text == "Alice"
    who = '#oncall tr[data-team="delivery"][data-layer="{}"] td.who'
    b.text_of(who.format("primary"), "Alice")
    b.text_of(who.format("secondary"), "Bob")
    shoot(b, "now")


def flow_acknowledge(b: Browser, c: Console) -> None:
    first = create_page(c, "Disk 91% full on git-03")
    b.open("/signin")
    sign_in(b, c.tokens["alice"])
    b.at(lambda p: p == "/", "Now after signing in")

    b.open("/pages")
    # The list comes from Temporal's visibility (about a second behind): a new page shows
    # at the latest on the next refresh of the list.
    item = f'li[id="page-{first}"]'
    b.text_in(item, "Disk 91% full on git-03")
    b.attribute_of(item, "data-status", "triggered")
    b.press(item, "Acknowledge")
    b.text_in("#flash", f"Acknowledged page {first}")
    assert b.path.startswith("/pages")
    b.attribute_of(item, "data-status", "acknowledged")
    b.text_in(item, "acked by alice")
    shoot(b, "pages")

    b.open(f"/pages/{first}")
    b.text_of("#page-status", "acknowledged")
    b.text_in("#page-timeline", "Acknowledged by alice (console, token laptop)")

    # Bob watches a second page while alice acknowledges it elsewhere (the API): his
    # view changes by itself.
    second = create_page(c, "Login latency p99 over 2 s")
    sign_out(b)
    b.open(f"/pages/{second}")
    b.at(lambda p: p.startswith("/signin?next="), "the sign-in page, back to the page after")
    sign_in(b, c.tokens["bob"])
    b.at(lambda p: p == f"/pages/{second}", "bob's view of the page")
    assert b.element("form.whoami span").text == "Bob"
    b.text_of("#page-status", "triggered")
    b.driver.execute_script("window.tocsinNotReloaded = true")
    with c.api() as api:
        acked_by_alice = api.post(f"/api/pages/{second}/ack", json={}, headers=c.bearer("alice"))
    assert acked_by_alice.status_code == 200, acked_by_alice.text
    b.text_of("#page-status", "acknowledged", timeout=LIVE)
    assert b.driver.execute_script("return window.tocsinNotReloaded === true"), "reloaded"
    b.text_in("#page-timeline", "Acknowledged by alice (token laptop)", timeout=LIVE)


def flow_incident(b: Browser, c: Console) -> None:
    b.open("/signin")
    sign_in(b, c.tokens["alice"])
    b.at(lambda p: p == "/", "Now after signing in")

    b.open("/incidents")
    declare = b.element("#declare-form")
    b.fill(declare, "title", "Pushes to gitserver fail with 502")
    b.choose(declare, "severity", "minor")
    b.choose(declare, "service", "gitserver")
    b.submit(declare)
    path = b.at(
        lambda p: re.fullmatch(r"/incidents/INC-\d+", p) is not None, "the new incident's view"
    )
    incident = path.rsplit("/", 1)[1]
    folded(b, "#incident-status", "triage")
    b.text_in("#incident-timeline", f"{incident} declared by alice")

    b.submit(b.element("#take-lead"))
    folded(b, "#incident-status", "active")
    b.text_in("#incident-timeline", "alice is the incident lead")

    update = b.element("#update-form")
    b.fill(update, "text", "Rolled the 14:02 deploy back; 502s falling")
    b.submit(update)
    b.text_in("#incident-timeline", "Rolled the 14:02 deploy back; 502s falling")
    shoot(b, "incident")

    resolve = b.element("#resolve-form")
    b.choose(resolve, "resolution", "fixed")
    b.fill(resolve, "summary", "A bad deploy; rolled back")
    b.submit(resolve)
    # A minor incident needs no postmortem: resolved, it closes at once.
    b.until(
        lambda d: (
            d.find_element(By.ID, "incident-status").text.strip().lower() in {"resolved", "closed"}
        ),
        "#incident-status to read resolved or closed",
    )
    b.text_in("#incident-timeline", "A bad deploy; rolled back")
    entries = b.driver.find_elements(By.CSS_SELECTOR, "#incident-timeline > li")
    assert len(entries) >= 4, [e.text for e in entries]


def overriding(b: Browser, layer: str, name: str) -> str | None:
    """The ``data-start`` of the calendar's row for ``layer`` that shows ``name`` as an
    override, or None."""
    rows = b.driver.find_elements(By.CSS_SELECTOR, f'#calendar [data-layer="{layer}"][data-start]')
    for row in rows:
        text = row.text
        marked = (
            "override" in (row.get_attribute("class") or "").split()
            or bool(row.find_elements(By.CSS_SELECTOR, ".override"))
            or "override" in text.lower()
        )
        if name in text and marked:
            return row.get_attribute("data-start")
    return None


def local_start(value: str, zone: ZoneInfo) -> datetime:
    """A calendar row's ``data-start`` (a date, or a time with or without an offset) as a
    time in the rotation's zone."""
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), zone)
    parsed = datetime.fromisoformat(value)
    return parsed.astimezone(zone) if parsed.tzinfo else parsed.replace(tzinfo=zone)


def flow_override(b: Browser, c: Console) -> None:
    zone = ZoneInfo(ZONE)
    # Tomorrow afternoon where the rotation lives, clear of the 10:00 handoff.
    day = datetime.now(zone).date() + timedelta(days=1)
    start = datetime.combine(day, time(13, 0), zone)
    end = datetime.combine(day, time(17, 0), zone)

    b.open("/signin")
    sign_in(b, c.tokens["alice"])
    b.at(lambda p: p == "/", "Now after signing in")

    b.open(f"/schedules/{c.rotation}")
    b.element("#calendar")
    assert b.driver.find_elements(By.CSS_SELECTOR, '#calendar [data-layer="primary"][data-start]')
    b.until(
        lambda _: True if overriding(b, "primary", "Bob") is None else None,
        "a calendar without Bob's override yet",
    )
    form = b.element("#override-form")
    b.choose(form, "layer", "primary")
    b.choose(form, "person", "bob")
    b.set_value(form, "start", f"{start:%Y-%m-%dT%H:%M}")
    b.set_value(form, "end", f"{end:%Y-%m-%dT%H:%M}")
    b.fill(form, "reason", "Alice at the dentist")
    b.submit(form)

    row_start = b.until(lambda _: overriding(b, "primary", "Bob"), "Bob's override on the calendar")
    assert local_start(row_start, zone) <= start, (row_start, start)
    shoot(b, "schedules")

    # The form's times were read in the rotation's zone, not the server's or the browser's.
    with c.api() as api:
        spans = api.get(
            f"/api/rotations/{c.rotation}",
            params={"from": start.astimezone(UTC).isoformat(), "to": end.isoformat()},
            headers=c.boot,
        )
    assert spans.status_code == 200, spans.text
    given = [s for s in spans.json() if s["source"] == "override" and s["person"] == "bob"]
    assert given, spans.json()
    assert datetime.fromisoformat(given[0]["start"]) == start
    assert datetime.fromisoformat(given[-1]["end"]) == end


class TestSignIn:
    async def test_signed_in_person_sees_who_is_on_call(
        self, console: Console, browser: Browser
    ) -> None:
        """A mistyped token is refused on the sign-in page; alice's lands on Now, which
        names who holds each layer of her team's rotation."""
        await asyncio.to_thread(flow_sign_in, browser, console)


class TestPages:
    async def test_acknowledge_from_the_list_and_see_others_act_live(
        self, console: Console, browser: Browser
    ) -> None:
        """alice acknowledges from the list (the timeline names her console session);
        bob's open view of another page turns acknowledged by itself when alice acts."""
        await asyncio.to_thread(flow_acknowledge, browser, console)


class TestIncidents:
    async def test_declare_lead_update_resolve(self, console: Console, browser: Browser) -> None:
        """An incident declared in the console is led, updated and resolved from its view."""
        await asyncio.to_thread(flow_incident, browser, console)


class TestSchedules:
    async def test_override_shows_on_the_calendar(self, console: Console, browser: Browser) -> None:
        """An override made in the rotation's calendar shows there, at the local times
        typed into the form."""
        await asyncio.to_thread(flow_override, browser, console)
