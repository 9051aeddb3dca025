"""Page latency benchmark: API accepted → first notification delivered, against raw Temporal.

Starts the real embedded stack (``tocsin dev``) on free loopback ports with a throw-away data
directory, and a config whose only person is notified by Apprise ``json://`` at a receiver
running in this process. Then:

* **Tocsin** — pages created with ``POST /api/pages``; per page, the latency from the moment
  the 201 arrives to the moment the notification reaches the receiver.
* **raw** — the ceiling on the same dev server: a trivial workflow running one no-op
  activity, in-process worker, latency from ``start_workflow`` returning to the result.

Each runs a *sequential* batch (one item at a time, waiting for its notification/result
before the next: unloaded latency) and a *concurrent* batch (up to C requests in flight,
completions awaited as they come: a burst, where accepted/s can outrun completed/s and the
latency includes the backlog). The stage breakdown comes from each workflow's history
(server timestamps), so it shows where the time goes.

Not part of the test run. Usage::

    .venv/bin/python bench/page_latency.py [--pages 200] [--concurrency 10] [--warmup 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx
    from common import (
        Stack,
        close_server,
        cpu_cell,
        cpu_usage,
        listen,
        num,
        page_of,
        percentile,
        progress,
        running_stack,
        serve_http,
    )
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.history.v1 import HistoryEvent
    from temporalio.client import Client, WorkflowHandle
    from temporalio.worker import Worker

TEAM = "bench"

CONFIG = """\
timezone: UTC
people:
  pager: {{name: Bench Pager, contact: ["json://127.0.0.1:{port}/hook"]}}
teams:
  {team}: {{members: [pager], escalation_policy: {team}}}
escalation_policies:
  {team}:
    steps:
      - {{targets: ["person:pager"], ack_timeout: 1h}}
"""


# -- the raw Temporal ceiling (module level: the workflow sandbox re-imports this file) --------


@activity.defn(name="bench_noop")
async def noop() -> None:
    """Does nothing."""


@workflow.defn(name="BenchTrivial")
class TrivialWorkflow:
    """One no-op activity, then done."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


# -- the notification receiver ----------------------------------------------------------------


@dataclass
class Receiver:
    """A loopback HTTP/1.1 server (keep-alive) recording when each page's first POST arrived."""

    arrivals: dict[str, float] = field(default_factory=dict)  # page id → monotonic
    arrivals_wall: dict[str, float] = field(default_factory=dict)  # page id → epoch seconds
    requests: int = 0
    unparsed: int = 0
    port: int = 0
    _waiters: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server, self.port = await listen(self._handle)

    async def stop(self) -> None:
        await close_server(self._server)

    async def arrival(self, page_id: str) -> float:
        """When the first notification for ``page_id`` arrived (waits for it)."""
        if page_id in self.arrivals:
            return self.arrivals[page_id]
        waiter = self._waiters.get(page_id)
        if waiter is None:
            waiter = self._waiters[page_id] = asyncio.get_running_loop().create_future()
        return await waiter

    def _record(self, body: bytes, arrived: float, wall: float) -> None:
        self.requests += 1
        page_id = page_of(body)
        if page_id is None:
            self.unparsed += 1
            return
        if page_id in self.arrivals:
            return
        self.arrivals[page_id] = arrived
        self.arrivals_wall[page_id] = wall
        waiter = self._waiters.pop(page_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_http(reader, writer, self._answer)

    async def _answer(self, method: str, target: str, body: bytes) -> bytes:
        self._record(body, time.monotonic(), time.time())
        return b""


# -- batches ----------------------------------------------------------------------------------


class Subject(Protocol):
    """What is measured: submit one item, then learn when it completed."""

    async def submit(self, index: int) -> str: ...

    async def completed(self, key: str) -> float: ...


class SubmitError(Exception):
    """The API refused a page."""


@dataclass
class TocsinPages:
    http: httpx.AsyncClient
    receiver: Receiver
    workflow_ids: dict[str, str] = field(default_factory=dict)

    async def submit(self, index: int) -> str:
        response = await self.http.post(
            "/api/pages", json={"team": TEAM, "summary": f"bench page {index}"}
        )
        if response.status_code != 201:
            raise SubmitError(f"HTTP {response.status_code}: {response.text[:200]}")
        page = response.json()
        key = str(page["id"])
        self.workflow_ids[key] = str(page["workflow_id"])
        return key

    async def completed(self, key: str) -> float:
        return await self.receiver.arrival(key)


@dataclass
class RawWorkflows:
    client: Client
    task_queue: str
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    serial: itertools.count[int] = field(default_factory=itertools.count)
    handles: dict[str, WorkflowHandle[TrivialWorkflow, None]] = field(default_factory=dict)

    async def submit(self, index: int) -> str:
        handle = await self.client.start_workflow(
            TrivialWorkflow.run,
            id=f"bench-raw-{self.run_id}-{next(self.serial)}",
            task_queue=self.task_queue,
        )
        self.handles[handle.id] = handle
        return handle.id

    async def completed(self, key: str) -> float:
        await self.handles[key].result()
        return time.monotonic()


@dataclass
class Item:
    key: str | None
    sent: float
    sent_wall: float
    accepted: float | None = None  # monotonic
    accepted_wall: float | None = None
    done: float | None = None
    error: str | None = None


@dataclass
class Batch:
    name: str
    items: list[Item]
    started: float
    cpu: dict[str, float | None]

    @property
    def latencies_ms(self) -> list[float]:
        return [
            (i.done - i.accepted) * 1000
            for i in self.items
            if i.done is not None and i.accepted is not None
        ]

    @property
    def submit_ms(self) -> list[float]:
        return [(i.accepted - i.sent) * 1000 for i in self.items if i.accepted is not None]

    @property
    def accepted_per_s(self) -> float:
        ends = [i.accepted for i in self.items if i.accepted is not None]
        return len(ends) / (max(ends) - self.started) if ends else 0.0

    @property
    def completed_per_s(self) -> float:
        ends = [i.done for i in self.items if i.done is not None]
        return len(ends) / (max(ends) - self.started) if ends else 0.0

    @property
    def wall(self) -> float:
        ends = [t for i in self.items for t in (i.accepted, i.done) if t is not None]
        return max(ends) - self.started if ends else 0.0

    @property
    def failed(self) -> int:
        return sum(1 for i in self.items if i.accepted is None)

    @property
    def missing(self) -> int:
        return sum(1 for i in self.items if i.accepted is not None and i.done is None)


async def _submit(subject: Subject, index: int) -> Item:
    item = Item(key=None, sent=time.monotonic(), sent_wall=time.time())
    try:
        item.key = await subject.submit(index)
    except Exception as err:  # noqa: BLE001 - a benchmark reports failures instead of stopping
        item.error = f"{type(err).__name__}: {err}"
        return item
    item.accepted = time.monotonic()
    item.accepted_wall = time.time()
    return item


async def run_batch(
    name: str,
    subject: Subject,
    count: int,
    concurrency: int,
    patience: float,
    cpu: Callable[[], dict[str, float | None]],
) -> Batch:
    """``concurrency`` 1: one item at a time, end to end. More: a burst of submissions."""
    cpu_before = cpu()
    started = time.monotonic()
    items: list[Item] = []
    if concurrency == 1:
        for index in range(count):
            item = await _submit(subject, index)
            items.append(item)
            if item.key is not None:
                with contextlib.suppress(TimeoutError):
                    item.done = await asyncio.wait_for(subject.completed(item.key), patience)
    else:
        gate = asyncio.Semaphore(concurrency)
        waits: dict[asyncio.Task[float], Item] = {}

        async def one(index: int) -> None:
            async with gate:
                item = await _submit(subject, index)
            items.append(item)
            if item.key is not None:
                waits[asyncio.create_task(subject.completed(item.key))] = item

        await asyncio.gather(*(one(i) for i in range(count)))
        if waits:
            done, pending = await asyncio.wait(waits, timeout=patience)
            for task in done:
                if task.exception() is None:
                    waits[task].done = task.result()
                else:
                    waits[task].error = repr(task.exception())
            for task in pending:
                task.cancel()
    usage = cpu_usage(cpu_before, cpu(), time.monotonic() - started)
    return Batch(name, items, started, usage)


# -- where the time goes: stages from workflow histories ---------------------------------------

_MILESTONES = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "wf started",
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: "WFT{n} started",
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "WFT{n} done",
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: "{activity} started",
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "{activity} done",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "wf completed",
}


def milestones(events: Sequence[HistoryEvent], stop: str) -> list[tuple[str, float]]:
    """Labelled server timestamps (epoch s) of the events up to the one labelled ``stop``."""
    activities: dict[int, str] = {}
    found: list[tuple[str, float]] = []
    task = 0
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities[event.event_id] = (
                event.activity_task_scheduled_event_attributes.activity_type.name
            )
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task += 1
        template = _MILESTONES.get(kind)
        if template is None:
            continue
        scheduled = (
            event.activity_task_started_event_attributes.scheduled_event_id
            or event.activity_task_completed_event_attributes.scheduled_event_id
        )
        label = template.format(n=task, activity=activities.get(scheduled, "activity"))
        found.append((label, event.event_time.ToNanoseconds() / 1e9))
    # An activity's Started event is written with its Completed one, timestamped when it started.
    found.sort(key=lambda pair: pair[1])
    for position, (label, _) in enumerate(found):
        if label == stop:
            return found[: position + 1]
    return []


@dataclass
class Breakdown:
    """Median milliseconds per stage, stages in the order first seen."""

    stages: dict[str, list[float]] = field(default_factory=dict)

    def add(self, points: list[tuple[str, float]]) -> None:
        for (before, t0), (after, t1) in itertools.pairwise(points):
            self.stages.setdefault(f"{before} → {after}", []).append((t1 - t0) * 1000)

    def median(self, stage: str) -> float | None:
        values = self.stages.get(stage)
        return statistics.median(values) if values else None


async def breakdown(
    client: Client,
    batch: Batch,
    workflow_id: Callable[[str], str],
    stop: str,
    end_label: str,
    end_wall: Callable[[str], float | None],
) -> Breakdown:
    """Stages per item: client send → server events → the end seen by the bench."""
    result = Breakdown()
    gate = asyncio.Semaphore(8)

    async def one(item: Item) -> None:
        if item.key is None or item.accepted_wall is None:
            return
        async with gate:
            history = await client.get_workflow_handle(workflow_id(item.key)).fetch_history()
        points = milestones(history.events, stop)
        end = end_wall(item.key)
        if not points or end is None:
            return
        result.add([("sent", item.sent_wall), *points, (end_label, end)])
        started = points[0][1]
        result.stages.setdefault("(sent → accepted at client)", []).append(
            (item.accepted_wall - item.sent_wall) * 1000
        )
        result.stages.setdefault("(wf started → accepted at client)", []).append(
            (item.accepted_wall - started) * 1000
        )

    await asyncio.gather(*(one(item) for item in batch.items))
    return result


# -- report -----------------------------------------------------------------------------------


def report(
    batches: list[Batch],
    ratios: list[tuple[str, Batch, Batch]],
    breakdowns: list[tuple[str, Breakdown, Breakdown]],
    notes: Sequence[str] = (),
) -> str:
    header = (
        f"{'batch':<22} {'n':>4} {'fail':>4} {'miss':>4} {'p50':>6} {'p90':>6} {'p99':>6} "
        f"{'max':>6} {'submit50':>8} {'acc/s':>6} {'done/s':>6} {'wall s':>6}  "
        f"cpu temporal/tocsin/bench"
    )
    lines = ["latency ms (accepted → delivered | start returned → result)", header]
    for batch in batches:
        lat = batch.latencies_ms
        submit = batch.submit_ms
        cells = [percentile(lat, q) if lat else None for q in (50, 90, 99, 100)]
        cpu = cpu_cell(batch.cpu)
        lines.append(
            f"{batch.name:<22} {len(batch.items):>4} {batch.failed:>4} {batch.missing:>4} "
            + " ".join(f"{num(c):>6}" for c in cells)
            + f" {num(statistics.median(submit) if submit else None):>8}"
            f" {batch.accepted_per_s:>6.1f} {batch.completed_per_s:>6.1f} {batch.wall:>6.1f}  {cpu}"
        )
    lines += ["", "ratio tocsin/raw          p50   throughput (done/s)"]
    for name, tocsin, raw in ratios:
        t_lat, r_lat = tocsin.latencies_ms, raw.latencies_ms
        p50 = f"{percentile(t_lat, 50) / percentile(r_lat, 50):.2f}x" if t_lat and r_lat else "-"
        rate = (
            f"{tocsin.completed_per_s / raw.completed_per_s:.2f}x" if raw.completed_per_s else "-"
        )
        lines.append(f"{name:<22} {p50:>7} {rate:>12}")
    for name, sequential, concurrent in breakdowns:
        lines += [
            "",
            f"{name}: median ms per stage (server event times)",
            f"{'stage':<52} {'seq':>7} {'conc':>7}",
        ]
        for stage in dict.fromkeys([*sequential.stages, *concurrent.stages]):
            lines.append(
                f"{stage:<52} {num(sequential.median(stage)):>7} {num(concurrent.median(stage)):>7}"
            )
    lines += [
        "",
        "submit50: median ms from request sent to accepted (201 / start_workflow returned);",
        "acc/s, done/s: items accepted, completed per second since the batch began;",
        "cpu: share of one core used by each process during the batch.",
        *notes,
    ]
    errors = [f"{b.name}: {i.error}" for b in batches for i in b.items if i.error][:5]
    if errors:
        lines += ["", "first errors:", *errors]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=200, help="items per batch (200)")
    parser.add_argument("--concurrency", type=int, default=10, help="concurrent submissions (10)")
    parser.add_argument("--warmup", type=int, default=10, help="items first, not counted (10)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for completions (120)"
    )
    args = parser.parse_args(argv)
    if args.pages < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--pages and --concurrency must be >= 1, --warmup >= 0")
    return args


async def measure(
    name: str,
    subject: Subject,
    args: argparse.Namespace,
    cpu: Callable[[], dict[str, float | None]],
) -> tuple[Batch, Batch]:
    if args.warmup:
        progress(f"{name}: warm-up ({args.warmup})")
        await run_batch("warmup", subject, args.warmup, 1, args.timeout, cpu)
    progress(f"{name}: sequential ({args.pages})")
    sequential = await run_batch(f"{name} sequential", subject, args.pages, 1, args.timeout, cpu)
    progress(f"{name}: concurrency {args.concurrency} ({args.pages})")
    concurrent = await run_batch(
        f"{name} concurrent({args.concurrency})",
        subject,
        args.pages,
        args.concurrency,
        args.timeout,
        cpu,
    )
    return sequential, concurrent


async def main(args: argparse.Namespace) -> str:
    receiver = Receiver()
    await receiver.start()
    config = CONFIG.format(port=receiver.port, team=TEAM)
    try:
        async with running_stack("tocsin-bench-", config, progress) as stack:
            return await _run(stack, receiver, args)
    finally:
        await receiver.stop()


async def _run(stack: Stack, receiver: Receiver, args: argparse.Namespace) -> str:
    limits = httpx.Limits(max_connections=max(args.concurrency, 1) + 2)
    async with httpx.AsyncClient(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=60.0,
        limits=limits,
    ) as http:
        pages = TocsinPages(http, receiver)
        tocsin = await measure("tocsin", pages, args, stack.cpu)

    client = await Client.connect(stack.temporal_address)
    raw = RawWorkflows(client, task_queue=f"bench-raw-{secrets.token_hex(3)}")
    async with Worker(
        client, task_queue=raw.task_queue, workflows=[TrivialWorkflow], activities=[noop]
    ):
        baseline = await measure("raw", raw, args, stack.cpu)

    progress("reading workflow histories")
    page_stages = [
        await breakdown(
            client,
            batch,
            lambda key: pages.workflow_ids[key],
            "notify started",
            "delivered",
            receiver.arrivals_wall.get,
        )
        for batch in tocsin
    ]
    raw_done: dict[str, float] = {}
    for batch in baseline:
        for item in batch.items:
            if item.key and item.done and item.accepted and item.accepted_wall:
                # done is monotonic: map it onto the wall clock through the accepted pair
                raw_done[item.key] = item.accepted_wall + (item.done - item.accepted)
    raw_stages = [
        await breakdown(client, batch, str, "wf completed", "result at client", raw_done.get)
        for batch in baseline
    ]
    return report(
        [*tocsin, *baseline],
        [
            ("sequential", tocsin[0], baseline[0]),
            (f"concurrent({args.concurrency})", tocsin[1], baseline[1]),
        ],
        [
            ("tocsin page", page_stages[0], page_stages[1]),
            ("raw workflow", raw_stages[0], raw_stages[1]),
        ],
        [
            f"receiver: {receiver.requests} POSTs, {len(receiver.arrivals)} distinct pages, "
            f"{receiver.unparsed} without a page id"
        ],
    )


def _cli() -> None:
    args = parse_args()
    command = shlex.join([sys.executable, *sys.argv])
    started = time.monotonic()
    text = asyncio.run(main(args))
    print(f"command: {command}")
    print(
        f"pages={args.pages} concurrency={args.concurrency} warmup={args.warmup} "
        f"cpus={os.cpu_count()} total={time.monotonic() - started:.0f}s"
    )
    print(text)


if __name__ == "__main__":
    _cli()
