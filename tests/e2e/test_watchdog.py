"""The dead-man heartbeat against the real dev server: pings while the worker polls,
none (counted skipped) while it does not, a failing receiver counted failed, and the
watchdog URL's secret parts never in a log line."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from structlog.testing import capture_logs
from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import write_config
from tests.fakes.receiver import Receiver
from worker.config import ConfigFile
from worker.liveness import watch_liveness
from worker.run import run_worker
from worker.settings import Settings

pytestmark = pytest.mark.e2e

SECRET_PATH = "b1e7c0de-5ecr-e7pa-th00-0000deadbeef"
SECRET_QUERY = "k3y0nlyth3v3nd0rkn0ws"


@dataclass
class PingReceiver:
    """A loopback HTTP server recording each request's target; answers ``status``."""

    status: int = 200
    targets: list[str] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """A check URL as the vendors hand them out: the secret in its path and query."""
        return f"http://127.0.0.1:{self.port}/ping/{SECRET_PATH}?key={SECRET_QUERY}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.targets.append(head.decode("latin-1").split("\r\n")[0])
            writer.write(
                f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def pings() -> AsyncIterator[PingReceiver]:
    receiver = PingReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Standard logging at the levels ``tocsin worker`` sets (httpx only from warnings)."""
    caplog.set_level(logging.INFO)
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.WARNING, logger=name)
    return caplog


def pings_total(outcome: str) -> float:
    return REGISTRY.get_sample_value("tocsin_watchdog_pings_total", {"outcome": outcome}) or 0.0


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``condition()`` holds (checked every 50 ms), failing after ``within``."""
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not within {within} s")


@asynccontextmanager
async def worker_running(
    env: WorkflowEnvironment, tmp_path: Path, watchdog_url: str
) -> AsyncIterator[None]:
    """``run_worker`` as ``tocsin worker`` runs it, pinging ``watchdog_url`` every second."""
    config = write_config(tmp_path / "tocsin.yaml", Receiver())
    settings = Settings(
        task_queue=f"e2e-{uuid.uuid4()}",
        data_dir=tmp_path,
        watchdog_url=SecretStr(watchdog_url),
        watchdog_interval=1.0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(env.client, settings, ConfigFile(config), stop))
    try:
        yield
    finally:
        stop.set()
        await task


def assert_no_secret(captured: list[dict[str, object]], caplog: pytest.LogCaptureFixture) -> None:
    text = repr(captured) + caplog.text
    assert SECRET_PATH not in text
    assert SECRET_QUERY not in text


class TestWatchdog:
    """The watchdog URL is requested only while this worker polls and the server answers."""

    async def test_pings_while_the_worker_polls(
        self,
        dev_env: WorkflowEnvironment,
        tmp_path: Path,
        pings: PingReceiver,
        logs: pytest.LogCaptureFixture,
    ) -> None:
        ok_before = pings_total("ok")
        with capture_logs() as captured:
            async with worker_running(dev_env, tmp_path, pings.url):
                await until(lambda: len(pings.targets) >= 2)
                assert gauge("tocsin_worker_polling") == 1
                assert gauge("tocsin_temporal_up") == 1
        assert pings.targets[0] == f"GET /ping/{SECRET_PATH}?key={SECRET_QUERY} HTTP/1.1"
        assert pings_total("ok") - ok_before >= 2
        on = [entry for entry in captured if entry["event"] == "watchdog on"]
        assert [entry["target"] for entry in on] == ["http://127.0.0.1"]
        assert not [entry for entry in captured if entry["log_level"] == "warning"]
        assert_no_secret(captured, logs)

    async def test_nothing_is_sent_while_the_worker_does_not_poll(
        self,
        dev_env: WorkflowEnvironment,
        pings: PingReceiver,
        logs: pytest.LogCaptureFixture,
    ) -> None:
        skipped_before = pings_total("skipped")
        stop = asyncio.Event()
        # A task queue no worker polls: this process's identity is not among its pollers.
        queue = f"e2e-{uuid.uuid4()}"
        client = dev_env.client
        with capture_logs() as captured:
            loop = asyncio.create_task(
                # No start-up grace: the first check may warn at once.
                watch_liveness(client, queue, client.identity, stop, pings.url, 1.0, grace=0.0)
            )
            await until(lambda: pings_total("skipped") - skipped_before >= 2)
            assert gauge("tocsin_worker_polling") == 0
            assert gauge("tocsin_temporal_up") == 1
            stop.set()
            await loop
        assert pings.targets == []
        warnings = [entry for entry in captured if entry["log_level"] == "warning"]
        assert len(warnings) == 1, warnings
        assert "has not polled its workflow and activity tasks" in str(warnings[0]["reason"])
        assert_no_secret(captured, logs)

    async def test_a_failing_receiver_is_counted_and_pinged_again(
        self,
        dev_env: WorkflowEnvironment,
        tmp_path: Path,
        pings: PingReceiver,
        logs: pytest.LogCaptureFixture,
    ) -> None:
        pings.status = 500
        failed_before = pings_total("failed")
        ok_before = pings_total("ok")
        with capture_logs() as captured:
            async with worker_running(dev_env, tmp_path, pings.url):
                await until(lambda: pings_total("failed") - failed_before >= 2)
                pings.status = 204
                await until(lambda: pings_total("ok") - ok_before >= 1)
        failures = [entry for entry in captured if entry["event"] == "watchdog ping failed"]
        assert len(failures) == 1, failures
        assert failures[0]["log_level"] == "warning"
        assert failures[0]["error"] == "HTTP 500"
        assert failures[0]["target"] == "http://127.0.0.1"
        assert [entry for entry in captured if entry["event"] == "watchdog ping ok again"]
        assert_no_secret(captured, logs)
