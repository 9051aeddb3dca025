"""The worker's liveness, watched beside it: whether the Temporal server answers and this
worker polls its task queue (the ``tocsin_temporal_up`` and ``tocsin_worker_polling``
gauges), and the outbound dead-man heartbeat to ``TOCSIN_WATCHDOG_URL``, requested only
while both hold, so an external service (healthchecks.io, Cronitor, ...) notices when
Tocsin stops serving pages.

The URL may hold a secret (a check's key in its path or query): it is never logged, only
its scheme and host.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.adapters.prometheus_metrics import TEMPORAL_UP, WATCHDOG_PINGS, WORKER_POLLING
from worker.settings import Settings, reveal

log = structlog.get_logger("tocsin.liveness")

# How often liveness is checked when no watchdog URL is set (with one: its interval).
CHECK_INTERVAL = 15.0
# The first check waits this long after the worker starts, so its first polls have
# reached the server: a restarted worker pings promptly.
FIRST_CHECK_DELAY = 1.0
# Until the worker is first seen live (for at most this long after start), checks repeat
# every FIRST_CHECK_DELAY and say nothing: a slow start is not a warning, and the first
# ping is not put off by a whole interval.
STARTUP_GRACE = 10.0
# A worker's long poll lasts up to a minute before it polls again, and the server records
# a poller when its poll arrives: a poller seen within two polls' time still polls.
POLLER_FRESHNESS = timedelta(minutes=2)
# Each RPC of a check gives up after this long (the server counts as not answering).
RPC_TIMEOUT = timedelta(seconds=5)
# A ping gives up after this long, or after the interval when that is shorter.
PING_TIMEOUT = 10.0

_QUEUE_TYPES = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


@dataclass(frozen=True)
class Liveness:
    """One check's answer: ``problem`` says why the worker is not live (None: it is)."""

    temporal_up: bool
    polling: bool
    problem: str | None = None


def polls_recently(
    pollers: Iterable[PollerInfo],
    identity: str,
    now: datetime,
    within: timedelta = POLLER_FRESHNESS,
) -> bool:
    """Whether a poller with ``identity`` reached the server within ``within`` of ``now``."""
    return any(
        poller.identity == identity
        and poller.HasField("last_access_time")
        and now - poller.last_access_time.ToDatetime(tzinfo=UTC) <= within
        for poller in pollers
    )


async def check_liveness(client: Client, task_queue: str, identity: str) -> Liveness:
    """Ask the server whether it answers and whether ``identity`` polls ``task_queue`` for
    both workflow and activity tasks."""
    try:
        if not await client.service_client.check_health(timeout=RPC_TIMEOUT):
            return Liveness(False, False, "the Temporal server reports itself not serving")
        described = await asyncio.gather(
            *(
                client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=client.namespace,
                        task_queue=TaskQueue(name=task_queue),
                        task_queue_type=queue_type,
                    ),
                    timeout=RPC_TIMEOUT,
                )
                for queue_type in _QUEUE_TYPES.values()
            )
        )
    except RPCError as err:
        return Liveness(False, False, f"the Temporal server does not answer: {err.message}")
    now = datetime.now(UTC)
    missing = [
        kind
        for kind, response in zip(_QUEUE_TYPES, described, strict=True)
        if not polls_recently(response.pollers, identity, now)
    ]
    if missing:
        return Liveness(
            True,
            False,
            f"this worker has not polled its {' and '.join(missing)} tasks "
            f"in the last {POLLER_FRESHNESS.total_seconds():.0f} s",
        )
    return Liveness(True, True)


def watchdog_target(url: str) -> str:
    """What the logs may say of a watchdog URL: its scheme and host, never path or query."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}"


async def ping(http: httpx.AsyncClient, url: str) -> str | None:
    """Request the watchdog URL; None when it answered 2xx, else what went wrong (without
    the URL)."""
    try:
        response = await http.get(url)
    except httpx.HTTPError as err:
        # Exception texts may quote the request's URL: name the kind of failure only.
        return type(err).__name__
    if not response.is_success:
        return f"HTTP {response.status_code}"
    return None


@dataclass
class _Watch:
    """What the loop remembers between checks, so a warning is logged once per change."""

    url: str | None
    problem: str | None = None
    ping_failure: str | None = None
    seen_live: bool = False


async def watch_liveness(
    client: Client,
    task_queue: str,
    identity: str,
    stop: asyncio.Event,
    url: str | None,
    interval: float,
    grace: float = STARTUP_GRACE,
) -> None:
    """Until ``stop`` is set: every ``interval`` seconds check liveness, set the gauges and,
    when the worker is live and ``url`` is set, ping it (else count the ping skipped).

    For up to ``grace`` seconds after start, until the worker is first seen live, checks
    repeat every second and a problem is not logged yet (its first polls are under way).
    """
    watch = _Watch(url)
    async with httpx.AsyncClient(
        timeout=min(PING_TIMEOUT, interval), follow_redirects=True
    ) as http:
        began = time.monotonic()
        delay = FIRST_CHECK_DELAY
        while not await _stopped(stop, delay):
            started = time.monotonic()
            starting = not watch.seen_live and started - began < grace
            tick = _tick(client, task_queue, identity, http, watch, quiet=starting)
            if not await _until_stopped(tick, stop):
                return
            if starting and not watch.seen_live:
                delay = FIRST_CHECK_DELAY
            else:
                delay = max(0.0, interval - (time.monotonic() - started))


async def keep_alive(worker: Worker, settings: Settings, stop: asyncio.Event) -> None:
    """:func:`watch_liveness` of ``worker`` (its client, task queue and identity) as the
    settings say: ``TOCSIN_WATCHDOG_URL`` pinged every ``TOCSIN_WATCHDOG_INTERVAL``
    seconds; without a URL, the gauges only, every 15 s."""
    config = worker.config()
    # A worker without an identity of its own polls with its client's.
    identity = config.get("identity") or worker.client.identity
    url = reveal(settings.watchdog_url)
    if url is not None:
        log.info("watchdog on", target=watchdog_target(url), interval=settings.watchdog_interval)
    interval = settings.watchdog_interval if url is not None else CHECK_INTERVAL
    await watch_liveness(worker.client, config["task_queue"], identity, stop, url, interval)


async def _tick(
    client: Client,
    task_queue: str,
    identity: str,
    http: httpx.AsyncClient,
    watch: _Watch,
    *,
    quiet: bool,
) -> None:
    liveness = await check_liveness(client, task_queue, identity)
    TEMPORAL_UP.set(1 if liveness.temporal_up else 0)
    WORKER_POLLING.set(1 if liveness.polling else 0)
    watch.seen_live = watch.seen_live or liveness.problem is None
    if liveness.problem != watch.problem and not (quiet and liveness.problem is not None):
        if liveness.problem is not None:
            log.warning(
                "worker not live; watchdog pings paused" if watch.url else "worker not live",
                reason=liveness.problem,
                task_queue=task_queue,
            )
        else:
            log.info("worker live again", task_queue=task_queue)
        watch.problem = liveness.problem
    if watch.url is None:
        return
    if liveness.problem is not None:
        WATCHDOG_PINGS.labels(outcome="skipped").inc()
        return
    failure = await ping(http, watch.url)
    WATCHDOG_PINGS.labels(outcome="ok" if failure is None else "failed").inc()
    if failure is not None and failure != watch.ping_failure:
        log.warning("watchdog ping failed", target=watchdog_target(watch.url), error=failure)
    elif failure is None and watch.ping_failure is not None:
        log.info("watchdog ping ok again", target=watchdog_target(watch.url))
    watch.ping_failure = failure


async def _until_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run ``work`` unless ``stop`` is set first (then cancel it: a check or ping waiting on
    an unreachable host must not hold up the worker's shutdown); whether it finished."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
    if not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    task.result()
    return True


async def _stopped(stop: asyncio.Event, within: float) -> bool:
    """Wait up to ``within`` seconds for ``stop``; whether it was set."""
    try:
        await asyncio.wait_for(stop.wait(), within)
    except TimeoutError:
        return False
    return True
