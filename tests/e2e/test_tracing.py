"""Traces: one trace from a webhook's request to the notification it sends, exported over
OTLP/HTTP to a loopback collector; nothing secret in it; nothing at all when off.

``tocsin api`` and ``tocsin worker`` run as their own processes, as deployed: each installs
its global tracer provider (once per process) and flushes it on SIGTERM, and nothing leaks
into this test process's OpenTelemetry state.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from temporalio.testing import WorkflowEnvironment

from starters.api import TocsinClient
from starters.events import event_page_key
from starters.http.app import app_from_settings
from tests.conftest import binary, free_port
from tests.e2e.conftest import EVENTS_KEY, end_open_pages, write_config
from tests.fakes.otlp import OtlpReceiver, ReceivedSpan
from tests.fakes.receiver import Receiver
from worker.client import connect
from worker.config import ConfigFile
from worker.settings import Settings
from worker.tracing import ENDPOINT_VARIABLES, setup_tracing, tracing_enabled, tracing_interceptors
from workflows.ids import page_workflow_id

pytestmark = pytest.mark.e2e

# What a request may carry that no span may: a signed link's path, a calendar's
# ?token= query, a session cookie (the bearer token is made per test).
LINK_SECRET = "v1.signedlinksecret0123456789abcdef"
QUERY_SECRET = "calendarquerysecret0123456789abcd"
COOKIE_SECRET = "sessioncookiesecret0123456789abcd"


@dataclass
class TracedStack:
    url: str
    token: str
    task_queue: str
    processes: list[asyncio.subprocess.Process]
    logs: list[Path]

    async def stop(self) -> None:
        """SIGTERM each process and wait: they flush their spans on the way out."""
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process, log in zip(self.processes, self.logs, strict=True):
            code = await asyncio.wait_for(process.wait(), 30)
            assert code == 0, log.read_text()


@pytest.fixture
async def otlp() -> AsyncIterator[OtlpReceiver]:
    collector = OtlpReceiver()
    await collector.start()
    yield collector
    await collector.stop()


@pytest.fixture
async def traced_stack(
    dev_env: WorkflowEnvironment, receiver: Receiver, otlp: OtlpReceiver, tmp_path: Path
) -> AsyncIterator[TracedStack]:
    """``tocsin api`` and ``tocsin worker`` with OTEL_EXPORTER_OTLP_ENDPOINT at ``otlp``."""
    config = write_config(tmp_path / "tocsin.yaml", receiver)
    port = free_port()
    token = secrets.token_urlsafe(16)
    task_queue = f"traces-{uuid.uuid4()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {
        "TOCSIN_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TOCSIN_CONFIG": str(config),
        "TOCSIN_DATA_DIR": str(tmp_path),
        "TOCSIN_TASK_QUEUE": task_queue,
        "TOCSIN_API_PORT": str(port),
        "TOCSIN_API_TOKEN": token,
        "TOCSIN_WORKER_METRICS_PORT": "0",
        "TOCSIN_LOG_FORMAT": "json",
        "TOCSIN_E2E_EVENTS_KEY": EVENTS_KEY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        # Capture every request header: the credentials among them must come out redacted.
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST": ".*",
    }
    processes, logs = [], []
    for command in ("api", "worker"):
        log = tmp_path / f"{command}.log"
        with log.open("wb") as out:
            processes.append(
                await asyncio.create_subprocess_exec(
                    binary("tocsin"), command, env=env, stdout=out, stderr=out
                )
            )
        logs.append(log)
    stack = TracedStack(f"http://127.0.0.1:{port}", token, task_queue, processes, logs)
    try:
        await _wait_until_serving(stack)
        yield stack
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _wait_until_serving(stack: TracedStack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=2) as http:
        for _ in range(600):
            for process, log in zip(stack.processes, stack.logs, strict=True):
                assert process.returncode is None, log.read_text()
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    pytest.fail(f"tocsin api did not answer: {stack.logs[0].read_text()}")


def _one(spans: list[ReceivedSpan], name: str, workflow_id: str | None = None) -> ReceivedSpan:
    found = _all(spans, name, workflow_id)
    assert len(found) == 1, (name, sorted({span.name for span in spans}))
    return found[0]


def _all(spans: list[ReceivedSpan], name: str, workflow_id: str | None) -> list[ReceivedSpan]:
    """The spans named ``name`` (of that workflow's, when given: the worker runs others)."""
    return [
        span
        for span in spans
        if span.name == name and workflow_id in (None, span.attributes.get("temporalWorkflowID"))
    ]


class TestTraceFromWebhookToNotification:
    """An alert posted to the events webhook and the notification it causes are one trace."""

    async def test_one_trace_webhook_to_notify(
        self,
        dev_env: WorkflowEnvironment,
        traced_stack: TracedStack,
        receiver: Receiver,
        otlp: OtlpReceiver,
    ) -> None:
        dedup_key = f"trace-{uuid.uuid4()}"
        page_id = event_page_key("gitserver", dedup_key)
        async with httpx.AsyncClient(base_url=traced_stack.url, timeout=20) as http:
            event = {
                "routing_key": EVENTS_KEY,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {
                    "summary": "gitserver disk 99%",
                    "source": "gitserver-0",
                    "severity": "critical",
                },
            }
            accepted = await http.post("/v2/enqueue", json=event)
            assert accepted.status_code == 202, accepted.text
            await receiver.wait_for(lambda _: receiver.for_page(page_id), within=20)

            # Requests carrying credentials in their path, query and headers.
            await http.get(f"/a/{LINK_SECRET}")
            secret_headers = {
                "Authorization": f"Bearer {traced_stack.token}",
                "Cookie": f"tocsin_session={COOKIE_SECRET}",
            }
            listed = await http.get(
                f"/api/pages/{page_id}", params={"token": QUERY_SECRET}, headers=secret_headers
            )
            assert listed.status_code == 200, listed.text

        await end_open_pages(dev_env.client, traced_stack.task_queue)
        await traced_stack.stop()
        spans = otlp.spans

        workflow_id = page_workflow_id(page_id)
        webhook = _one(spans, "POST /v2/enqueue")
        start = _one(spans, "SignalWithStartWorkflow:PageWorkflow", workflow_id)
        run = _one(spans, "RunWorkflow:PageWorkflow", workflow_id)
        notify = _all(spans, "RunActivity:notify", workflow_id)
        assert notify, sorted({span.name for span in spans})
        assert (webhook.service, start.service) == ("tocsin-api", "tocsin-api")
        assert {run.service} | {span.service for span in notify} == {"tocsin-worker"}
        assert start.parent_span_id == webhook.span_id
        assert webhook.parent_span_id == ""  # the webhook's request is the root
        traced = {webhook.trace_id, start.trace_id, run.trace_id} | {s.trace_id for s in notify}
        assert traced == {webhook.trace_id}

        # The signed link's span is named by its route; no URL attribute holds the link.
        link = _one(spans, "GET /a/{token:link}")
        assert link.attributes["http.target"] == "/a/{token:link}"
        looked_up = _one(spans, "GET /api/pages/{page_id}")
        assert looked_up.attributes["http.target"] == "/api/pages/{page_id}"
        assert looked_up.attributes["http.request.header.authorization"] == ["[REDACTED]"]
        assert looked_up.attributes["http.request.header.cookie"] == ["[REDACTED]"]
        exported = b"".join(otlp.bodies)
        for secret in (LINK_SECRET, QUERY_SECRET, COOKIE_SECRET, traced_stack.token, EVENTS_KEY):
            assert secret.encode() not in exported, secret


class TestTracesOff:
    """Without an OTLP endpoint nothing is installed: no provider, interceptor or middleware."""

    async def test_nothing_installed_without_an_endpoint(
        self,
        dev_env: WorkflowEnvironment,
        receiver: Receiver,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        for name in ENDPOINT_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
        before = trace.get_tracer_provider()

        stop = setup_tracing("tocsin-api")
        stop()
        assert trace.get_tracer_provider() is before
        assert tracing_interceptors() == []

        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            data_dir=tmp_path,
        )
        client = await connect(settings)
        assert list(client.config()["interceptors"]) == []
        tocsin = TocsinClient(
            client, ConfigFile(write_config(tmp_path / "tocsin.yaml", receiver)), "traces-off"
        )
        app = app_from_settings(settings, "token", tocsin)
        assert not getattr(app, "_is_instrumented_by_opentelemetry", False)

    def test_enabled_only_with_an_endpoint(self) -> None:
        endpoint = "http://collector:4318"
        assert not tracing_enabled({})
        assert not tracing_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": " "})
        assert tracing_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        assert tracing_enabled({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint})
        disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SDK_DISABLED": "True"}
        assert not tracing_enabled(disabled)
