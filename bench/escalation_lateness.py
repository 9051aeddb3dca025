"""Escalation lateness benchmark: a page's step-2 notification after its ack timer is due.

N pages wait on their step-1 acknowledgement timers; nobody acknowledges, so each escalates:
the timer fires, the page resolves step 2 (``resolve_step``: a local activity within the
workflow task, or an activity, as the page code has it) and ``notify`` posts to step 2's
person by Apprise ``json://`` at a loopback receiver. The receiver's arrival time of that
POST is the escalation's delivery time; **lateness** is arrival - due, where due is the
instant the page itself computed (its workflow's ``now()`` in the task that set the timer
+ the step's ack timeout, i.e. ``next_escalation_at``). The server counts the timeout from
the end of that task, so the report also gives lateness from the timer's own due (*armed*).

Each page carries an inline two-step policy (``PageInput.steps``, as the handoff's test page
does), so each has its own step-1 timeout, chosen at creation so that the dues follow a
schedule: ``--mode spread`` puts page i due at t0 + i/rate (``--rate`` per second),
``--mode aligned`` puts all N due within one second. Pages are created ahead of t0 at
``--create-rate`` with at most ``--window`` of them not yet armed (a creation backlog would
delay the tasks that set the timers, and so the dues), so all are waiting when the first is
due: the report's *slack* checks it.

The baseline, on the same kind of server in the same run: a raw Temporal chain of the same
shape (``bench/raw_chain.py``: wait for an ack until due, one trivial activity, one activity
POSTing to the same receiver), N chains with the same due schedule.

Every measurement runs in a fresh child process of this script: a new Temporal dev server
(``WorkflowEnvironment.start_local``, in-memory database, the virtualenv's ``temporal``
binary, no download) and its worker (Tocsin's ``worker.build.build_worker``, or a plain
``Worker`` for the raw chain, with the same cache and slots), which also creates the items
and reads every history afterwards. With ``--workers N`` (default 1) the child also starts
N-1 worker-only processes (this script again, given the server's address, the namespace,
the task queue and the same settings; Tocsin's read the config file the child wrote), so N
worker processes poll the one task queue; the child stops them once the histories are read.
Both subjects get the same N. The receiver runs in this process. ``--order both`` (default)
measures Tocsin, raw, then raw, Tocsin: the order alone has moved a ratio by a quarter.

Reported per measurement: lateness p50/p90/p99/max; escalations drained per second (first
due to last arrival); where the time goes after the timer, from every item's history (timer
armed and fired, workflow tasks and activities queued and run, notify to arrival); CPU
seconds of the worker processes (summed over the N), the dev server and the receiver from
the first due to the last arrival, and their peak RSS (``/proc``; the workers' summed). Then
Tocsin/raw ratios of p50, p99 and the drain rate, per pair of runs and pooled.

Not part of the test run. Usage::

    .venv/bin/python bench/escalation_lateness.py [--pages 1000] [--mode spread|aligned]
        [--rate 20] [--order both|tocsin,raw|raw,tocsin] [--raw-resolve activity|local]
        [--workers 1] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shlex
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
from common import (
    close_server,
    code_version,
    cpu_seconds,
    dev_server_pid,
    kill_leftovers,
    listen,
    load_average,
    memory_mb,
    num,
    page_of,
    percentile,
    progress,
    serve_http,
    temporal_binary,
)
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows import search

HERE = Path(__file__).resolve()
SUBJECTS = ("tocsin", "raw")
ORDERS = {
    "both": ("tocsin", "raw", "raw", "tocsin"),
    "tocsin,raw": SUBJECTS,
    "raw,tocsin": ("raw", "tocsin"),
}
TEAM = "bench"
STEP2_TIMEOUT_SECONDS = 3600.0  # nothing reaches step 3 during a run
WORKER_START_TIMEOUT = 120.0  # a worker-only process's imports, connection and first poll
WORKER_STOP_TIMEOUT = 30.0

CONFIG = """\
timezone: UTC
people:
  first: {{name: Bench First, contact: ["json://127.0.0.1:{port}/step1"]}}
  second: {{name: Bench Second, contact: ["json://127.0.0.1:{port}/step2"]}}
  beside: {{name: Bench Beside, contact: ["json://127.0.0.1:{beside_port}/beside"]}}
teams:
  {team}: {{members: [first, second], escalation_policy: {team}}}
escalation_policies:
  {team}:
    steps:
      - {{targets: ["person:first"], ack_timeout: 1h}}
      - {{targets: ["person:second"], ack_timeout: 1h}}
"""


# -- the due schedule ---------------------------------------------------------------------------


def due_offsets(mode: str, count: int, rate: float) -> list[float]:
    """Seconds after t0 at which each item falls due: ``rate`` per second, or all within 1 s."""
    if mode == "aligned":
        return [i / count for i in range(count)]
    return [i / rate for i in range(count)]


# -- /proc ----------------------------------------------------------------------------------------


def peak_rss_mb(pid: int | None) -> float | None:
    """Peak resident set size (``VmHWM``) of ``pid`` in MiB; None when unreadable."""
    return memory_mb(pid)["peak"]


# -- where the time goes: milestones from a history ----------------------------------------------

_T = EventType
RESOLVE_TYPES = {"resolve_step", "raw_resolve"}
NOTIFY_TYPES = {"notify", "raw_notify"}


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e9


def milestones(events: Sequence[HistoryEvent]) -> dict[str, float]:
    """Wall-clock instants of the first ack timer's escalation, from a workflow's history.

    ``due`` is when the workflow task that set the timer started (the workflow's ``now()``)
    plus the timer's duration; the server counts that duration from when the task completed
    (``timer due at server``). Then the timer firing, the workflow task it caused, the
    resolve step (an activity and a second workflow task, or a local activity within the
    first task) and the notify activity (scheduled, started, completed). Partial when the
    history stops early; empty without a timer.
    """
    by_id = {e.event_id: e for e in events}
    timer = next((e for e in events if e.event_type == _T.EVENT_TYPE_TIMER_STARTED), None)
    if timer is None:
        return {}
    attrs = timer.timer_started_event_attributes
    task_done = by_id[attrs.workflow_task_completed_event_id]
    task_began = by_id[task_done.workflow_task_completed_event_attributes.started_event_id]
    duration = attrs.start_to_fire_timeout.ToNanoseconds() / 1e9
    # The workflow's now(): the task's start, moved on by local activities it completed.
    markers = [
        e
        for e in events
        if e.event_type == _T.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.workflow_task_completed_event_id
        == task_done.event_id
        and e.event_id < timer.event_id
    ]
    now = _local_activity_time(markers[-1], "complete_time") if markers else None
    points = {
        "timer started": _at(timer),
        "due": (now or _at(task_began)) + duration,
        "timer due at server": _at(timer) + duration,
    }
    fired = next(
        (
            e
            for e in events
            if e.event_type == _T.EVENT_TYPE_TIMER_FIRED
            and e.timer_fired_event_attributes.started_event_id == timer.event_id
        ),
        None,
    )
    if fired is None:
        return points
    points["timer fired"] = _at(fired)
    after = [e for e in events if e.event_id > fired.event_id]
    local = _local_activity_scheduled(after, RESOLVE_TYPES)
    if local is not None:
        points["local resolve scheduled"] = local
    resolve = _first_scheduled(after, RESOLVE_TYPES)
    resolve_done = _activity(after, resolve, "resolve", points)
    rest = after if resolve_done is None else [e for e in after if e.event_id > resolve_done]
    notify = _first_scheduled(rest, NOTIFY_TYPES)
    _task(after, fired.event_id, resolve or notify, "task 1", by_id, points)
    if resolve_done is not None:  # resolved by an activity: a second task schedules notify
        _task(rest, resolve_done, notify, "task 2", by_id, points)
    _activity(rest, notify, "notify", points)
    return points


def task_problems(events: Sequence[HistoryEvent]) -> dict[str, int]:
    """Workflow tasks that timed out (by timeout type) or failed after the first timer fired."""
    fired = next((e for e in events if e.event_type == _T.EVENT_TYPE_TIMER_FIRED), None)
    found: dict[str, int] = {}
    for event in events:
        if fired is None or event.event_id < fired.event_id:
            continue
        if event.event_type == _T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            kind = event.workflow_task_timed_out_event_attributes.timeout_type
            name = f"timed out ({TimeoutType.Name(kind).removeprefix('TIMEOUT_TYPE_').lower()})"
        elif event.event_type == _T.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            name = "failed"
        else:
            continue
        found[name] = found.get(name, 0) + 1
    return found


def _local_activity_scheduled(events: Sequence[HistoryEvent], types: set[str]) -> float | None:
    """When the worker scheduled the first local activity of ``types`` (its marker's data)."""
    for event in events:
        if event.event_type != _T.EVENT_TYPE_MARKER_RECORDED:
            continue
        if _local_activity_time(event, "activity_type") in types:
            scheduled = _local_activity_time(event, "original_schedule_time")
            return float(scheduled) if isinstance(scheduled, int | float) else None
    return None


def _local_activity_time(marker: HistoryEvent, key: str) -> Any:
    """A field of a local activity marker's data; a timestamp as epoch seconds; None: absent.

    ``complete_time`` is workflow time (the ``now()`` the workflow sees once the local
    activity resolved), ``original_schedule_time`` the worker's clock.
    """
    details = marker.marker_recorded_event_attributes.details.get("data")
    if details is None or not details.payloads:
        return None
    try:
        value = json.loads(details.payloads[0].data).get(key)
    except (ValueError, AttributeError):
        return None
    if isinstance(value, dict) and "seconds" in value:
        return int(value["seconds"]) + int(value.get("nanos", 0)) / 1e9
    return value


def _first_scheduled(events: Sequence[HistoryEvent], types: set[str]) -> HistoryEvent | None:
    """The first activity scheduled of one of ``types``."""
    return next(
        (
            e
            for e in events
            if e.event_type == _T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name in types
        ),
        None,
    )


def _task(
    events: Sequence[HistoryEvent],
    since: int,
    command: HistoryEvent | None,
    label: str,
    by_id: Mapping[int, HistoryEvent],
    points: dict[str, float],
) -> None:
    """The workflow task after event ``since`` that led to ``command`` (an activity scheduled):
    the first one scheduled, the first one started, and the completion that scheduled the
    command. A task that timed out or failed is retried: its retry counts in the run time."""
    scheduled = next(
        (
            e
            for e in events
            if e.event_id > since and e.event_type == _T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
        ),
        None,
    )
    if scheduled is None:
        return
    points[f"{label} scheduled"] = _at(scheduled)
    started = next(
        (
            e
            for e in events
            if e.event_id > scheduled.event_id
            and e.event_type == _T.EVENT_TYPE_WORKFLOW_TASK_STARTED
        ),
        None,
    )
    if started is not None:
        points[f"{label} started"] = _at(started)
    if command is not None:
        completion = command.activity_task_scheduled_event_attributes
        points[f"{label} completed"] = _at(by_id[completion.workflow_task_completed_event_id])


def _activity(
    events: Sequence[HistoryEvent],
    scheduled: HistoryEvent | None,
    label: str,
    points: dict[str, float],
) -> int | None:
    """An activity's instants (scheduled, started, completed); the id of its completion."""
    if scheduled is None:
        return None
    points[f"{label} scheduled"] = _at(scheduled)
    for event in events:
        kind = event.event_type
        if (
            kind == _T.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and event.activity_task_started_event_attributes.scheduled_event_id
            == scheduled.event_id
        ):
            # Written with the completion, timestamped when the activity started.
            points[f"{label} started"] = _at(event)
        elif (
            kind == _T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            and event.activity_task_completed_event_attributes.scheduled_event_id
            == scheduled.event_id
        ):
            points[f"{label} completed"] = _at(event)
            return event.event_id
    return None


# Consecutive stages from due to arrival (their sum is the lateness, less any gap), then
# figures that overlap them.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("timer set late (its task ran)", "due", "timer due at server"),
    ("timer fired - due at server", "timer due at server", "timer fired"),
    ("task 1 queued (sched->start)", "task 1 scheduled", "task 1 started"),
    ("task 1 ran (start->done)", "task 1 started", "task 1 completed"),
    ("resolve activity queued", "resolve scheduled", "resolve started"),
    ("resolve activity ran", "resolve started", "resolve completed"),
    ("task 2 queued", "task 2 scheduled", "task 2 started"),
    ("task 2 ran", "task 2 started", "task 2 completed"),
    ("notify queued", "notify scheduled", "notify started"),
    ("notify started -> arrival", "notify started", "arrival"),
)
EXTRA_STAGES: tuple[tuple[str, str, str], ...] = (
    ("(task 1: start -> local resolve)", "task 1 started", "local resolve scheduled"),
    ("(task 1: local resolve -> done)", "local resolve scheduled", "task 1 completed"),
    ("(notify ran, to completed)", "notify started", "notify completed"),
    ("(lateness: due -> arrival)", "due", "arrival"),
)
GAPS = "(gaps between stages)"
LATENESS = "(lateness: due -> arrival)"


def stage_times(points: Mapping[str, float]) -> dict[str, float]:
    """Milliseconds per stage for one item (stages whose two instants are known)."""
    found: dict[str, float] = {}
    for name, start, end in STAGES + EXTRA_STAGES:
        if start in points and end in points:
            found[name] = (points[end] - points[start]) * 1000
    if LATENESS in found and "notify started -> arrival" in found:
        found[GAPS] = found[LATENESS] - sum(found.get(n, 0.0) for n, _, _ in STAGES)
    return found


# -- the child: one measurement ---------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSlots:
    """Sticky cache and task slots, the same for both workers (Tocsin's defaults)."""

    cache: int
    workflow_tasks: int
    activities: int


class Subject(Protocol):
    """What is measured: how one item starts, and where its history is."""

    task_queue: str

    def worker(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    def worker_env(self) -> dict[str, str]:
        """What a worker-only process needs beyond its command line (a secret)."""
        ...

    async def start(self, index: int, due: float) -> str:
        """Start item ``index`` due at ``due`` (epoch s); the id its notification carries."""
        ...

    def workflow_id(self, item: str) -> str: ...

    async def armed(self) -> int | None:
        """How many items have set their ack timer so far; None: not known."""
        ...


# A Tocsin worker-only process reads the link key here, not on its command line.
LINK_KEY_ENV = "BENCH_LINK_KEY"


@contextlib.asynccontextmanager
async def tocsin_worker(
    client: Client,
    workdir: Path,
    task_queue: str,
    slots: WorkerSlots,
    link_key: str,
    log_level: str,
    log_name: str,
) -> AsyncIterator[Worker]:
    """``build_worker`` over ``workdir``'s ``tocsin.yaml``: the child's worker and each
    worker-only process's, with the same settings."""
    from pydantic import SecretStr  # noqa: PLC0415 - the raw child never imports Tocsin

    from worker.build import build_worker  # noqa: PLC0415
    from worker.config import ConfigFile  # noqa: PLC0415
    from worker.logging import configure_logging  # noqa: PLC0415
    from worker.settings import Settings  # noqa: PLC0415

    # As `tocsin worker` logs: JSON lines off the event loop (to a file here).
    log = (workdir / log_name).open("w")
    configure_logging("json", log_level, background=True, stream=log)
    settings = Settings(
        task_queue=task_queue,
        data_dir=workdir,
        public_url="http://127.0.0.1:8080",
        link_key=SecretStr(link_key),
        worker_cache=slots.cache,
        worker_workflow_slots=slots.workflow_tasks,
        worker_activity_slots=slots.activities,
    )
    try:
        async with build_worker(
            client, settings, ConfigFile(workdir / "tocsin.yaml"), task_queue=task_queue
        ) as worker:
            yield worker
    finally:
        log.close()


@contextlib.asynccontextmanager
async def raw_worker(client: Client, task_queue: str, slots: WorkerSlots) -> AsyncIterator[Worker]:
    """A plain ``Worker`` for the raw chain: the child's and each worker-only process's."""
    from raw_chain import Poster, RawChainWorkflow, resolve  # noqa: PLC0415

    async with (
        httpx.AsyncClient(timeout=30.0) as http,
        Worker(
            client,
            task_queue=task_queue,
            workflows=[RawChainWorkflow],
            activities=[resolve, Poster(http).notify],
            # As Tocsin's worker (its settings' defaults): cache and slots.
            max_cached_workflows=slots.cache,
            max_concurrent_workflow_tasks=slots.workflow_tasks,
            max_concurrent_activities=slots.activities,
        ) as worker,
    ):
        yield worker


@dataclass
class TocsinPages:
    """Pages through Tocsin's page client, served by ``build_worker``."""

    client: Client
    workdir: Path
    receiver_port: int
    run: str
    log_level: str
    slots: WorkerSlots
    # Step 2 also notifies a person on another channel (--beside), or nobody else (None).
    beside_port: int | None = None
    task_queue: str = field(default_factory=lambda: f"bench-esc-{secrets.token_hex(4)}")
    link_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        from starters.clients.pages import PageWorkflowClient  # noqa: PLC0415 - the raw child never imports Tocsin

        self._pages = PageWorkflowClient(self.client, self.task_queue)

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[Worker]:
        # Written before any worker starts: the worker-only processes read it too.
        beside = self.beside_port or self.receiver_port
        config = CONFIG.format(port=self.receiver_port, beside_port=beside, team=TEAM)
        (self.workdir / "tocsin.yaml").write_text(config)
        async with (
            httpx.AsyncClient(timeout=10.0) as self._http,
            tocsin_worker(
                self.client,
                self.workdir,
                self.task_queue,
                self.slots,
                self.link_key,
                self.log_level,
                "worker.log",
            ) as worker,
        ):
            yield worker

    def worker_env(self) -> dict[str, str]:
        return {LINK_KEY_ENV: self.link_key}

    async def armed(self) -> int:
        """Pages whose step-1 notification arrived: it leaves with the timer set."""
        url = f"http://127.0.0.1:{self.receiver_port}/count/step1/esc-{self.run}"
        return int((await self._http.get(url)).text)

    async def start(self, index: int, due: float) -> str:
        from workflows.models import InlineStep, PageInput  # noqa: PLC0415

        key = f"esc-{self.run}-{index:05d}"
        # Relative to the workflow's now() when it sets the timer, a few ms after this.
        timeout = max(due - time.time(), 0.01)
        page = PageInput(
            key=key,
            team=TEAM,
            summary=f"Escalation bench page {index}",
            created_by="bench",
            created_via="bench",
            team_members=["first", "second"],
            steps=[
                InlineStep(targets=["person:first"], ack_timeout_seconds=timeout),
                InlineStep(
                    targets=["person:second"] + (["person:beside"] if self.beside_port else []),
                    ack_timeout_seconds=STEP2_TIMEOUT_SECONDS,
                ),
            ],
        )
        if not await self._pages.open(page):
            raise RuntimeError(f"page {key} already open")
        return key

    def workflow_id(self, item: str) -> str:
        return f"page-{item}"


@dataclass
class RawChains:
    """Raw chains (``bench/raw_chain.py``) served by a plain ``Worker``."""

    client: Client
    receiver_port: int
    run: str
    slots: WorkerSlots
    local_resolve: bool
    task_queue: str = field(default_factory=lambda: f"bench-raw-{secrets.token_hex(4)}")

    def worker(self) -> contextlib.AbstractAsyncContextManager[Worker]:
        return raw_worker(self.client, self.task_queue, self.slots)

    def worker_env(self) -> dict[str, str]:
        return {}

    async def start(self, index: int, due: float) -> str:
        from datetime import UTC, datetime  # noqa: PLC0415

        from raw_chain import ChainInput, RawChainWorkflow  # noqa: PLC0415

        chain_id = f"raw-{self.run}-{index:05d}"
        chain = ChainInput(
            chain_id=chain_id,
            due=datetime.fromtimestamp(due, UTC),
            url=f"http://127.0.0.1:{self.receiver_port}/step2",
            local_resolve=self.local_resolve,
        )
        await self.client.start_workflow(
            RawChainWorkflow.run, chain, id=chain_id, task_queue=self.task_queue
        )
        return chain_id

    def workflow_id(self, item: str) -> str:
        return item

    async def armed(self) -> None:
        return None  # a chain sends nothing before its timer fires


def cpu_now(server_pid: int | None, workers: Sequence[int]) -> dict[str, Any]:
    """CPU seconds so far: each worker process's (``workers``), their sum, the server's."""
    each = [cpu_seconds(pid) for pid in workers]
    return {
        "at": time.time(),
        "worker": None if None in each else sum(v for v in each if v is not None),
        "workers": each,
        "server": cpu_seconds(server_pid),
    }


async def create_all(
    subject: Subject, dues: Sequence[float], pace: float, in_flight: int, window: int
) -> tuple[list[str], list[str], float, float]:
    """Start every item at ``pace`` per second at most, ``in_flight`` calls at once, and (when
    the subject knows) at most ``window`` items started but not yet armed: a backlog would
    delay the task that sets each timer, and with it the item's due instant.

    Returns the started ids (in due order), the errors, and the first and last instant a
    start call returned.
    """
    gate = asyncio.Semaphore(in_flight)
    started: dict[int, str] = {}
    returned: list[float] = []
    errors: list[str] = []

    async def one(index: int) -> None:
        async with gate:
            try:
                started[index] = await subject.start(index, dues[index])
            except Exception as err:  # noqa: BLE001 - a benchmark reports failures instead of stopping
                errors.append(f"{type(err).__name__}: {err}"[:300])
                return
            returned.append(time.time())

    began = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    armed: int | None = 0
    for index in range(len(dues)):
        delay = began + index / pace - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        while armed is not None and index - armed >= window:
            armed = await subject.armed()
            if armed is not None and index - armed >= window:
                await asyncio.sleep(0.02)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    ids = [started[i] for i in sorted(started)]
    return ids, errors, min(returned, default=0.0), max(returned, default=0.0)


async def read_histories(
    client: Client, subject: Subject, ids: Sequence[str], at_once: int
) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """Every item's milestones, and its workflow tasks' troubles after the timer, summed."""
    gate = asyncio.Semaphore(at_once)
    found: dict[str, dict[str, float]] = {}
    problems: dict[str, int] = {}

    async def one(item: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(subject.workflow_id(item)).fetch_history()
        found[item] = milestones(history.events)
        troubles = task_problems(history.events)
        for name, count in troubles.items():
            problems[name] = problems.get(name, 0) + count
        if troubles:
            problems["items with any"] = problems.get("items with any", 0) + 1

    await asyncio.gather(*(one(i) for i in ids))
    return found, problems


def protocol_stream() -> IO[str]:
    """The parent's line protocol on the original stdout; anything else printed goes to stderr."""
    stream = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return stream


def send(stream: IO[str], kind: str, **values: Any) -> None:
    stream.write(json.dumps({"kind": kind, **values}) + "\n")
    stream.flush()


@contextlib.asynccontextmanager
async def extra_workers(
    args: argparse.Namespace, client: Client, subject: Subject, workdir: Path
) -> AsyncIterator[list[int]]:
    """``--workers`` - 1 worker-only processes on the subject's task queue, ready (polling);
    their pids. On leaving, each is told to stop (its stdin closed) and waited for."""
    command = [
        sys.executable,
        str(HERE),
        f"--worker-only={args.child}",
        f"--address={client.service_client.config.target_host}",
        f"--namespace={client.namespace}",
        f"--task-queue={subject.task_queue}",
        f"--workdir={workdir}",
        f"--log-level={args.log_level}",
        f"--worker-cache={args.worker_cache}",
        f"--workflow-slots={args.workflow_slots}",
        f"--activity-slots={args.activity_slots}",
    ]
    environ = {**os.environ, **subject.worker_env()}
    processes: list[asyncio.subprocess.Process] = []
    try:
        for index in range(1, args.workers):
            processes.append(
                await asyncio.create_subprocess_exec(
                    *command,
                    f"--worker-index={index}",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    env=environ,
                )
            )
        for process in processes:
            assert process.stdout is not None  # noqa: S101 - created with a pipe above
            line = await asyncio.wait_for(process.stdout.readline(), WORKER_START_TIMEOUT)
            if line.strip() != b"ready":
                raise RuntimeError(f"worker-only process {process.pid} did not start")
        yield [p.pid for p in processes]
    finally:
        await asyncio.gather(*(_stop_worker(p) for p in processes))


async def _stop_worker(process: asyncio.subprocess.Process) -> None:
    """Close its stdin (it shuts its worker down and exits); killed if it does not."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), WORKER_STOP_TIMEOUT)
    except TimeoutError:
        progress(f"worker-only process {process.pid} did not stop: killing it")
        process.kill()
        await process.wait()


async def run_worker_only(args: argparse.Namespace) -> None:
    """One more worker on a measurement's task queue, until stdin closes."""
    client = await Client.connect(
        args.address, namespace=args.namespace, data_converter=pydantic_data_converter
    )
    slots = WorkerSlots(args.worker_cache, args.workflow_slots, args.activity_slots)
    serving = (
        tocsin_worker(
            client,
            Path(args.workdir),
            args.task_queue,
            slots,
            os.environ[LINK_KEY_ENV],
            args.log_level,
            f"worker-{args.worker_index}.log",
        )
        if args.worker_only == "tocsin"
        else raw_worker(client, args.task_queue, slots)
    )
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    async with serving:
        print("ready", flush=True)
        await stdin.read()  # until the child closes it (or exits)


async def run_child(args: argparse.Namespace) -> None:
    """One measurement on a fresh dev server; talks to the parent in JSON lines."""
    out = protocol_stream()
    began = time.monotonic()
    # Tocsin's side reports the SDK's metrics into /metrics's registry, drained every
    # second, as `tocsin worker` does (worker/sdk_metrics.py); the raw chain reports none.
    from worker.sdk_metrics import keep_draining, metrics_runtime  # noqa: PLC0415

    runtime = metrics_runtime()[0] if args.child == "tocsin" else None
    stop_draining = asyncio.Event()
    draining = asyncio.create_task(keep_draining(stop_draining))
    with tempfile.TemporaryDirectory(prefix="tocsin-esc-") as workdir:
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=temporal_binary(),
            search_attributes=search.ALL_KEYS,
            ui=False,
            runtime=runtime,
        )
        try:
            slots = WorkerSlots(args.worker_cache, args.workflow_slots, args.activity_slots)
            subject: Subject = (
                TocsinPages(
                    env.client,
                    Path(workdir),
                    args.receiver_port,
                    args.run_id,
                    args.log_level,
                    slots,
                    args.beside_port,
                )
                if args.child == "tocsin"
                else RawChains(
                    env.client, args.receiver_port, args.run_id, slots, args.raw_resolve == "local"
                )
            )
            await _measure_child(args, env.client, subject, Path(workdir), out, began)
        finally:
            stop_draining.set()
            await draining
            await env.shutdown()


async def _measure_child(
    args: argparse.Namespace,
    client: Client,
    subject: Subject,
    workdir: Path,
    out: IO[str],
    began: float,
) -> None:
    server = dev_server_pid()
    async with (
        subject.worker(),
        extra_workers(args, client, subject, workdir) as extra,
    ):
        workers = [os.getpid(), *extra]
        cpu_begin = cpu_now(server, workers)
        created_at = time.time()
        pace = args.create_rate if args.child == "tocsin" else args.raw_create_rate
        t0 = created_at + args.pages / pace + args.margin
        dues = [t0 + d for d in due_offsets(args.mode, args.pages, args.rate)]
        send(out, "schedule", t0=t0, last_due=dues[-1], server_pid=server, worker_pids=workers)
        progress(
            f"{args.child}: {len(workers)} worker process(es) on {subject.task_queue}; "
            f"creating {args.pages} at {pace:g}/s",
            began,
        )
        at_t0 = asyncio.create_task(_cpu_at(t0, server, workers))
        ids, errors, first, last = await create_all(
            subject, dues, pace, args.in_flight, args.window
        )
        cpu_created = cpu_now(server, workers)
        send(out, "created", started=len(ids), ids=ids)
        progress(f"{args.child}: {len(ids)} started, first due in {t0 - time.time():.1f}s", began)
        # The parent says when every notification arrived (or it gave up).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu_done = cpu_now(server, workers)
        cpu_t0 = await at_t0
        each = [peak_rss_mb(pid) for pid in workers]
        rss = {
            "worker": None if None in each else sum(v for v in each if v is not None),
            "workers": each,
            "server": peak_rss_mb(server),
        }
        progress(f"{args.child}: reading {len(ids)} histories", began)
        read_began = time.monotonic()
        points, problems = await read_histories(client, subject, ids, args.history_at_once)
        history_s = time.monotonic() - read_began
    send(
        out,
        "result",
        created_at=created_at,
        created_first=first,
        created_last=last,
        errors=errors[:5],
        error_count=len(errors),
        points=points,
        task_problems=problems,
        cpu={"begin": cpu_begin, "created": cpu_created, "t0": cpu_t0, "done": cpu_done},
        rss_mb=rss,
        history_s=history_s,
    )


async def _cpu_at(wall: float, server: int | None, workers: Sequence[int]) -> dict[str, Any]:
    await asyncio.sleep(max(wall - time.time(), 0.0))
    return cpu_now(server, workers)


# -- the parent: receiver, measurements ---------------------------------------------------------


@dataclass
class Receiver:
    """A loopback HTTP/1.1 server (keep-alive) recording the first POST per path and page id."""

    arrivals: dict[str, dict[str, float]] = field(default_factory=dict)  # path → id → epoch s
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (path, run prefix) → ids
    requests: int = 0
    repeats: int = 0
    unparsed: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> None:
        self._server, self.port = await listen(self._handle, backlog=1024)

    async def stop(self) -> None:
        await close_server(self._server)

    def count(self, path: str, prefix: str) -> int:
        return self.counts.get((path, prefix), 0)

    async def wait_for(self, path: str, prefix: str, want: int, within: float) -> None:
        """Until ``want`` ids of ``prefix`` arrived at ``path``, or ``within`` seconds passed."""
        with contextlib.suppress(TimeoutError):
            async with self._arrived:
                await asyncio.wait_for(
                    self._arrived.wait_for(lambda: self.count(path, prefix) >= want),
                    max(within, 0.0),
                )

    def _record(self, path: str, body: bytes, arrived: float) -> None:
        self.requests += 1
        item = page_of(body)
        if item is None:
            self.unparsed += 1
            return
        seen = self.arrivals.setdefault(path, {})
        if item in seen:
            self.repeats += 1
            return
        seen[item] = arrived
        key = (path, item.rsplit("-", 1)[0])
        self.counts[key] = self.counts.get(key, 0) + 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_http(reader, writer, self._answer)

    async def _answer(self, method: str, target: str, body: bytes) -> bytes:
        if method == "GET" and target.startswith("/count/"):
            # /count/<path>/<run prefix>: how many ids of the run reached /<path>.
            _, _, path, prefix = target.split("/", 3)
            return str(self.count(f"/{path}", prefix)).encode()
        self._record(target, body, time.time())
        async with self._arrived:
            self._arrived.notify_all()
        return b""


@dataclass
class Beside:
    """The other channel of ``--beside``: answers every POST (healthy) or accepts each
    connection, reads it and never answers (hanging), counting what came."""

    hanging: bool
    requests: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _held: list[asyncio.StreamWriter] = field(default_factory=list)

    @classmethod
    async def serve(cls, kind: str | None) -> Beside | None:
        if kind is None:
            return None
        beside = cls(hanging=kind == "hanging")
        beside._server, beside.port = await listen(beside._handle, backlog=1024)
        return beside

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        await close_server(self._server)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.hanging:
            self.requests += 1
            self._held.append(writer)
            with contextlib.suppress(ConnectionError):
                while await reader.read(65536):
                    pass
            return
        await serve_http(reader, writer, self._answer)

    async def _answer(self, method: str, target: str, body: bytes) -> bytes:
        self.requests += 1
        return b""


@dataclass
class Run:
    """One measurement's figures."""

    number: int
    subject: str
    run_id: str
    started: int
    arrived: int
    lateness_ms: list[float]
    armed_ms: list[float]  # arrival - the timer's due at the server (from its arming)
    drain_per_s: float | None
    due_spread_s: float | None
    slack_s: float | None  # first due - last timer started: > 0 when all were waiting
    step1_slack_s: float | None  # first due - last step-1 notification (Tocsin)
    creation_s: float
    window_s: float  # first due → the parent saw the last arrival
    cpu_s: dict[str, float | None]  # in the window: workers (summed), server, receiver
    worker_cpu_s: list[float | None]  # in the window, each worker process
    cpu_total_s: dict[str, float | None]  # from the worker's start to the last arrival
    other_cpu_s: dict[str, float | None]  # the rest of the machine: creating, in the window
    rss_mb: dict[str, float | None]  # workers (summed), server
    worker_rss_mb: list[float | None]  # each worker process
    history_s: float
    stages: dict[str, list[float]]
    task_problems: dict[str, int]  # workflow tasks timed out or failed after the timer
    errors: list[str]
    error_count: int

    @property
    def missing(self) -> int:
        return self.started - self.arrived

    def latency(self, q: float) -> float | None:
        return percentile(self.lateness_ms, q) if self.lateness_ms else None

    def armed(self, q: float) -> float | None:
        return percentile(self.armed_ms, q) if self.armed_ms else None

    @property
    def cpu_ms_per_escalation(self) -> float | None:
        worker, server = self.cpu_s.get("worker"), self.cpu_s.get("server")
        if worker is None or server is None or not self.arrived:
            return None
        return (worker + server) * 1000 / self.arrived


def _minus(end: float | None, start: float | None) -> float | None:
    return None if start is None or end is None else end - start


async def measure(number: int, subject: str, args: argparse.Namespace, receiver: Receiver) -> Run:
    """One child process: fresh server and worker; wait for its notifications; collect."""
    run_id = secrets.token_hex(3)
    command = [
        sys.executable,
        str(HERE),
        "--child",
        subject,
        "--run-id",
        run_id,
        "--receiver-port",
        str(receiver.port),
        *([f"--beside-port={args.beside_port}"] if args.beside_port else []),
        *child_args(args),
    ]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=environ,
        limit=1 << 28,
    )
    lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    reader = asyncio.create_task(_read_lines(process, lines))
    server_pid: int | None = None
    worker_pids: list[int] = []
    try:
        schedule = await _expect(lines, "schedule", 120.0 + WORKER_START_TIMEOUT)
        server_pid = schedule["server_pid"]
        worker_pids = [p for p in schedule["worker_pids"] if p != process.pid]
        here = {"begin": cpu_here()}
        t0, last_due = float(schedule["t0"]), float(schedule["last_due"])
        here_t0 = asyncio.create_task(_cpu_here_at(t0))
        prefix = "esc-" + run_id if subject == "tocsin" else "raw-" + run_id
        created = await _expect(lines, "created", max(last_due - time.time(), 0) + 300.0)
        expected = int(created["started"])
        deadline = last_due + args.patience
        await receiver.wait_for("/step2", prefix, expected, deadline - time.time())
        done_at = time.time()
        here["done"] = cpu_here()
        arrived = receiver.count("/step2", prefix)
        progress(f"run {number} {subject}: {arrived}/{expected} arrived", args.began)
        assert process.stdin is not None  # noqa: S101 - created with a pipe above
        process.stdin.write(b"done\n")
        await process.stdin.drain()
        result = await _expect(lines, "result", 600.0 + WORKER_STOP_TIMEOUT)
        await process.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)
        if process.returncode is None:
            process.kill()
        if server_pid:
            kill_leftovers([server_pid], b"temporal")
        kill_leftovers(worker_pids, b"--worker-only")
        raise
    finally:
        reader.cancel()
    here["t0"] = await here_t0
    return summarise(number, subject, run_id, created["ids"], result, receiver, here, done_at)


def summarise(
    number: int,
    subject: str,
    run_id: str,
    ids: Sequence[str],
    result: Mapping[str, Any],
    receiver: Receiver,
    here: Mapping[str, Mapping[str, float | None]],
    done_at: float,
) -> Run:
    step2 = receiver.arrivals.get("/step2", {})
    step1 = receiver.arrivals.get("/step1", {})
    points: dict[str, dict[str, float]] = result["points"]
    dues = {i: p["due"] for i, p in points.items() if "due" in p}
    lateness = [(step2[i] - dues[i]) * 1000 for i in ids if i in step2 and i in dues]
    first_due = min(dues.values(), default=None)
    arrivals = [step2[i] for i in ids if i in step2]
    drain = (
        len(arrivals) / (max(arrivals) - first_due)
        if arrivals and first_due is not None and max(arrivals) > first_due
        else None
    )
    timers = [p["timer started"] for p in points.values() if "timer started" in p]
    step1_times = [step1[i] for i in ids if i in step1]
    stages: dict[str, list[float]] = {}
    for item, known in points.items():
        arrival = {"arrival": step2[item]} if item in step2 else {}
        for name, value in stage_times({**known, **arrival}).items():
            stages.setdefault(name, []).append(value)
    cpu = result["cpu"]
    t0_cpu, done_cpu = cpu["t0"], cpu["done"]
    return Run(
        number=number,
        subject=subject,
        run_id=run_id,
        started=len(ids),
        arrived=len(arrivals),
        lateness_ms=lateness,
        armed_ms=[
            (step2[i] - points[i]["timer due at server"]) * 1000
            for i in ids
            if i in step2 and "timer due at server" in points.get(i, {})
        ],
        drain_per_s=drain,
        due_spread_s=(max(dues.values()) - first_due) if first_due is not None else None,
        slack_s=(first_due - max(timers)) if timers and first_due is not None else None,
        step1_slack_s=(
            first_due - max(step1_times) if step1_times and first_due is not None else None
        ),
        creation_s=float(result["created_last"]) - float(result["created_at"]),
        window_s=done_at - float(t0_cpu["at"]),
        cpu_s={
            "worker": _minus(done_cpu["worker"], t0_cpu["worker"]),
            "server": _minus(done_cpu["server"], t0_cpu["server"]),
            "receiver": _minus(here["done"]["receiver"], here["t0"]["receiver"]),
        },
        worker_cpu_s=[
            _minus(end, start)
            for end, start in zip(done_cpu["workers"], t0_cpu["workers"], strict=True)
        ],
        other_cpu_s={
            "create": _others(cpu["begin"], t0_cpu, here["begin"], here["t0"]),
            "window": _others(t0_cpu, done_cpu, here["t0"], here["done"]),
        },
        cpu_total_s={
            "worker": _minus(done_cpu["worker"], cpu["begin"]["worker"]),
            "server": _minus(done_cpu["server"], cpu["begin"]["server"]),
        },
        rss_mb={k: result["rss_mb"][k] for k in ("worker", "server")},
        worker_rss_mb=list(result["rss_mb"]["workers"]),
        history_s=float(result["history_s"]),
        stages=stages,
        task_problems=dict(result["task_problems"]),
        errors=list(result["errors"]),
        error_count=int(result["error_count"]),
    )


async def _read_lines(
    process: asyncio.subprocess.Process, lines: asyncio.Queue[dict[str, Any]]
) -> None:
    assert process.stdout is not None  # noqa: S101 - created with a pipe
    while raw := await process.stdout.readline():
        with contextlib.suppress(ValueError):
            await lines.put(json.loads(raw))
    await lines.put({"kind": "exit"})


async def _expect(lines: asyncio.Queue[dict[str, Any]], kind: str, within: float) -> dict[str, Any]:
    """The child's next line, which must be of ``kind``."""
    line = await asyncio.wait_for(lines.get(), within)
    if line.get("kind") != kind:
        raise RuntimeError(f"expected the child's {kind!r} line, got {line.get('kind')!r}")
    return line


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy, all cores (``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal (guest time is within user)
    busy = sum(int(fields[i]) for i in (1, 2, 3, 6, 7, 8))
    return busy / os.sysconf("SC_CLK_TCK")


def cpu_here() -> dict[str, float | None]:
    """CPU seconds so far of this process (the receiver) and of the whole machine."""
    return {"receiver": cpu_seconds(os.getpid()), "machine": machine_busy_seconds()}


async def _cpu_here_at(wall: float) -> dict[str, float | None]:
    await asyncio.sleep(max(wall - time.time(), 0.0))
    return cpu_here()


def _others(
    child_before: Mapping[str, float | None],
    child_after: Mapping[str, float | None],
    here_before: Mapping[str, float | None],
    here_after: Mapping[str, float | None],
) -> float | None:
    """CPU seconds the rest of the machine (other jobs) used between two readings."""
    machine = _minus(here_after.get("machine"), here_before.get("machine"))
    ours = [_minus(child_after.get(k), child_before.get(k)) for k in ("worker", "server")]
    ours.append(_minus(here_after.get("receiver"), here_before.get("receiver")))
    if machine is None or None in ours:
        return None
    return machine - sum(v for v in ours if v is not None)


def child_args(args: argparse.Namespace) -> list[str]:
    """The options a child measurement needs, as given to the parent."""
    return [
        f"--pages={args.pages}",
        f"--mode={args.mode}",
        f"--rate={args.rate}",
        f"--create-rate={args.create_rate}",
        f"--raw-create-rate={args.raw_create_rate}",
        f"--window={args.window}",
        f"--margin={args.margin}",
        f"--in-flight={args.in_flight}",
        f"--history-at-once={args.history_at_once}",
        f"--log-level={args.log_level}",
        f"--raw-resolve={args.raw_resolve}",
        f"--worker-cache={args.worker_cache}",
        f"--workflow-slots={args.workflow_slots}",
        f"--activity-slots={args.activity_slots}",
        f"--workers={args.workers}",
    ]


# -- report -------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _cell(values: Sequence[float | None], sep: str = "/") -> str:
    return sep.join(num(v) for v in values)


def _spread(values: Sequence[float]) -> str:
    """p50/p90/max of ``values`` (ms)."""
    if not values:
        return "-"
    return _cell([percentile(values, 50), percentile(values, 90), max(values)])


def pairs(runs: Sequence[Run]) -> list[tuple[str, Run, Run]]:
    """Consecutive runs, two by two, as (label, Tocsin's, raw's)."""
    found: list[tuple[str, Run, Run]] = []
    for a, b in zip(runs[::2], runs[1::2], strict=False):
        tocsin, raw = (a, b) if a.subject == "tocsin" else (b, a)
        found.append((f"runs {a.number},{b.number} ({a.subject} first)", tocsin, raw))
    return found


def ratios(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Tocsin/raw of lateness p50 and p99, drain rate, armed p50 and p99: per pair of runs,
    then all runs pooled (lateness percentiles over both runs' items, mean drain rate)."""
    rows: list[dict[str, Any]] = [
        {"label": label, **_ratios([tocsin], [raw])} for label, tocsin, raw in pairs(runs)
    ]
    if len(rows) > 1:
        by = {s: [r for r in runs if r.subject == s] for s in SUBJECTS}
        rows.append({"label": "all runs pooled", **_ratios(by["tocsin"], by["raw"])})
    return rows


def _ratios(tocsin: Sequence[Run], raw: Sequence[Run]) -> dict[str, float | None]:
    def pooled(runs: Sequence[Run], armed: bool, q: float) -> float | None:
        values = [v for r in runs for v in (r.armed_ms if armed else r.lateness_ms)]
        return percentile(values, q) if values else None

    def drain(runs: Sequence[Run]) -> float | None:
        rates = [r.drain_per_s for r in runs if r.drain_per_s]
        return statistics.fmean(rates) if rates else None

    found = {
        name: _div(pooled(tocsin, armed, q), pooled(raw, armed, q))
        for name, armed, q in (
            ("p50", False, 50),
            ("p99", False, 99),
            ("armed p50", True, 50),
            ("armed p99", True, 99),
        )
    }
    return {**found, "drain": _div(drain(tocsin), drain(raw))}


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(runs: Sequence[Run], args: argparse.Namespace, receiver: Receiver) -> str:
    schedule = (
        f"all {args.pages} due within 1 s"
        if args.mode == "aligned"
        else f"due at {args.rate:g}/s over {args.pages / args.rate:.0f} s"
    )
    lines = [
        f"escalation lateness, mode {args.mode} ({schedule}); created ahead of the first due "
        f"at {args.create_rate:g}/s (pages, at most {args.window} not yet armed) and "
        f"{args.raw_create_rate:g}/s (raw chains)",
        f"{_processes(args.workers)} per run, polling its one task queue (both subjects)",
        "lateness = receiver arrival of the step-2 notification - the item's due (ms)",
        "",
        f"{'run':<9} {'n':>5} {'miss':>4} {'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} "
        f"{'armed p50/p99':>13} {'drain/s':>7} {'dues s':>6} {'slack s':>7} "
        f"{'cpu s wkr/srv/rcv':>17} {'ms/esc':>6} {'RSS MB wkr/srv':>14} {'other cpu s':>11}",
    ]
    for run in runs:
        cpu = _cell([run.cpu_s.get(k) for k in ("worker", "server", "receiver")])
        rss = _cell([run.rss_mb.get(k) for k in ("worker", "server")], "/")
        lines.append(
            f"{run.number} {run.subject:<7} {run.started:>5} {run.missing:>4} "
            + " ".join(f"{num(run.latency(q)):>6}" for q in (50, 90, 99, 100))
            + f" {_cell([run.armed(50), run.armed(99)]):>13}"
            f" {num(run.drain_per_s):>7} {num(run.due_spread_s, 2):>6} {num(run.slack_s):>7}"
            f" {cpu:>17} {num(run.cpu_ms_per_escalation, 2):>6} {rss:>14}"
            f" {_cell([run.other_cpu_s.get('create'), run.other_cpu_s.get('window')]):>11}"
        )
    columns = ("p50", "p99", "drain", "armed p50", "armed p99")
    lines += ["", f"{'tocsin/raw':<30} " + " ".join(f"{c:>9}" for c in columns)]
    for row in ratios(runs):
        lines.append(f"{row['label']:<30} " + " ".join(f"{_ratio(row[c], 1):>9}" for c in columns))
    names = [n for n, _, _ in STAGES] + [GAPS] + [n for n, _, _ in EXTRA_STAGES]
    width = max(len(n) for n in names)
    lines += [
        "",
        "where the time goes after the timer: ms p50/p90/max over every history of the run",
        "(server event times; the receiver's clock for the arrival; same machine)",
        f"{'stage':<{width}} " + " ".join(f"{f'{r.number} {r.subject}':>17}" for r in runs),
    ]
    for name in names:
        if not any(r.stages.get(name) for r in runs):
            continue
        cells = " ".join(f"{_spread(r.stages.get(name, [])):>17}" for r in runs)
        lines.append(f"{name:<{width}} {cells}")
    lines += ["", *notes(runs, args, receiver)]
    return "\n".join(lines)


def _processes(count: int) -> str:
    return f"{count} worker process" + ("es" if count != 1 else "")


def notes(runs: Sequence[Run], args: argparse.Namespace, receiver: Receiver) -> list[str]:
    found = [
        "n: items started; miss: no step-2 notification by the last due + --patience;",
        "due: the workflow's now() in the task that set the ack timer + the timeout (a page's",
        "  next_escalation_at); armed: lateness from the timer's due at the server instead,",
        "  which counts the timeout from the end of that task (its run time is in the",
        "  lateness, not in armed: 'timer set late' below);",
        "drain/s: notifications arrived per second, first due -> last arrival;",
        "dues s: first to last due instant; slack s: first due - last ack timer started",
        "  (> 0: every item was waiting before the first fell due);",
        "cpu s: seconds of CPU from the first due until the last arrival was seen, of the",
        f"  worker processes, summed over the {_processes(args.workers)} (a child per run:",
        "  fresh dev server, worker, also the page creator, idle in that window; plus",
        "  --workers - 1 worker-only processes on the same task queue), the dev server and",
        "  the receiver (this process);",
        "ms/esc: (workers + server) CPU ms per escalation in that window; RSS: peak (VmHWM),",
        "  wkr the sum of each worker process's own peak (they need not peak at once);",
        "other cpu s: what the rest of the machine (other jobs) used while the items were",
        "  created / in the window (/proc/stat busy time minus the workers, the server and",
        "  the receiver).",
        "Tocsin: build_worker, logging JSON at --log-level to a file as `tocsin worker` does,",
        "  notify through Apprise json:// (its own HTTP connection per notification, sent",
        "  from a thread);",
        f"raw: plain Worker, resolve as {'a local activity' if args.raw_resolve == 'local' else 'an activity'}"
        " (--raw-resolve), one httpx client (keep-alive) posting;",
        f"every worker process (both subjects): sticky cache {args.worker_cache}, "
        f"{args.workflow_slots} workflow-task and {args.activity_slots} activity slots "
        "(a Tocsin worker's defaults).",
    ]
    for run in runs:
        extra = [
            f"created in {run.creation_s:.1f}s",
            f"window {run.window_s:.1f}s",
            f"total cpu wkr/srv {_cell([run.cpu_total_s.get('worker'), run.cpu_total_s.get('server')])}s",
            f"histories read in {run.history_s:.1f}s",
        ]
        if len(run.worker_cpu_s) > 1:
            extra.append(
                f"each worker's cpu s in the window {_cell(run.worker_cpu_s)}, "
                f"peak RSS MB {_cell(run.worker_rss_mb)}"
            )
        if run.step1_slack_s is not None:
            extra.append(f"last step-1 notification {run.step1_slack_s:.1f}s before the first due")
        troubles = ", ".join(f"{n} {k}" for k, n in sorted(run.task_problems.items()))
        extra.append(f"workflow tasks after the timer: {troubles or 'none timed out or failed'}")
        if run.error_count:
            extra.append(f"{run.error_count} start errors, first: {run.errors[0]}")
        found.append(f"run {run.number} {run.subject}: " + "; ".join(extra))
    found.append(
        f"receiver: {receiver.requests} POSTs, {receiver.repeats} repeats, "
        f"{receiver.unparsed} without a page id"
    )
    if args.beside:
        found.append(
            f"--beside {args.beside}: Tocsin's step 2 also notified a second person on a channel "
            f"of its own ({getattr(args, 'beside_seen', 0)} "
            + ("connections held unanswered" if args.beside == "hanging" else "POSTs answered")
            + "); the raw chain notified only the first"
        )
    return found


def as_json(runs: Sequence[Run], args: argparse.Namespace, extra: Mapping[str, Any]) -> str:
    def summary(run: Run) -> dict[str, Any]:
        data = asdict(run)
        data.pop("lateness_ms")
        data.pop("armed_ms")
        data["stages"] = {
            name: {
                "p50": percentile(values, 50),
                "p90": percentile(values, 90),
                "max": max(values),
                "n": len(values),
            }
            for name, values in run.stages.items()
            if values
        }
        data["lateness_ms"] = {
            q: run.latency(v) for q, v in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
        }
        data["missing"] = run.missing
        data["cpu_ms_per_escalation"] = run.cpu_ms_per_escalation
        return data

    return json.dumps(
        {**extra, "args": vars(args), "runs": [summary(r) for r in runs], "ratios": ratios(runs)},
        indent=2,
    )


# -- main ---------------------------------------------------------------------------------------


def tocsin_worker_defaults() -> WorkerSlots:
    """The cache and slots a Tocsin worker has by default (``worker.settings.Settings``)."""
    from worker.settings import Settings  # noqa: PLC0415 - the raw child never imports Tocsin

    fields = Settings.model_fields
    return WorkerSlots(
        cache=int(fields["worker_cache"].default),
        workflow_tasks=int(fields["worker_workflow_slots"].default),
        activities=int(fields["worker_activity_slots"].default),
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=1000, help="items per run (1000)")
    parser.add_argument("--mode", choices=("spread", "aligned"), default="spread")
    parser.add_argument("--rate", type=float, default=20.0, help="spread: dues per second (20)")
    parser.add_argument("--order", choices=tuple(ORDERS), default="both")
    parser.add_argument("--json", action="store_true", help="print JSON after the table")
    parser.add_argument(
        "--create-rate", type=float, default=16.0, help="pages started per second at most (16)"
    )
    parser.add_argument(
        "--raw-create-rate", type=float, default=40.0, help="raw chains started per second (40)"
    )
    parser.add_argument(
        "--window", type=int, default=6, help="pages started, not yet armed, at most (6)"
    )
    parser.add_argument(
        "--margin", type=float, default=4.0, help="seconds from the last start to t0 (4)"
    )
    parser.add_argument("--in-flight", type=int, default=32, help="start calls at once (32)")
    parser.add_argument(
        "--patience", type=float, default=120.0, help="seconds after the last due (120)"
    )
    parser.add_argument("--history-at-once", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="info", help="Tocsin worker's log level (info)")
    parser.add_argument(
        "--raw-resolve",
        choices=("activity", "local"),
        default="activity",
        help="the raw chain resolves with an activity (default) or a local activity",
    )
    # Both workers get the same; default: a Tocsin worker's (filled in below).
    parser.add_argument(
        "--worker-cache", type=int, help="every worker's sticky cache (both subjects)"
    )
    parser.add_argument("--workflow-slots", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--activity-slots", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes per run, polling its task queue (1); the same for both subjects",
    )
    parser.add_argument(
        "--beside",
        choices=("healthy", "hanging"),
        help="Tocsin's step 2 also notifies a second person on a channel of its own (another "
        "loopback port) that answers (healthy) or accepts and never answers (hanging); the "
        "raw chain is unchanged",
    )
    # A measurement's child process (this script runs itself).
    parser.add_argument("--child", choices=SUBJECTS, help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--receiver-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--beside-port", type=int, help=argparse.SUPPRESS)
    # One more worker of a child's measurement (this script runs itself again).
    parser.add_argument("--worker-only", choices=SUBJECTS, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.pages, args.in_flight, args.window, args.workers) < 1:
        parser.error("--pages, --in-flight, --window and --workers must be >= 1")
    if min(args.rate, args.create_rate, args.raw_create_rate) <= 0:
        parser.error("--rate, --create-rate and --raw-create-rate must be > 0")
    if args.child is None and args.worker_only is None:
        # A child and a worker-only process are always given them (and never import Tocsin
        # for them).
        defaults = tocsin_worker_defaults()
        args.worker_cache = args.worker_cache or defaults.cache
        args.workflow_slots = args.workflow_slots or defaults.workflow_tasks
        args.activity_slots = args.activity_slots or defaults.activities
    return args


async def main(args: argparse.Namespace) -> tuple[list[Run], Receiver]:
    receiver = Receiver()
    await receiver.start()
    beside = await Beside.serve(args.beside)
    args.beside_port = beside.port if beside else None
    runs: list[Run] = []
    try:
        for number, subject in enumerate(ORDERS[args.order], start=1):
            progress(
                f"run {number}: {subject} ({args.pages}, {args.mode}), load {load_average()}",
                args.began,
            )
            runs.append(await measure(number, subject, args, receiver))
    finally:
        await receiver.stop()
        if beside:
            args.beside_seen = beside.requests
            await beside.stop()
    return runs, receiver


def _cli() -> None:
    args = parse_args()
    if args.worker_only:
        asyncio.run(run_worker_only(args))
        return
    if args.child:
        asyncio.run(run_child(args))
        return
    command = shlex.join([sys.executable, *sys.argv])
    version = code_version()
    began = args.began = time.monotonic()
    load_before = load_average()
    runs, receiver = asyncio.run(main(args))
    total = time.monotonic() - began
    header = (
        f"pages={args.pages} mode={args.mode} rate={args.rate:g} order={args.order} "
        f"workers={args.workers} cpus={os.cpu_count()} load {load_before} -> {load_average()} "
        f"total={total:.0f}s code {version}"
    )
    print(f"command: {command}")
    print(header)
    print(report(runs, args, receiver))
    if args.json:
        print(as_json(runs, args, {"command": command, "header": header}))


if __name__ == "__main__":
    _cli()
