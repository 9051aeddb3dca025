"""Liveness rules without a server: which pollers count as this worker polling, what a
watchdog ping counts as ok, and what of its URL may be logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.taskqueue.v1 import PollerInfo

from worker.liveness import ping, polls_recently, watchdog_target

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
