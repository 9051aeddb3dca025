"""Liveness rules without a server: which pollers count as this worker polling, what a
watchdog ping counts as ok, what of its URL may be logged, and the loop when the server
does not answer or hangs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import REGISTRY
from structlog.testing import capture_logs
from temporalio.api.taskqueue.v1 import PollerInfo
from temporalio.service import RPCError, RPCStatusCode

from worker.liveness import ping, polls_recently, watch_liveness, watchdog_target

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
ME = "4242@worker-1"
SECRET = "s3cr3t-check-uuid"


def poller(identity: str, seen: datetime | None) -> PollerInfo:
    info = PollerInfo(identity=identity)
    if seen is not None:
        stamp = Timestamp()
        stamp.FromDatetime(seen)
        info.last_access_time.CopyFrom(stamp)
    return info


class TestPollsRecently:
    """A worker polls when a poller with its identity reached the server within two minutes."""

    def test_own_recent_poll_counts(self) -> None:
        assert polls_recently([poller(ME, NOW - timedelta(seconds=65))], ME, NOW)

    def test_poll_at_the_edge_still_counts(self) -> None:
        assert polls_recently([poller(ME, NOW - timedelta(minutes=2))], ME, NOW)

    def test_stale_poll_does_not(self) -> None:
        assert not polls_recently([poller(ME, NOW - timedelta(minutes=2, seconds=1))], ME, NOW)

    def test_another_workers_poll_does_not(self) -> None:
        pollers = [poller("99@worker-2", NOW), poller(ME, NOW - timedelta(minutes=5))]
        assert not polls_recently(pollers, ME, NOW)

    def test_poller_without_access_time_does_not(self) -> None:
        assert not polls_recently([poller(ME, None)], ME, NOW)

    def test_no_pollers(self) -> None:
        assert not polls_recently([], ME, NOW)


def answering(status: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(status)))


class TestPing:
    """Any 2xx is a good ping (the vendors' convention); anything else names what failed."""

    async def test_any_2xx_is_ok(self) -> None:
        for status in (200, 201, 202, 204):
            async with answering(status) as http:
                assert await ping(http, f"https://hc-ping.com/{SECRET}") is None

    async def test_error_status_fails(self) -> None:
        async with answering(404) as http:
            assert await ping(http, f"https://hc-ping.com/{SECRET}") == "HTTP 404"

    async def test_transport_error_fails_without_the_url(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
            failure = await ping(http, f"https://hc-ping.com/{SECRET}?k={SECRET}")
        assert failure == "ConnectError"


class TestWatchdogTarget:
    """Logs name the watchdog by scheme and host only: path, query and credentials are secret."""

    def test_scheme_and_host_only(self) -> None:
        url = f"https://user:{SECRET}@hc-ping.com:8443/ping/{SECRET}?key={SECRET}"
        assert watchdog_target(url) == "https://hc-ping.com"


class UnreachableServer:
    """A client's service client whose health check fails (or never answers)."""

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.checks = 0

    async def check_health(self, **_: Any) -> bool:
        self.checks += 1
        if self.hang:
            await asyncio.Event().wait()
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


class UnreachableClient:
    namespace = "default"
    identity = ME

    def __init__(self, server: UnreachableServer) -> None:
        self.service_client = server


def pings(outcome: str) -> float:
    return REGISTRY.get_sample_value("tocsin_watchdog_pings_total", {"outcome": outcome}) or 0.0


class TestWatchLiveness:
    """Without the Temporal server nothing is pinged, and a hanging check does not delay stop."""

    async def test_unreachable_server_skips_the_ping_and_warns(self) -> None:
        server = UnreachableServer()
        stop = asyncio.Event()
        before = {outcome: pings(outcome) for outcome in ("ok", "failed", "skipped")}
        with capture_logs() as logs:
            loop = asyncio.create_task(
                watch_liveness(
                    UnreachableClient(server),  # type: ignore[arg-type]
                    "tocsin",
                    ME,
                    stop,
                    f"http://127.0.0.1:9/{SECRET}",
                    1.0,
                    grace=0.0,
                )
            )
            for _ in range(100):
                if server.checks:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await loop
        assert {outcome: pings(outcome) - before[outcome] for outcome in before} == {
            "ok": 0,
            "failed": 0,
            "skipped": 1,
        }
        assert REGISTRY.get_sample_value("tocsin_temporal_up") == 0
        assert REGISTRY.get_sample_value("tocsin_worker_polling") == 0
        [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
        assert warning["reason"] == "the Temporal server does not answer: connection refused"
        assert SECRET not in repr(logs)

    async def test_stop_cancels_a_hanging_check(self) -> None:
        server = UnreachableServer(hang=True)
        stop = asyncio.Event()
        loop = asyncio.create_task(
            watch_liveness(UnreachableClient(server), "tocsin", ME, stop, None, 1.0)  # type: ignore[arg-type]
        )
        for _ in range(100):
            if server.checks:
                break
            await asyncio.sleep(0.05)
        assert server.checks == 1
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(loop, 1.0)
        assert time.monotonic() - started < 0.5
