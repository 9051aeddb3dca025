"""Waiting pages benchmark: N open pages on one worker, against raw Temporal in the same run.

For each subject, on a fresh Temporal dev server (``WorkflowEnvironment.start_local``, in
memory, the virtualenv's ``temporal`` binary, no download):

* **tocsin** — ``tocsin worker`` (``build_worker``, the sticky cache of
  ``worker.settings.Settings`` or ``--worker-cache``) and ``tocsin api`` (uvicorn on
  127.0.0.1), each a process of its own. N pages are created with ``POST /api/pages`` and the
  API token, ``--in-flight`` requests at once; the team's policy has one step with a 1 h ack
  timeout and a ``console`` contact (the notification is a line in the worker's log), so
  every page notifies once, arms its ack timer and waits. At most ``--window`` pages (half
  the cache by default) are created and not yet notified: more and the worker would evict
  pages between their first tasks and replay them (``--window 0``: a burst, no limit).
  Then, one request at a time,
  ``GET /api/pages/{id}`` of ``--samples`` random pages and ``POST /api/pages/{id}/ack`` of
  ``--acks`` others.
* **raw** — a plain ``Worker`` in a process of its own with the same cache and slots, N
  trivial workflows (``bench/raw_waiting.py``: wait for an ``acknowledge`` update with a
  1 h timer) started with ``start_workflow``, the same ``--in-flight``; then a query of
  each sampled workflow (the GET's baseline) and the update of others (the ack's).

Half of the samples and of the acks go to the items created first, which the worker's
cache no longer holds when the cache is smaller than N (it replays them from their
history), half to items among the last created (still cached); both are reported.

Reported per subject: time to create (first request to last response; accepted/s) and to
settle (until the worker is idle with every item waiting: for pages, every notification
in the worker's log; ready/s); the worker's RSS once settled, at the end, and its peak
(``/proc``: VmRSS, VmHWM), with the API's and the dev server's; latency p50/p99/max of the
reads and acks; then Tocsin/raw ratios and the goals (10,000 waiting pages on 2 cores:
worker RSS < 500 MB, ack p99 < 1 s).

Not part of the test run. Usage::

    .venv/bin/python bench/waiting_pages.py [--pages 10000] [--in-flight 32] [--window N]
        [--samples 200] [--acks 200] [--worker-cache N] [--order tocsin,raw|raw,tocsin|tocsin|raw]
        [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
from common import (
    code_version,
    cpu_seconds,
    dev_server_pid,
    free_ports,
    load_average,
    memory_mb,
    num,
    percentile,
    progress,
    temporal_binary,
)
from raw_waiting import READY, Ack, RawWaitingWorkflow, WaitInput
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from worker.settings import Settings
from workflows import search

HERE = Path(__file__).resolve()
ORDERS = {
    "tocsin,raw": ("tocsin", "raw"),
    "raw,tocsin": ("raw", "tocsin"),
    "tocsin": ("tocsin",),  # one subject alone: no ratios
    "raw": ("raw",),
}
TEAM = "bench"
PERSON = "pager"
ACK_TIMEOUT_SECONDS = 3600  # nothing escalates during a run
STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
# The worker is settled when it used less than this share of a core for QUIET_SPAN seconds.
QUIET_SHARE = 0.1
QUIET_SPAN = 0.5
# Goals of the issue, for 10,000 waiting pages on 2 cores.
GOAL_PAGES = 10_000
GOAL_RSS_MB = 500.0
GOAL_ACK_P99_MS = 1000.0
# Sampled items: among those created first (beyond the cache), among the last created.
CLASSES = ("evicted", "cached")
PROCESSES = ("worker", "server", "api", "bench")  # whose CPU is reported

CONFIG = f"""\
timezone: UTC
people:
  {PERSON}: {{name: Bench Pager, contact: [console]}}
teams:
  {TEAM}: {{members: [{PERSON}], escalation_policy: {TEAM}}}
escalation_policies:
  {TEAM}:
    steps:
      - {{targets: ["person:{PERSON}"], ack_timeout: {ACK_TIMEOUT_SECONDS}s}}
"""
# The console notifier's line (activities/adapters/console.py), one per page notified.
NOTIFIED = b'"PAGE"'
WORKER_STARTED = b"worker started"


# -- child processes ------------------------------------------------------------------------------


@dataclass
class LogWatch:
    """Counts a marker in a growing log file, reading only what was added since last time."""

    path: Path
    marker: bytes
    seen: int = 0
    _offset: int = 0
    _tail: bytes = b""

    def count(self) -> int:
        with contextlib.suppress(OSError), self.path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
            self._offset += len(chunk)
            text = self._tail + chunk
            cut = text.rfind(b"\n") + 1
            self.seen += text[:cut].count(self.marker)
            self._tail = text[cut:]
        return self.seen


@dataclass
class Child:
    """A process of the bench's (a worker, the API), its output in a log file."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @classmethod
    async def spawn(
        cls, name: str, command: Sequence[str], env: Mapping[str, str], log_path: Path
    ) -> Child:
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        return cls(name, process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def logged(self, marker: bytes) -> Callable[[], Awaitable[bool]]:
        """Whether ``marker`` is in the log yet (for :meth:`wait_until`)."""
        watch = LogWatch(self.log_path, marker)

        async def seen() -> bool:
            return watch.count() > 0

        return seen

    async def wait_until(self, ready: Callable[[], Awaitable[bool]]) -> None:
        """Until ``ready`` says so; fails if the process exits or after STARTUP_TIMEOUT."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not await ready():
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready after {STARTUP_TIMEOUT:.0f}s")
            await asyncio.sleep(0.1)

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self) -> None:
        """SIGINT (a clean shutdown), wait; on timeout kill it. Says so when it did not exit 0."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                progress(f"{self.name} did not stop in {STOP_TIMEOUT:.0f}s: killing it")
                self.process.kill()
                await self.process.wait()
        if self.process.returncode != 0:
            progress(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without Tocsin's and vendors' settings, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "SLACK_", "GITHUB_"))
    }
    return {**env, **extra}


# -- the subjects ---------------------------------------------------------------------------------


class Subject(Protocol):
    """How one item is created, read and acknowledged, and how many are waiting."""

    async def create(self, index: int) -> str:
        """Create item ``index``; its id."""
        ...

    async def read(self, item: str) -> None: ...

    async def acknowledge(self, item: str) -> None: ...

    def notified(self) -> int | None:
        """Items that told the bench they are waiting so far; None: they do not say."""
        ...


@dataclass
class TocsinPages:
    """Pages through the HTTP API."""

    http: httpx.AsyncClient
    run: str
    worker_log: LogWatch
    _notified: int = 0
    _read_at: float = 0.0

    async def create(self, index: int) -> str:
        body = {
            "team": TEAM,
            "summary": f"Waiting page {index}",
            "dedup_key": f"wait-{self.run}-{index:05d}",
        }
        response = await self.http.post("/api/pages", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/pages: {response.status_code} {response.text[:200]}")
        page_id: str = response.json()["id"]
        return page_id

    async def read(self, item: str) -> None:
        response = await self.http.get(f"/api/pages/{item}")
        if response.status_code != 200 or response.json()["status"] != "triggered":
            raise RuntimeError(f"GET {item}: {response.status_code} {response.text[:200]}")

    async def acknowledge(self, item: str) -> None:
        response = await self.http.post(f"/api/pages/{item}/ack", json={"by": PERSON})
        if response.status_code != 200 or response.json()["status"] != "acknowledged":
            raise RuntimeError(f"ack {item}: {response.status_code} {response.text[:200]}")

    def notified(self) -> int:
        # Read at most every 20 ms: every creation lane asks while the window is full.
        if time.monotonic() - self._read_at >= 0.02:
            self._read_at = time.monotonic()
            self._notified = self.worker_log.count()
        return self._notified


@dataclass
class RawItems:
    """Raw workflows (``bench/raw_waiting.py``) through the Temporal client."""

    client: Client
    task_queue: str
    run: str

    async def create(self, index: int) -> str:
        key = f"raw-{self.run}-{index:05d}"
        await self.client.start_workflow(
            RawWaitingWorkflow.run,
            WaitInput(key=key, ack_timeout_seconds=ACK_TIMEOUT_SECONDS),
            id=key,
            task_queue=self.task_queue,
        )
        return key

    async def read(self, item: str) -> None:
        handle = self.client.get_workflow_handle_for(RawWaitingWorkflow.run, item)
        state = await handle.query(RawWaitingWorkflow.get_state)
        if state.status != "triggered":
            raise RuntimeError(f"query {item}: {state.status}")

    async def acknowledge(self, item: str) -> None:
        handle = self.client.get_workflow_handle_for(RawWaitingWorkflow.run, item)
        state = await handle.execute_update(RawWaitingWorkflow.acknowledge, Ack(by=PERSON))
        if state.status != "acknowledged":
            raise RuntimeError(f"update {item}: {state.status}")

    def notified(self) -> None:
        return None  # a raw item sends nothing: the worker going idle says they all wait


@dataclass
class Running:
    """A subject with its processes on a fresh dev server."""

    subject: Subject
    worker: Child
    api: Child | None
    server_pid: int | None

    def cpu(self) -> dict[str, float | None]:
        """CPU seconds so far of each of PROCESSES."""
        return {
            "worker": cpu_seconds(self.worker.pid),
            "server": cpu_seconds(self.server_pid),
            "api": cpu_seconds(self.api.pid) if self.api else None,
            "bench": cpu_seconds(os.getpid()),
        }


@contextlib.asynccontextmanager
async def dev_server() -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """A fresh dev server on a free loopback port, Tocsin's search attributes registered."""
    port = free_ports(1)[0]
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_binary(),
        search_attributes=search.ALL_KEYS,
        ip="127.0.0.1",
        port=port,
        ui=False,
    )
    try:
        yield env, f"127.0.0.1:{port}"
    finally:
        await env.shutdown()


@contextlib.asynccontextmanager
async def tocsin_stack(
    address: str, workdir: Path, args: argparse.Namespace, run: str
) -> AsyncIterator[Running]:
    """``tocsin worker`` and ``tocsin api`` on ``address``, each in its own process."""
    config = workdir / "tocsin.yaml"
    config.write_text(CONFIG)
    api_port = free_ports(1)[0]
    url = f"http://127.0.0.1:{api_port}"
    token = secrets.token_urlsafe(24)
    env = child_environment(
        {
            "TOCSIN_TEMPORAL_ADDRESS": address,
            "TOCSIN_TASK_QUEUE": f"bench-wait-{run}",
            "TOCSIN_DATA_DIR": str(workdir / "data"),
            "TOCSIN_API_TOKEN": token,
            "TOCSIN_PUBLIC_URL": url,
            # As `tocsin dev` does: notifications carry signed one-click links.
            "TOCSIN_LINK_KEY": secrets.token_urlsafe(32),
            "TOCSIN_LOG_FORMAT": "json",
            "TOCSIN_LOG_LEVEL": args.log_level,
            "TOCSIN_WORKER_CACHE": str(args.worker_cache),
            "TOCSIN_WORKER_WORKFLOW_SLOTS": str(args.workflow_slots),
            "TOCSIN_WORKER_ACTIVITY_SLOTS": str(args.activity_slots),
        }
    )
    tocsin = str(Path(sys.executable).parent / "tocsin")
    worker = await Child.spawn(
        "tocsin worker", [tocsin, "worker", "--config", str(config)], env, workdir / "worker.log"
    )
    api: Child | None = None
    try:
        await worker.wait_until(worker.logged(WORKER_STARTED))
        command = [tocsin, "api", "--config", str(config), "--host", "127.0.0.1"]
        api = await Child.spawn(
            "tocsin api", [*command, "--port", str(api_port)], env, workdir / "api.log"
        )
        limits = httpx.Limits(max_connections=args.in_flight + 4)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=url, headers=headers, timeout=60.0, limits=limits
        ) as http:

            async def healthy() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get("/healthz")).status_code == 200
                return False

            await api.wait_until(healthy)
            pages = TocsinPages(http, run, LogWatch(worker.log_path, NOTIFIED))
            yield Running(pages, worker, api, dev_server_pid())
    except BaseException:
        for child in (worker, api):
            if child is not None:
                print(f"-- {child.name}:\n{child.tail()}", file=sys.stderr)
        raise
    finally:
        if api is not None:
            await api.stop()
        await worker.stop()


@contextlib.asynccontextmanager
async def raw_stack(
    client: Client, address: str, workdir: Path, args: argparse.Namespace, run: str
) -> AsyncIterator[Running]:
    """A plain worker for ``RawWaitingWorkflow`` in its own process (``raw_waiting.py``)."""
    task_queue = f"bench-raw-{run}"
    command = [
        sys.executable,
        str(HERE.parent / "raw_waiting.py"),
        address,
        task_queue,
        *(str(n) for n in (args.worker_cache, args.workflow_slots, args.activity_slots)),
    ]
    worker = await Child.spawn("raw worker", command, child_environment({}), workdir / "raw.log")
    try:
        await worker.wait_until(worker.logged(READY.encode()))
        yield Running(RawItems(client, task_queue, run), worker, None, dev_server_pid())
    except BaseException:
        print(f"-- {worker.name}:\n{worker.tail()}", file=sys.stderr)
        raise
    finally:
        await worker.stop()


# -- one measurement ------------------------------------------------------------------------------


@dataclass
class Result:
    """One subject's figures."""

    subject: str
    created: int
    create_s: float  # first request sent -> last response
    notified_s: float | None  # first request sent -> the last page notified (pages)
    settle_s: float | None  # first request sent -> every item waiting, the worker idle
    cpu_s: dict[str, float | None]  # creating and settling: PROCESSES -> seconds
    cache: int
    worker_mb: dict[str, dict[str, float | None]]  # "settled", "end" -> rss, peak
    api_mb: dict[str, float | None]  # at the end
    server_mb: dict[str, float | None]
    reads_ms: dict[str, list[float]]  # class -> latencies
    acks_ms: dict[str, list[float]]
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def accepted_per_s(self) -> float | None:
        return self.created / self.create_s if self.create_s > 0 else None

    @property
    def ready_per_s(self) -> float | None:
        return self.created / self.settle_s if self.settle_s else None


def latency(values: Mapping[str, list[float]], q: float, kind: str = "all") -> float | None:
    """Percentile ``q`` of one class's latencies, or of all of them."""
    found = [v for c, vs in values.items() if kind in ("all", c) for v in vs]
    return percentile(found, q) if found else None


class Errors:
    """Failures counted, the first few kept."""

    def __init__(self) -> None:
        self.first: list[str] = []
        self.count = 0

    def add(self, err: Exception) -> None:
        self.count += 1
        if len(self.first) < 5:
            self.first.append(f"{type(err).__name__}: {err}"[:300])


async def create_all(
    subject: Subject, count: int, in_flight: int, window: int, errors: Errors
) -> list[str]:
    """Create ``count`` items, ``in_flight`` calls at once and, when the subject says which
    items wait, at most ``window`` (0: any number) created but not yet waiting; their ids
    in creation order."""
    ids: list[str | None] = [None] * count
    indices = iter(range(count))
    opened = 0  # created or being created, less failures
    limit = window if subject.notified() is not None else 0
    began = time.monotonic()

    async def lane() -> None:
        nonlocal opened
        for index in indices:
            while limit:  # the window: wait for the worker to catch up
                if opened - (subject.notified() or 0) < limit:
                    break
                await asyncio.sleep(0.02)
            opened += 1
            try:
                ids[index] = await subject.create(index)
            except Exception as err:  # noqa: BLE001 - a benchmark reports failures instead of stopping
                errors.add(err)
                opened -= 1
            if (index + 1) % 1000 == 0:
                done = time.monotonic() - began
                progress(f"  {index + 1} created in {done:.0f}s ({(index + 1) / done:.0f}/s)")

    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return [i for i in ids if i is not None]


async def settle(
    subject: Subject, worker: Child, count: int, patience: float
) -> tuple[float | None, float | None]:
    """Wait until ``count`` items said they wait (when they do), then until the worker is
    idle. The instants (monotonic) the last item said so and the worker's idleness began;
    None for what did not happen within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while (notified := subject.notified()) is not None and notified < count:
        if time.monotonic() > deadline or worker.process.returncode is not None:
            return None, None
        await asyncio.sleep(0.05)
    said = None if notified is None else time.monotonic()
    quiet_since: float | None = None
    before = cpu_seconds(worker.pid)
    while time.monotonic() < deadline:
        window = time.monotonic()
        await asyncio.sleep(QUIET_SPAN / 2)
        after = cpu_seconds(worker.pid)
        if before is None or after is None:
            break
        busy = (after - before) / (time.monotonic() - window) >= QUIET_SHARE
        before = after
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = window
        elif time.monotonic() - quiet_since >= QUIET_SPAN:
            return said, quiet_since
    return said, None


def shares(total: int, parts: int) -> list[int]:
    """``total`` split in ``parts`` as even as can be, the larger shares first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def choose(
    ids: Sequence[str], cache: int, reads: int, acks: int, rng: random.Random
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Items to read and others to acknowledge, as (class, id), shuffled.

    Evicted: among the items created first, beyond the cache's size from the end. Cached:
    among the newest half-cache (the evicted items read back in push out the oldest of the
    cache, not these), or any item when the cache holds them all. Half of the reads and of
    the acks from either class when both exist; a pool too small for its share is split
    between reads and acks in proportion.
    """
    count = len(ids)
    evicted = list(ids[: max(0, count - cache)])
    pools = (
        {"evicted": evicted, "cached": list(ids[count - max(1, cache // 2) :])}
        if evicted
        else {"cached": list(ids)}
    )
    chosen_reads: list[tuple[str, str]] = []
    chosen_acks: list[tuple[str, str]] = []
    for (kind, pool), want_reads, want_acks in zip(
        pools.items(), shares(reads, len(pools)), shares(acks, len(pools)), strict=True
    ):
        picked = rng.sample(pool, min(len(pool), want_reads + want_acks))
        take = want_reads
        if len(picked) < want_reads + want_acks:
            take = round(len(picked) * want_reads / (want_reads + want_acks))
        chosen_reads += [(kind, i) for i in picked[:take]]
        chosen_acks += [(kind, i) for i in picked[take:]]
    rng.shuffle(chosen_reads)
    rng.shuffle(chosen_acks)
    return chosen_reads, chosen_acks


async def timed_calls(
    call: Callable[[str], Awaitable[None]], items: Sequence[tuple[str, str]], errors: Errors
) -> dict[str, list[float]]:
    """Milliseconds per call, one at a time, by class; failures are counted, not timed."""
    found: dict[str, list[float]] = {}
    for kind, item in items:
        start = time.perf_counter()
        try:
            await call(item)
        except Exception as err:  # noqa: BLE001 - a benchmark reports failures instead of stopping
            errors.add(err)
            continue
        found.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
    return found


async def measure(name: str, args: argparse.Namespace) -> Result:
    """One subject on a fresh dev server: create, settle, read, acknowledge."""
    run = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="tocsin-wait-") as tmp:
        workdir = Path(tmp)
        progress(f"{name}: starting a dev server and the worker", args.began)
        async with dev_server() as (env, address):
            stack = (
                tocsin_stack(address, workdir, args, run)
                if name == "tocsin"
                else raw_stack(env.client, address, workdir, args, run)
            )
            async with stack as running:
                return await _measure(name, running, args)


async def _measure(name: str, running: Running, args: argparse.Namespace) -> Result:
    subject, worker = running.subject, running.worker
    errors = Errors()
    cpu_before = running.cpu()
    progress(f"{name}: creating {args.pages}, {args.in_flight} in flight", args.began)
    began = time.monotonic()
    ids = await create_all(subject, args.pages, args.in_flight, args.window, errors)
    created = time.monotonic()
    progress(f"{name}: {len(ids)} created in {created - began:.1f}s; settling", args.began)
    notified, settled = await settle(subject, worker, len(ids), args.patience)
    cpu_after = running.cpu()
    if settled is None:
        progress(f"{name}: not settled after {args.patience:.0f}s (measuring anyway)", args.began)
    settled_mb = memory_mb(worker.pid)
    progress(
        f"{name}: settled in {(settled or time.monotonic()) - began:.1f}s, worker RSS "
        f"{num(settled_mb['rss'])} MB; {args.samples} reads, {args.acks} acks",
        args.began,
    )
    rng = random.Random(args.seed)
    reads, acks = choose(ids, args.worker_cache, args.samples, args.acks, rng)
    reads_ms = await timed_calls(subject.read, reads, errors)
    acks_ms = await timed_calls(subject.acknowledge, acks, errors)
    return Result(
        subject=name,
        created=len(ids),
        create_s=created - began,
        notified_s=None if notified is None else notified - began,
        settle_s=None if settled is None else settled - began,
        cpu_s={k: _minus(cpu_after[k], cpu_before[k]) for k in PROCESSES},
        cache=args.worker_cache,
        worker_mb={"settled": settled_mb, "end": memory_mb(worker.pid)},
        api_mb=memory_mb(running.api.pid if running.api else None),
        server_mb=memory_mb(running.server_pid),
        reads_ms=reads_ms,
        acks_ms=acks_ms,
        errors=errors.first,
        error_count=errors.count,
    )


def _minus(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else end - start


# -- report ---------------------------------------------------------------------------------------


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def ratios(tocsin: Result, raw: Result) -> dict[str, float | None]:
    """Tocsin/raw: rates, worker memory, read and ack latency (all, evicted, cached)."""
    found: dict[str, float | None] = {
        "creation rate (ready/s)": _div(tocsin.ready_per_s, raw.ready_per_s),
        "accepted/s": _div(tocsin.accepted_per_s, raw.accepted_per_s),
    }
    for label, moment, key in (
        ("worker RSS settled", "settled", "rss"),
        ("worker RSS end", "end", "rss"),
        ("worker peak RSS", "end", "peak"),
    ):
        found[label] = _div(tocsin.worker_mb[moment][key], raw.worker_mb[moment][key])
    for what, mine, base in (
        ("GET/query", tocsin.reads_ms, raw.reads_ms),
        ("ack/update", tocsin.acks_ms, raw.acks_ms),
    ):
        for kind in ("all", *CLASSES):
            for q in (50, 99):
                found[f"{what} p{q} {kind}"] = _div(latency(mine, q, kind), latency(base, q, kind))
    return found


def _lat(values: Mapping[str, list[float]], kind: str) -> str:
    n = sum(len(v) for c, v in values.items() if kind in ("all", c))
    if not n:
        return "-"
    cells = "/".join(num(latency(values, q, kind)) for q in (50, 99, 100))
    return f"{cells} ({n})"


def report(results: Sequence[Result], args: argparse.Namespace) -> str:
    lines = [
        f"{args.pages} waiting items per subject, {args.in_flight} creations in flight, "
        f"pages {'in a window of ' + str(args.window) if args.window else 'without a window'}, "
        f"sticky cache {args.worker_cache} on both workers",
        "",
        f"{'subject':<7} {'n':>6} {'err':>4} {'create s':>8} {'acc/s':>6} {'notified s':>10} "
        f"{'settle s':>8} "
        f"{'ready/s':>7} {'cpu s wkr/srv/api/bench':>23} {'worker MB settled/end/peak':>26} "
        f"{'api MB':>6} {'server MB':>9}",
    ]
    for r in results:
        cpu = "/".join(num(r.cpu_s[k]) for k in PROCESSES)
        memory = "/".join(
            num(v)
            for v in (
                r.worker_mb["settled"]["rss"],
                r.worker_mb["end"]["rss"],
                r.worker_mb["end"]["peak"],
            )
        )
        lines.append(
            f"{r.subject:<7} {r.created:>6} {r.error_count:>4} {num(r.create_s):>8} "
            f"{num(r.accepted_per_s):>6} {num(r.notified_s):>10} {num(r.settle_s):>8} "
            f"{num(r.ready_per_s):>7} "
            f"{cpu:>23} {memory:>26} {num(r.api_mb['rss']):>6} {num(r.server_mb['rss']):>9}"
        )
    lines += [
        "",
        "latency ms p50/p99/max (n), one call at a time while all wait",
        f"{'items':<8} "
        + " ".join(f"{f'{r.subject} read':>22} {f'{r.subject} ack':>22}" for r in results),
    ]
    for kind in (*CLASSES, "all"):
        cells = " ".join(
            f"{_lat(r.reads_ms, kind):>22} {_lat(r.acks_ms, kind):>22}" for r in results
        )
        lines.append(f"{kind:<8} {cells}")
    by = {r.subject: r for r in results}
    if "tocsin" in by and "raw" in by:
        lines += ["", f"{'tocsin/raw':<28} ratio"]
        lines += [f"{k:<28} {_ratio(v):>6}" for k, v in ratios(by["tocsin"], by["raw"]).items()]
    if "tocsin" in by:
        lines += ["", goals(by["tocsin"], args)]
    lines += ["", *notes(results, args)]
    return "\n".join(lines)


def goals(tocsin: Result, args: argparse.Namespace) -> str:
    peak = tocsin.worker_mb["end"]["peak"]
    ack = latency(tocsin.acks_ms, 99)

    def verdict(value: float | None, limit: float) -> str:
        return "-" if value is None else ("met" if value < limit else "MISSED")

    scope = "" if args.pages == GOAL_PAGES else f" (they are for {GOAL_PAGES:,} pages)"
    return (
        f"goals{scope}: worker peak RSS < {GOAL_RSS_MB:.0f} MB: {num(peak)} MB "
        f"{verdict(peak, GOAL_RSS_MB)}; ack p99 < {GOAL_ACK_P99_MS:.0f} ms: {num(ack)} ms "
        f"{verdict(ack, GOAL_ACK_P99_MS)}"
    )


def notes(results: Sequence[Result], args: argparse.Namespace) -> list[str]:
    found = [
        "create s: first request sent to last response (acc/s: items / create s); pages are",
        "  created in a window (--window): at most that many created and not yet notified",
        "  (with more in flight than the cache holds, the worker replays pages evicted",
        "  between their tasks); notified s: first request to the last page's notification",
        "  in the worker's log; settle s: first request to the instant the worker went idle",
        f"  after that (< {QUIET_SHARE:.0%} of a core for {QUIET_SPAN:g} s): every item waits "
        "(ready/s: items / settle s);",
        "cpu s: CPU seconds of the worker, the dev server, the API and this process (which",
        "  makes the requests) while creating and settling;",
        "worker MB: VmRSS once settled and at the end, VmHWM (peak) at the end; api, server:",
        "  VmRSS at the end;",
        "read: GET /api/pages/{id} (tocsin), a query (raw); ack: POST /api/pages/{id}/ack",
        "  (describe + update, tocsin), the update (raw); each item read or acked once;",
        (
            f"evicted: among the first {args.pages - args.worker_cache} created (beyond the "
            f"cache: replayed on the call); cached: among the last {max(1, args.worker_cache // 2)};"
            if args.pages > args.worker_cache
            else "cached: any item (the cache holds them all);"
        ),
        f"tocsin: `tocsin worker` and `tocsin api` processes, JSON logs at {args.log_level}, "
        "console contact;",
        f"raw: plain Worker process, the same cache, {args.workflow_slots} workflow-task and "
        f"{args.activity_slots} activity slots (a Tocsin worker's defaults).",
    ]
    for r in results:
        if r.error_count:
            found.append(f"{r.subject}: {r.error_count} errors, first: {'; '.join(r.errors)}")
        if r.settle_s is None:
            found.append(f"{r.subject}: did not settle within {args.patience:.0f}s")
    return found


def as_json(results: Sequence[Result], extra: Mapping[str, Any]) -> str:
    def summary(r: Result) -> dict[str, Any]:
        data = asdict(r)
        for attribute in ("reads_ms", "acks_ms"):
            values = data.pop(attribute)
            data[attribute] = {
                kind: {
                    "n": sum(len(v) for c, v in values.items() if kind in ("all", c)),
                    **{f"p{q}": latency(values, q, kind) for q in (50, 90, 99, 100)},
                }
                for kind in (*CLASSES, "all")
            }
        data["accepted_per_s"] = r.accepted_per_s
        data["ready_per_s"] = r.ready_per_s
        return data

    by = {r.subject: r for r in results}
    together = "tocsin" in by and "raw" in by
    return json.dumps(
        {
            **extra,
            "results": [summary(r) for r in results],
            "ratios": ratios(by["tocsin"], by["raw"]) if together else None,
        },
        indent=2,
    )


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=GOAL_PAGES, help="items per subject (10000)")
    parser.add_argument("--in-flight", type=int, default=32, help="creations at once (32)")
    parser.add_argument(
        "--window",
        type=int,
        help="pages created, not yet notified, at most (0: no limit; default: half the cache)",
    )
    parser.add_argument("--samples", type=int, default=200, help="items read (200)")
    parser.add_argument("--acks", type=int, default=200, help="items acknowledged (200)")
    parser.add_argument("--order", choices=tuple(ORDERS), default="tocsin,raw")
    parser.add_argument("--seed", type=int, default=1, help="picks the sampled items (1)")
    parser.add_argument(
        "--patience", type=float, default=900.0, help="seconds to wait for all to settle (900)"
    )
    parser.add_argument("--log-level", default="info", help="Tocsin processes' log level (info)")
    parser.add_argument("--json", action="store_true", help="print JSON after the table")
    # Both workers get the same; default: a Tocsin worker's (worker.settings.Settings).
    parser.add_argument("--worker-cache", type=int, help="both workers' sticky cache")
    parser.add_argument("--workflow-slots", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--activity-slots", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.pages, args.in_flight) < 1 or min(args.samples, args.acks, args.window or 0) < 0:
        parser.error("--pages and --in-flight must be >= 1; --samples, --acks, --window >= 0")
    fields = Settings.model_fields
    if args.worker_cache is None:
        args.worker_cache = int(fields["worker_cache"].default)
    args.workflow_slots = args.workflow_slots or int(fields["worker_workflow_slots"].default)
    args.activity_slots = args.activity_slots or int(fields["worker_activity_slots"].default)
    if args.window is None:
        args.window = max(1, args.worker_cache // 2)
    return args


async def main(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    for name in ORDERS[args.order]:
        progress(f"{name}: load {load_average()}", args.began)
        results.append(await measure(name, args))
    return results


def report_stream() -> IO[str]:
    """The original stdout, for the report alone: what else is written there (the dev server
    says where it listens) goes to stderr, so ``--json`` output stays parsable."""
    stream = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return stream


def _cli() -> None:
    args = parse_args()
    out = report_stream()
    command = shlex.join([sys.executable, *sys.argv])
    version = code_version()
    began = args.began = time.monotonic()
    load_before = load_average()
    results = asyncio.run(main(args))
    header = (
        f"pages={args.pages} in-flight={args.in_flight} window={args.window} "
        f"samples={args.samples} acks={args.acks} cache={args.worker_cache} order={args.order} "
        f"cpus={os.cpu_count()} load {load_before} -> {load_average()} "
        f"total={time.monotonic() - began:.0f}s code {version}"
    )
    print(f"command: {command}", file=out)
    print(header, file=out)
    print(report(results, args), file=out)
    if args.json:
        extra = {"command": command, "header": header, "args": vars(args)}
        print(as_json(results, extra), file=out)
    out.flush()


if __name__ == "__main__":
    _cli()
