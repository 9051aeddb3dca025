"""Alert storm benchmark: Alertmanager webhook deliveries into pages, against raw Temporal.

The issue's goals: single-alert intake (``--per-post 1``) at >= 0.9x the deliveries/s of raw
signal-with-start, and >= 100 accepted deliveries/s with Tocsin's API and worker as separate
processes. The report opens with both verdicts.

Starts Tocsin on free loopback ports with a throw-away data directory and a config that
routes every alert (a service, a route and a default route; one person reached by
``console``; a 24 h acknowledgement timeout, so nothing escalates during the run), in one of
two layouts (``--layout``):

* ``split`` (the default, as in production): one Temporal dev server started from the
  virtualenv's ``temporal`` binary with the arguments ``tocsin dev`` gives it (never a
  download), then ``tocsin worker`` and ``tocsin api`` as two processes of their own, given
  what they need through the environment (``TOCSIN_TEMPORAL_ADDRESS``, ``TOCSIN_CONFIG``,
  ``TOCSIN_API_TOKEN``, ``TOCSIN_API_PORT``, ``TOCSIN_DATA_DIR``, ``TOCSIN_LINK_KEY``);
  every other setting at its default.
* ``dev``: ``tocsin dev``, API and worker in one process with the dev server it starts.

Then, on the same dev server:

* **Tocsin** — ``M`` alerts spread round-robin over ``G`` Alertmanager groups are POSTed to
  ``/webhooks/alertmanager`` as Alertmanager would (webhook v4, one ``groupKey`` per group,
  ``receiver: tocsin``), ``--per-post`` alerts per delivery (1: every alert a delivery of its
  own), at most ``C`` deliveries in flight. Reports accepted deliveries and alerts per second
  (2xx), webhook latency, refusals, the time from the first POST until all ``G`` pages exist,
  then checks deduplication and completeness: exactly ``G`` page workflows (``TocsinKind =
  "page"``), one per group key, all running, and every alert's fingerprint exactly once in its
  page's ``alerts`` (``get_state`` query). PASS or FAIL; FAIL exits non-zero.
* **raw** — the ceiling: the same number of signal-with-starts (same payload, same deliveries
  per workflow id, same concurrency) onto a no-op workflow that counts its signals
  (``bench/raw_signals.py``), served on its own task queue by a worker process of its own,
  as Tocsin's worker is, with a Tocsin worker's default cache, slots and sticky timeout
  (``worker.settings.Settings``). Its counts must match what was sent (part of the check).

Reports the Tocsin/raw ratios of accepted deliveries/s and of webhook latency (p50, p99), the
CPU seconds each process spent during each storm (the dev server, Tocsin's API and worker or
``tocsin dev``, the raw worker, the bench), and where the time goes, from the workflow
histories: delivery sent → its signal in history → answer at the client, and workflow tasks'
queue wait and run time. While one subject is stormed the other's processes sit idle.

Unlike Alertmanager, which resends a group's whole alert list on every notification, each
delivery here carries only its own ``--per-post`` new alerts: a storm of separate deliveries.

Not part of the test run. Usage::

    .venv/bin/python bench/alert_storm.py [--layout split|dev] [--alerts 5000] [--groups 50]
        [--concurrency 20] [--per-post 1]

A quick run: ``--alerts 1000 --groups 20``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import os
import secrets
import shlex
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from common import (
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    cpu_seconds,
    cpu_usage,
    free_ports,
    num,
    pct,
    percentile,
    running_stack,
)
from common import progress as _progress
from raw_signals import CounterWorkflow
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from starters.alertmanager import group_page_key
from starters.clients.pages import PageWorkflowClient
from starters.dev import die_with_parent, temporal_binary, temporal_command
from worker.settings import Settings, env_name
from workflows.ids import page_workflow_id
from workflows.models import Alert, AlertQuery, PageState, PageStatus

RECEIVER = "tocsin"
TEAM = "storm"
ALERTNAME = "StormAlert"
VISIBILITY_TIMEOUT = 60.0
PAGE_QUERY = 'TocsinKind = "page"'

CONFIG = f"""\
timezone: UTC
people:
  pager: {{name: Storm Pager, contact: [console]}}
teams:
  {TEAM}: {{members: [pager], escalation_policy: {TEAM}}}
escalation_policies:
  {TEAM}:
    steps:
      - {{targets: ["person:pager"], ack_timeout: 24h}}
services:
  {TEAM}: {{team: {TEAM}}}
routes:
  - {{match_re: {{service: "storm-.*"}}, service: {TEAM}}}
  - {{default: true, team: {TEAM}}}
"""

GRAFANA_ONCALL = "Grafana OnCall default limit: 300 alerts / 5 min per integration (1 alert/s)"
KEEP = "Keep: ~0.5 s per alert (~2 alerts/s)"


# -- the storm ----------------------------------------------------------------------------------


def fingerprint(run: str, index: int) -> str:
    """A unique 16-hex-digit fingerprint per alert, as Alertmanager's."""
    return hashlib.sha256(f"{run}:{index}".encode()).hexdigest()[:16]


def service_of(group: int) -> str:
    return f"storm-{group:03d}"


def group_key(group: int) -> str:
    """Alertmanager's group key: route matchers, then the group's label values."""
    return (
        f'{{}}/{{severity="critical"}}:{{alertname="{ALERTNAME}", service="{service_of(group)}"}}'
    )


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: a group's next ``--per-post`` alerts."""

    group: int
    alerts: list[dict[str, Any]]
    body: bytes


@dataclass
class Storm:
    """Every delivery, interleaved across groups, and what each page must end up holding."""

    deliveries: list[Delivery]
    expected: dict[str, set[str]]  # page key → fingerprints

    @classmethod
    def build(cls, run: str, alerts: int, groups: int, per_post: int) -> Storm:
        starts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        members: list[list[int]] = [[] for _ in range(groups)]
        for index in range(alerts):
            members[index % groups].append(index)
        per_group: list[list[Delivery]] = []
        expected: dict[str, set[str]] = {}
        for group, indexes in enumerate(members):
            expected[group_page_key(RECEIVER, group_key(group))] = {
                fingerprint(run, i) for i in indexes
            }
            chunks = [indexes[i : i + per_post] for i in range(0, len(indexes), per_post)]
            per_group.append([_delivery(run, group, chunk, starts) for chunk in chunks])
        interleaved = [
            d for wave in itertools.zip_longest(*per_group) for d in wave if d is not None
        ]
        return cls(interleaved, {k: v for k, v in expected.items() if v})


def _delivery(run: str, group: int, indexes: list[int], starts: str) -> Delivery:
    alerts: list[dict[str, Any]] = []
    for index in indexes:
        instance = f"host-{index:05d}"
        alerts.append(
            {
                "status": "firing",
                "labels": {
                    "alertname": ALERTNAME,
                    "service": service_of(group),
                    "instance": instance,
                    "severity": "critical",
                },
                "annotations": {
                    "summary": f"{ALERTNAME} on {instance}",
                    "runbook_url": "https://example.com/runbooks/storm",
                },
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"http://prometheus.example:9090/graph?g0.expr=storm{group}",
                "fingerprint": fingerprint(run, index),
            }
        )
    common = dict(
        set.intersection(*(set(a["labels"].items()) for a in alerts))  # labels all alerts share
    )
    body = {
        "receiver": RECEIVER,
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": ALERTNAME, "service": service_of(group)},
        "commonLabels": common,
        "commonAnnotations": {"runbook_url": "https://example.com/runbooks/storm"},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": group_key(group),
        "truncatedAlerts": 0,
    }
    return Delivery(group, alerts, json.dumps(body).encode())


# -- the stack under test -----------------------------------------------------------------------


async def check_config(path: Path) -> None:
    """``tocsin config check`` on ``path``; raises with its output unless it says ok."""
    tocsin = Path(sys.executable).parent / "tocsin"
    process = await asyncio.create_subprocess_exec(
        str(tocsin),
        "config",
        "check",
        str(path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    output = out.decode(errors="replace").strip()
    if process.returncode != 0:
        raise RuntimeError(f"tocsin config check failed ({process.returncode}):\n{output}")
    progress(f"tocsin config check: {output}")


@dataclass
class Child:
    """A process the bench started, in a session of its own, its output in ``log``."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def check_running(self) -> None:
        if self.process.returncode is not None:
            raise RuntimeError(
                f"{self.name} exited with code {self.process.returncode}:\n{self.tail()}"
            )

    async def stop(self) -> None:
        """SIGTERM, wait; SIGKILL after ``STOP_TIMEOUT``."""
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            progress(f"{self.name} did not stop in {STOP_TIMEOUT:.0f}s: killing it")
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def child(
    name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Child]:
    """Run ``argv`` while the body runs; stopped after it, its log tail shown if it fails.

    Its own session keeps a Ctrl-C at the terminal for the bench, which stops its children
    in order (the API and workers before the server); the parent-death signal kills them
    should the bench die without doing so.
    """
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
    running = Child(name, process, log)
    try:
        yield running
    except Exception:
        print(f"-- {name}, last lines of {log}:\n{running.tail()}", file=sys.stderr)
        raise
    finally:
        await running.stop()


async def until(what: str, ready: Callable[[], Awaitable[bool]], *watched: Child) -> None:
    """Poll ``ready`` until true; fail if a ``watched`` process exits or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        with contextlib.suppress(Exception):  # not up yet: refused connections and the like
            if await ready():
                return
        for process in watched:
            process.check_running()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {STARTUP_TIMEOUT:.0f}s")
        await asyncio.sleep(0.2)


async def polled(client: Client, task_queue: str) -> bool:
    """Whether a worker polls ``task_queue`` for workflow tasks."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return bool(described.pollers)


@dataclass
class Target:
    """Tocsin running: where to reach it, and the processes whose CPU the report shows."""

    temporal_address: str
    api_url: str
    token: str
    workdir: Path
    temporal_pid: int | None
    processes: dict[str, int]  # Tocsin's own processes by name, in report order


@contextlib.asynccontextmanager
async def split_target(workdir: Path) -> AsyncIterator[Target]:
    """The dev server, ``tocsin worker`` and ``tocsin api``: three processes."""
    config = workdir / "tocsin.yaml"
    config.write_text(CONFIG)
    await check_config(config)
    temporal_port, ui_port, api_port = free_ports(3)
    address = f"127.0.0.1:{temporal_port}"
    server = Settings(data_dir=workdir / "data", temporal_port=temporal_port, ui_port=ui_port)
    server.data_dir.mkdir()
    token = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    given = {
        "config": str(config),
        "data_dir": str(server.data_dir),
        "temporal_address": address,
        "api_token": token,  # also Alertmanager's bearer token by default
        "api_host": "127.0.0.1",
        "api_port": str(api_port),
        "link_key": secrets.token_urlsafe(32),  # as ``tocsin dev`` makes one: links signed
    }
    env |= {env_name(setting): value for setting, value in given.items()}
    tocsin = str(Path(sys.executable).parent / "tocsin")
    api_url = f"http://127.0.0.1:{api_port}"
    async with contextlib.AsyncExitStack() as stack:
        progress(f"starting the Temporal dev server on {address}")
        temporal = await stack.enter_async_context(
            child(
                "temporal",
                temporal_command(server, temporal_binary()),
                workdir / "temporal.log",
            )
        )
        client = await connected(address, temporal)
        progress("starting tocsin worker")
        worker = await stack.enter_async_context(
            child("tocsin worker", [tocsin, "worker"], workdir / "worker.log", env)
        )
        await until("tocsin worker", lambda: polled(client, Settings().task_queue), worker)
        progress("starting tocsin api")
        api = await stack.enter_async_context(
            child("tocsin api", [tocsin, "api"], workdir / "api.log", env)
        )
        async with httpx.AsyncClient(timeout=2.0) as http:

            async def healthy() -> bool:
                return (await http.get(f"{api_url}/healthz")).status_code == 200

            await until("tocsin api", healthy, api)
        yield Target(
            address,
            api_url,
            token,
            workdir,
            temporal.pid,
            {"api": api.pid, "worker": worker.pid},
        )
        progress("stopping tocsin api, tocsin worker and the dev server")


async def connected(address: str, server: Child) -> Client:
    """A client of the dev server at ``address`` once it answers."""
    found: list[Client] = []

    async def up() -> bool:
        found.append(await Client.connect(address))
        return True

    await until("the Temporal dev server", up, server)
    return found[0]


@contextlib.asynccontextmanager
async def dev_target() -> AsyncIterator[Target]:
    """``tocsin dev``: API, worker and the dev server it starts."""
    async with running_stack("tocsin-storm-", CONFIG, progress, check_config) as stack:
        yield Target(
            stack.temporal_address,
            stack.api_url,
            stack.token,
            stack.log_path.parent,
            stack.temporal_pid,
            {"tocsin dev": stack.process.pid},
        )


@contextlib.asynccontextmanager
async def tocsin_target(layout: str) -> AsyncIterator[Target]:
    if layout == "dev":
        async with dev_target() as target:
            yield target
        return
    with tempfile.TemporaryDirectory(prefix="tocsin-storm-") as workdir:
        async with split_target(Path(workdir)) as target:
            yield target


@contextlib.asynccontextmanager
async def raw_worker(target: Target, task_queue: str) -> AsyncIterator[Child]:
    """``bench/raw_signals.py`` serving ``task_queue``, with a Tocsin worker's defaults."""
    defaults = Settings()
    argv = [
        sys.executable,
        str(Path(__file__).with_name("raw_signals.py")),
        f"--address={target.temporal_address}",
        f"--task-queue={task_queue}",
        f"--cache={defaults.worker_cache}",
        f"--workflow-slots={defaults.worker_workflow_slots}",
        f"--activity-slots={defaults.worker_activity_slots}",
        f"--sticky-timeout={defaults.worker_sticky_timeout}",
    ]
    client = await Client.connect(target.temporal_address)
    async with child("raw worker", argv, target.workdir / f"{task_queue}.log") as worker:
        await until("the raw worker", lambda: polled(client, task_queue), worker)
        yield worker


# -- firing the storm ---------------------------------------------------------------------------


@dataclass
class Sent:
    """One delivery's outcome: monotonic send and answer times, HTTP status (0: no answer)."""

    sent: float
    done: float
    status: int
    alerts: int
    sent_wall: float
    first: str  # the first alert's fingerprint: finds the delivery's signal in a history
    error: str | None = None

    @property
    def done_wall(self) -> float:
        return self.sent_wall + (self.done - self.sent)


@dataclass
class Phase:
    """One storm against one subject."""

    name: str
    results: list[Sent]
    started: float  # monotonic, first send
    started_wall: float
    cpu: dict[str, float | None]  # process → share of one core during the storm
    cpu_window: float  # seconds the CPU was measured over: first send → last answer
    all_started_at: float | None = None  # seconds after the first send, server start times
    all_listed_at: float | None = None  # seconds after the first send, visibility count
    all_in_state_at: float | None = None  # seconds after the first send, every alert queried

    @property
    def ok(self) -> list[Sent]:
        return [r for r in self.results if 200 <= r.status < 300]

    @property
    def refused(self) -> int:
        return len(self.results) - len(self.ok)

    @property
    def wall(self) -> float:
        return max((r.done for r in self.results), default=self.started) - self.started

    @property
    def deliveries_per_s(self) -> float:
        return len(self.ok) / self.wall if self.wall > 0 else 0.0

    @property
    def alerts_per_s(self) -> float:
        return sum(r.alerts for r in self.ok) / self.wall if self.wall > 0 else 0.0

    def latency_ms(self, q: float) -> float | None:
        values = [(r.done - r.sent) * 1000 for r in self.ok]
        return percentile(values, q) if values else None


Send = Callable[[Delivery], Awaitable[int]]


async def fire(
    name: str,
    deliveries: Sequence[Delivery],
    send: Send,
    concurrency: int,
    cpu: Callable[[], dict[str, float | None]],
    watch: Callable[[float], Coroutine[Any, Any, float]] | None = None,
) -> Phase:
    """Send every delivery, at most ``concurrency`` in flight, in order; ``watch`` runs alongside."""
    queue: Iterator[Delivery] = iter(deliveries)
    results: list[Sent] = []
    cpu_before = cpu()
    started, started_wall = time.monotonic(), time.time()
    watcher = asyncio.create_task(watch(started)) if watch is not None else None

    async def lane() -> None:
        for delivery in queue:
            sent, sent_wall = time.monotonic(), time.time()
            try:
                status, error = await send(delivery), None
            except Exception as err:  # noqa: BLE001 - a benchmark reports failures instead of stopping
                status, error = 0, f"{type(err).__name__}: {err}"[:300]
            results.append(
                Sent(
                    sent,
                    time.monotonic(),
                    status,
                    len(delivery.alerts),
                    sent_wall,
                    str(delivery.alerts[0]["fingerprint"]),
                    error,
                )
            )

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    window = time.monotonic() - started
    usage = cpu_usage(cpu_before, cpu(), window)
    phase = Phase(name, results, started, started_wall, usage, window)
    if watcher is not None:
        with contextlib.suppress(TimeoutError):
            phase.all_listed_at = await asyncio.wait_for(watcher, VISIBILITY_TIMEOUT)
    return phase


async def watch_count(client: Client, query: str, want: int, started: float) -> float:
    """Seconds after ``started`` when visibility first counted ``want`` workflows for ``query``."""
    while True:
        with contextlib.suppress(Exception):
            if (await client.count_workflows(query)).count >= want:
                return time.monotonic() - started
        await asyncio.sleep(0.25)


T = TypeVar("T")


async def gather_limited(calls: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


# -- checks -------------------------------------------------------------------------------------


@dataclass
class PageFacts:
    key: str
    state: PageState | None  # None: the query failed (error)
    history_events: int
    started_wall: float | None
    error: str | None = None
    state_bytes: int = 0


@dataclass
class Check:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


async def settled_count(client: Client, query: str, want: int) -> int:
    """Visibility is eventually consistent: wait (bounded) for the count to reach ``want``."""
    deadline = time.monotonic() + VISIBILITY_TIMEOUT
    while True:
        count = (await client.count_workflows(query)).count
        if count >= want or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.5)


async def page_facts(pages: PageWorkflowClient, key: str) -> PageFacts:
    described = await pages.describe(key)
    start = described.start_time.timestamp() if described.start_time else None
    events = described.raw_description.workflow_execution_info.history_length
    try:
        state = await pages.get_state(key)
        # The first escalation step may still be queued behind the storm: wait for it (bounded).
        deadline = time.monotonic() + VISIBILITY_TIMEOUT
        while state.step < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            state = await pages.get_state(key)
        # get_state shows at most 100 alerts; read them all for the completeness check.
        alerts: list[Alert] = []
        while len(alerts) < state.alerts_total:
            chunk = await pages.get_alerts(key, AlertQuery(offset=len(alerts), limit=1000))
            alerts += chunk.alerts
    except Exception as err:  # noqa: BLE001 - reported as a failed check
        return PageFacts(key, None, events, start, f"{type(err).__name__}: {err}"[:200])
    size = len(state.model_dump_json())
    return PageFacts(
        key, state.model_copy(update={"alerts": alerts}), events, start, state_bytes=size
    )


async def check_pages(client: Client, storm: Storm, phase: Phase) -> tuple[Check, list[PageFacts]]:
    """Exactly one running page per group key, and every alert exactly once in its page."""
    check = Check()
    if phase.refused:
        check.problems.append(f"{phase.refused} deliveries were not accepted (non-2xx)")
    workflows = await check_workflows(client, storm, check)
    pages = PageWorkflowClient(client, Settings().task_queue)
    facts = await gather_limited(
        [functools.partial(page_facts, pages, key) for key in storm.expected], 10
    )
    check.notes.append(f"{workflows}; {check_alerts(storm, facts, check)}")
    return check, facts


async def check_workflows(client: Client, storm: Storm, check: Check) -> str:
    """One page workflow per group key, all running, none other."""
    want = len(storm.expected)
    expected_ids = {page_workflow_id(k) for k in storm.expected}
    total = await settled_count(client, PAGE_QUERY, want)
    running = await settled_count(client, f'{PAGE_QUERY} AND ExecutionStatus = "Running"', want)
    listed = [w.id async for w in client.list_workflows(PAGE_QUERY)]
    if total != want or len(listed) != want:
        check.problems.append(f"{total} page workflows counted, {len(listed)} listed, not {want}")
    if running != want:
        check.problems.append(f"{running} page workflows running, not {want}")
    if len(set(listed)) != len(listed):
        check.problems.append(f"{len(listed) - len(set(listed))} page workflow ids listed twice")
    if extra := set(listed) - expected_ids:
        check.problems.append(f"{len(extra)} unexpected pages, e.g. {sorted(extra)[0]}")
    if absent := expected_ids - set(listed):
        check.problems.append(f"{len(absent)} group pages not listed, e.g. {sorted(absent)[0]}")
    return f"{len(listed)} page workflows ({running} running) for {want} group keys"


def check_alerts(storm: Storm, facts: list[PageFacts], check: Check) -> str:
    """Every fingerprint exactly once, in its own page, firing; pages routed, not escalated."""
    missing = duplicated = foreign = wrong_status = 0
    for fact in facts:
        if fact.state is None:
            missing += len(storm.expected[fact.key])
            check.problems.append(f"page {fact.key}: get_state failed: {fact.error}")
            continue
        seen = [a.fingerprint for a in fact.state.alerts]
        expected = storm.expected[fact.key]
        missing += len(expected - set(seen))
        duplicated += len(seen) - len(set(seen))
        foreign += len(set(seen) - expected)
        wrong_status += sum(1 for a in fact.state.alerts if a.status != "firing")
        if fact.state.unrouted or fact.state.service != TEAM:
            check.problems.append(f"page {fact.key} not routed to service {TEAM}")
        if fact.state.status != PageStatus.triggered or fact.state.step != 1:
            check.problems.append(
                f"page {fact.key} is {fact.state.status.value} at step {fact.state.step}"
            )
    wanted = sum(len(v) for v in storm.expected.values())
    found = sum(len(f.state.alerts) for f in facts if f.state is not None)
    for count, problem in (
        (missing, f"alert fingerprints of {wanted} missing from their page"),
        (duplicated, "alerts held twice in a page"),
        (foreign, "alerts in the page of another group"),
        (wrong_status, "alerts not firing"),
    ):
        if count:
            check.problems.append(f"{count} {problem}")
    return (
        f"{found - duplicated - foreign}/{wanted} fingerprints in their page, "
        f"{duplicated} duplicated, {foreign} misplaced"
    )


# -- where the time goes: workflow histories ----------------------------------------------------


@dataclass
class Stages:
    """Milliseconds per stage, from server event times and the bench's clock (same machine)."""

    to_signal: list[float] = field(default_factory=list)  # delivery sent → signal in history
    to_answer: list[float] = field(default_factory=list)  # signal in history → answer at client
    task_wait: list[float] = field(default_factory=list)  # workflow task scheduled → started
    task_run: list[float] = field(default_factory=list)  # workflow task started → completed
    signals: int = 0


def _first_fingerprint(data: bytes) -> str | None:
    """The first alert's fingerprint in a signal's JSON argument (AlertBatch or a list)."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    alerts = value.get("alerts") if isinstance(value, dict) else value
    if isinstance(alerts, list) and alerts and isinstance(alerts[0], dict):
        return str(alerts[0].get("fingerprint"))
    return None


async def stages(client: Client, workflow_ids: Sequence[str], phase: Phase) -> Stages:
    """Per delivery: until its signal was written, and after; per workflow task: wait and run."""
    by_first = {r.first: r for r in phase.ok}
    result = Stages()
    histories = await gather_limited(
        [client.get_workflow_handle(w).fetch_history for w in workflow_ids], 10
    )
    for history in histories:
        scheduled: dict[int, float] = {}
        started: dict[int, float] = {}
        for event in history.events:
            at = event.event_time.ToNanoseconds() / 1e9
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                scheduled[event.event_id] = at
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                started[event.event_id] = at
                attrs = event.workflow_task_started_event_attributes
                if attrs.scheduled_event_id in scheduled:
                    result.task_wait.append((at - scheduled[attrs.scheduled_event_id]) * 1000)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                begun = started.get(event.workflow_task_completed_event_attributes.started_event_id)
                if begun is not None:
                    result.task_run.append((at - begun) * 1000)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                result.signals += 1
                payloads = event.workflow_execution_signaled_event_attributes.input.payloads
                sent = (
                    by_first.get(_first_fingerprint(payloads[0].data) or "") if payloads else None
                )
                if sent is not None:
                    result.to_signal.append((at - sent.sent_wall) * 1000)
                    result.to_answer.append((sent.done_wall - at) * 1000)
    return result


# -- the two subjects ---------------------------------------------------------------------------


def webhook_sender(http: httpx.AsyncClient, errors: list[str]) -> Send:
    async def send(delivery: Delivery) -> int:
        response = await http.post("/webhooks/alertmanager", content=delivery.body)
        if not 200 <= response.status_code < 300 and len(errors) < 5:
            errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return response.status_code

    return send


def raw_sender(client: Client, task_queue: str, run: str) -> Send:
    async def send(delivery: Delivery) -> int:
        await client.start_workflow(
            CounterWorkflow.run,
            id=raw_id(run, delivery.group),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="deliver",
            start_signal_args=[delivery.alerts],
        )
        return 200

    return send


def raw_id(run: str, group: int) -> str:
    return f"storm-raw-{run}-{group}"


def cpu_reader(target: Target, processes: dict[str, int]) -> Callable[[], dict[str, float | None]]:
    """CPU seconds so far of the dev server, ``processes`` and the bench, in report order."""
    pids: dict[str, int | None] = {"temporal": target.temporal_pid, **processes}
    pids["bench"] = os.getpid()
    return lambda: {name: cpu_seconds(pid) for name, pid in pids.items()}


async def storm_tocsin(target: Target, storm: Storm, args: argparse.Namespace) -> Phase:
    client = await Client.connect(target.temporal_address, data_converter=pydantic_data_converter)
    groups = len(storm.expected)
    errors: list[str] = []
    async with httpx.AsyncClient(
        base_url=target.api_url,
        headers={"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"},
        timeout=60.0,
        limits=httpx.Limits(max_connections=args.concurrency + 2),
    ) as http:
        progress(f"tocsin: {len(storm.deliveries)} webhook deliveries")
        phase = await fire(
            "tocsin webhook",
            storm.deliveries,
            webhook_sender(http, errors),
            args.concurrency,
            cpu_reader(target, target.processes),
            lambda started: watch_count(client, PAGE_QUERY, groups, started),
        )
    for error in errors:
        progress(f"tocsin refusal: {error}")
    return phase


async def storm_raw(
    target: Target, storm: Storm, args: argparse.Namespace
) -> tuple[Phase, Check, Stages]:
    client = await Client.connect(target.temporal_address)
    run = secrets.token_hex(3)
    task_queue = f"storm-raw-{run}"
    groups = sorted({d.group for d in storm.deliveries})
    query = f'WorkflowType = "BenchStormCounter" AND TaskQueue = "{task_queue}"'
    check = Check()
    progress("raw: starting its worker process")
    async with raw_worker(target, task_queue) as worker:
        progress(f"raw: {len(storm.deliveries)} signal-with-starts")
        phase = await fire(
            "raw signal-with-start",
            storm.deliveries,
            raw_sender(client, task_queue, run),
            args.concurrency,
            cpu_reader(target, {"raw worker": worker.pid}),
            lambda started: watch_count(client, query, len(groups), started),
        )
        handles = [client.get_workflow_handle(raw_id(run, g)) for g in groups]
        starts = await gather_limited([h.describe for h in handles], 10)
        walls = [d.start_time.timestamp() for d in starts if d.start_time]
        if len(walls) == len(groups):
            phase.all_started_at = max(walls) - phase.started_wall
        counts = await gather_limited(
            [functools.partial(h.query, CounterWorkflow.counts) for h in handles], 10
        )
        phase.all_in_state_at = time.monotonic() - phase.started
        signals = sum(c[0] for c in counts)
        alerts = sum(c[1] for c in counts)
        sent_alerts = sum(len(d.alerts) for d in storm.deliveries)
        if signals != len(storm.deliveries) or alerts != sent_alerts:
            check.problems.append(
                f"raw counted {signals} signals / {alerts} alerts, sent "
                f"{len(storm.deliveries)} / {sent_alerts}"
            )
        for handle in handles:
            await handle.signal(CounterWorkflow.finish)
        for handle in handles:
            await handle.result()
        progress("raw: reading workflow histories")
        where = await stages(client, [h.id for h in handles], phase)
    return phase, check, where


# -- report -------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _p(values: Sequence[float], q: float) -> str:
    return num(percentile(values, q)) if values else "-"


def stage_lines(where: Sequence[tuple[str, Stages]]) -> list[str]:
    lines = [
        "where time goes, ms p50/p99 (server event times; bench clock for send and answer):",
        f"{'':<8} {'sent→signal':>13} {'signal→answer':>13} {'WFT wait':>11} {'WFT run':>11} "
        f"{'WFTs':>6} {'signals/WFT':>11}",
    ]
    for name, st in where:
        cells = [
            f"{_p(v, 50)}/{_p(v, 99)}"
            for v in (st.to_signal, st.to_answer, st.task_wait, st.task_run)
        ]
        per_task = f"{st.signals / len(st.task_run):.2f}" if st.task_run else "-"
        lines.append(
            f"{name:<8} {cells[0]:>13} {cells[1]:>13} {cells[2]:>11} {cells[3]:>11} "
            f"{len(st.task_run):>6} {per_task:>11}"
        )
    return lines


GOAL_RATIO = 0.9  # single-alert intake against raw signal-with-start
GOAL_RATE = 100.0  # accepted deliveries/s, API and worker as separate processes

LAYOUTS = {
    "split": "the dev server, tocsin api and tocsin worker: three processes",
    "dev": "tocsin dev: API and worker in one process, with the dev server it starts",
}


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def goal_lines(tocsin: Phase, raw: Phase, args: argparse.Namespace) -> list[str]:
    """The issue's two goals, first in the report."""
    rate, ceiling = tocsin.deliveries_per_s, raw.deliveries_per_s
    ratio = rate / ceiling if ceiling else 0.0
    lines = [
        f"== tocsin/raw, layout {args.layout} ({LAYOUTS[args.layout]}) ==",
        f"accepted deliveries/s: tocsin {rate:.1f}, raw {ceiling:.1f}: tocsin/raw "
        f"{_ratio(rate, ceiling)} (goal >= {GOAL_RATIO:.2f}x: {_met(ratio >= GOAL_RATIO)})",
    ]
    for q in (50, 99):
        mine, theirs = tocsin.latency_ms(q), raw.latency_ms(q)
        lines.append(
            f"latency p{q}: tocsin {num(mine)} ms, raw {num(theirs)} ms: tocsin/raw "
            f"{_ratio(mine, theirs)}"
        )
    reached = (
        f">= {GOAL_RATE:.0f} deliveries/s: {'reached' if rate >= GOAL_RATE else 'NOT reached'}"
    )
    if args.layout == "split":
        lines.append(f"{reached} with API and worker as separate processes ({rate:.1f}/s)")
    else:
        lines.append(f"{reached} ({rate:.1f}/s; the goal is for --layout split)")
    if args.per_post != 1:
        lines.append(
            f"(the goals are for single-alert intake; this run: --per-post {args.per_post})"
        )
    return lines


def cpu_lines(phases: Sequence[Phase]) -> list[str]:
    """CPU seconds (and share of one core) per process during each storm."""
    lines = [
        f"cpu during each storm (first send → last answer), seconds (share of one core; "
        f"{os.cpu_count()} cores), and server + subject ms per accepted delivery:"
    ]
    for phase in phases:
        cells = []
        spent = 0.0
        for name, share in phase.cpu.items():
            if share is None:
                cells.append(f"{name} -")
                continue
            seconds = share * phase.cpu_window
            spent += seconds if name != "bench" else 0.0
            cells.append(f"{name} {seconds:.1f} s ({pct(share)})")
        per = f"{spent * 1000 / len(phase.ok):.2f} ms" if phase.ok else "-"
        lines.append(f"{phase.name:<22} {'  '.join(cells)}  | {per}/delivery")
    return lines


def report(
    tocsin: Phase,
    raw: Phase,
    check: Check,
    raw_check: Check,
    facts: list[PageFacts],
    where: Sequence[tuple[str, Stages]],
    args: argparse.Namespace,
) -> str:
    lines = [*goal_lines(tocsin, raw, args), ""]
    lines.append(
        f"{'phase':<22} {'posts':>5} {'alerts':>6} {'non2xx':>6} {'post/s':>7} {'alert/s':>7} "
        f"{'p50 ms':>6} {'p99 ms':>6} {'max ms':>6} {'wall s':>6} {'pages s':>7} {'listed s':>8}"
        f" {'drain s':>7}"
    )
    for phase in (tocsin, raw):
        lines.append(
            f"{phase.name:<22} {len(phase.results):>5} {sum(r.alerts for r in phase.ok):>6} "
            f"{phase.refused:>6} {phase.deliveries_per_s:>7.1f} {phase.alerts_per_s:>7.1f} "
            f"{num(phase.latency_ms(50)):>6} {num(phase.latency_ms(99)):>6} "
            f"{num(phase.latency_ms(100)):>6} {phase.wall:>6.1f} {num(phase.all_started_at, 2):>7}"
            f" {num(phase.all_listed_at, 2):>8} {num(phase.all_in_state_at):>7}"
        )
    lines += ["", *cpu_lines((tocsin, raw)), ""]
    states = [f.state for f in facts if f.state is not None]
    if states:
        alerts = [len(s.alerts) for s in states]
        timeline = [len(s.timeline) for s in states]
        size = max(f.state_bytes for f in facts) / 1024
        lines.append(
            f"per page: alerts {min(alerts)}-{max(alerts)}, timeline entries "
            f"{min(timeline)}-{max(timeline)}, state JSON up to {size:.0f} KiB"
        )
    if facts:
        events = [f.history_events for f in facts]
        lines.append(
            f"per page: history events {min(events)}-{max(events)} (hard limit 51,200), "
            f"{sum(1 for f in facts if f.state is None)} unreadable (get_state failed)"
        )
    lines += ["", *stage_lines(where), ""]
    lines.append(f"check: {'PASS' if check.passed and raw_check.passed else 'FAIL'}")
    lines += [f"  {note}" for note in check.notes]
    lines += [f"  FAIL: {problem}" for problem in check.problems + raw_check.problems]
    first_errors = [r.error for p in (tocsin, raw) for r in p.results if r.error][:5]
    lines += [f"  error: {e}" for e in first_errors]
    lines += [
        "",
        "post/s, alert/s: accepted (2xx) deliveries and alerts per second, first send → last answer;",
        "p50/p99/max: delivery latency (webhook POST → answer | signal-with-start RPC);",
        "pages s: first send → the last of the G workflows started (server start times);",
        "listed s: first send → visibility counted all G (polled every 0.25 s);",
        "drain s: first send → every workflow answered a query holding all its alerts;",
        "raw: bench/raw_signals.py in a worker process of its own, a Tocsin worker's default "
        "cache and slots.",
        f"reference: {GRAFANA_ONCALL}; {KEEP}.",
    ]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        default="split",
        help="split: tocsin api and tocsin worker as two processes (default); dev: tocsin dev",
    )
    parser.add_argument("--alerts", type=int, default=5000, help="alerts in the storm (5000)")
    parser.add_argument("--groups", type=int, default=50, help="Alertmanager groups (50)")
    parser.add_argument("--concurrency", type=int, default=20, help="deliveries in flight (20)")
    parser.add_argument("--per-post", type=int, default=1, help="alerts per delivery (1)")
    args = parser.parse_args(argv)
    if min(args.alerts, args.groups, args.concurrency, args.per_post) < 1:
        parser.error("--alerts, --groups, --concurrency and --per-post must be >= 1")
    if args.groups > args.alerts:
        parser.error("--groups must not exceed --alerts")
    return args


_T0 = time.monotonic()


def progress(text: str) -> None:
    _progress(text, since=_T0)


async def main(args: argparse.Namespace) -> tuple[str, bool]:
    storm = Storm.build(secrets.token_hex(4), args.alerts, args.groups, args.per_post)
    async with tocsin_target(args.layout) as target:
        return await _run(target, storm, args)


async def _run(target: Target, storm: Storm, args: argparse.Namespace) -> tuple[str, bool]:
    tocsin = await storm_tocsin(target, storm, args)
    progress("checking pages")
    client = await Client.connect(target.temporal_address, data_converter=pydantic_data_converter)
    check, facts = await check_pages(client, storm, tocsin)
    tocsin.all_in_state_at = time.monotonic() - tocsin.started
    walls = [f.started_wall for f in facts if f.started_wall is not None]
    if len(walls) == len(storm.expected):
        tocsin.all_started_at = max(walls) - tocsin.started_wall
    progress("tocsin: reading workflow histories")
    where = await stages(client, [page_workflow_id(k) for k in storm.expected], tocsin)
    raw, raw_check, raw_where = await storm_raw(target, storm, args)
    text = report(
        tocsin, raw, check, raw_check, facts, [("tocsin", where), ("raw", raw_where)], args
    )
    return text, check.passed and raw_check.passed


def _cli() -> None:
    args = parse_args()
    command = shlex.join([sys.executable, *sys.argv])
    started = time.monotonic()
    text, passed = asyncio.run(main(args))
    print(f"command: {command}")
    print(
        f"layout={args.layout} alerts={args.alerts} groups={args.groups} "
        f"per_post={args.per_post} concurrency={args.concurrency} cpus={os.cpu_count()} "
        f"total={time.monotonic() - started:.0f}s"
    )
    print(text)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    _cli()
