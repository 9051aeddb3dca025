"""A real Prometheus (Debian's ``prometheus``) scraping Tocsin's API and worker during a
page: both targets up with the bearer token, and the escalation lateness histogram, the
notification counts and the Temporal SDK's series answer PromQL queries."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.http.app import create_app
from tests.conftest import free_port, serving
from tests.e2e.conftest import end_open_pages, write_config
from tests.fakes.receiver import Receiver
from worker.build import build_worker
from worker.client import connect
from worker.config import ConfigFile
from worker.metrics_server import serve_metrics
from worker.sdk_metrics import keep_draining
from worker.settings import Settings

pytestmark = pytest.mark.e2e

PROMETHEUS = "prometheus"
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "tocsin-rules.yml"

SCRAPE = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
scrape_configs:
  - job_name: tocsin-api
    authorization: {{credentials_file: {token_file}}}
    static_configs: [{{targets: ["127.0.0.1:{api_port}"]}}]
  - job_name: tocsin-worker
    authorization: {{credentials_file: {token_file}}}
    static_configs: [{{targets: ["127.0.0.1:{worker_port}"]}}]
"""


@dataclass
class Prometheus:
    url: str
    http: httpx.AsyncClient

    async def query(self, promql: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self.url}/api/v1/query", params={"query": promql})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def wait_for(self, promql: str, within: float = 30.0) -> list[dict[str, Any]]:
        """The query's result once it is not empty."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = await self.query(promql)
            if found:
                return found
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"no data for {promql} within {within:.0f} s")
            await asyncio.sleep(0.5)


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which(PROMETHEUS)
    if found is None:
        pytest.skip(
            "Debian's prometheus is not installed (`make test` installs it when run as root)"
        )
    return found


@dataclass(frozen=True)
class Launched:
    """A Prometheus process: the ports it scrapes, the token it sends, its own port."""

    api_port: int
    worker_port: int
    token: str
    port: int
    log: Path


@pytest.fixture
def launched(tmp_path: Path, prometheus_binary: str) -> Iterator[Launched]:
    """Prometheus started against two loopback ports it will scrape (nothing listens yet)."""
    api_port, worker_port, port = free_port(), free_port(), free_port()
    token = secrets.token_urlsafe(24)
    token_file = tmp_path / "metrics-token"
    token_file.write_text(token)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        SCRAPE.format(
            rules=f'"{RULES}"' if RULES.exists() else "",
            token_file=token_file,
            api_port=api_port,
            worker_port=worker_port,
        )
    )
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Launched(api_port, worker_port, token, port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def scraped(
    launched: Launched, dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[Prometheus, httpx.AsyncClient, Receiver]]:
    """Tocsin's API and worker (its client reporting the SDK's metrics) on the ports
    Prometheus scrapes; Prometheus ready; an API client and the notification receiver."""
    api_port, worker_port, token = launched.api_port, launched.worker_port, launched.token
    receiver = Receiver()
    await receiver.start()
    task_queue = f"e2e-{uuid.uuid4()}"
    config = ConfigFile(write_config(tmp_path / "tocsin.yaml", receiver, step1="2s"))
    address = dev_env.client.service_client.config.target_host
    settings = Settings(
        temporal_address=address,
        task_queue=task_queue,
        data_dir=tmp_path,
        metrics_token=token,
        worker_metrics_port=worker_port,
        api_port=api_port,
    )
    client = await connect(settings, metrics=True)
    api_token = secrets.token_urlsafe(16)
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(
        api_token, TocsinClient(client, config, task_queue), store=store, metrics_token=token
    )
    stop = asyncio.Event()
    worker_metrics = asyncio.create_task(serve_metrics(settings, stop))
    draining = asyncio.create_task(keep_draining(stop))
    try:
        async with (
            serving(app, port=api_port),
            build_worker(client, settings, config, task_queue=task_queue),
            httpx.AsyncClient(timeout=10) as plain,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{api_port}",
                headers={"Authorization": f"Bearer {api_token}"},
                timeout=20,
            ) as http,
        ):
            prometheus = Prometheus(f"http://127.0.0.1:{launched.port}", plain)
            for _ in range(120):
                try:
                    if (await plain.get(f"{prometheus.url}/-/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.25)
            else:
                pytest.fail(f"prometheus did not start: {launched.log.read_text()[-2000:]}")
            yield prometheus, http, receiver
            await end_open_pages(client, task_queue)
    finally:
        stop.set()
        await asyncio.gather(worker_metrics, draining)
        await receiver.stop()
        await store.close()


async def test_prometheus_scrapes_api_and_worker_during_a_page(
    scraped: tuple[Prometheus, httpx.AsyncClient, Receiver],
) -> None:
    prometheus, http, receiver = scraped
    # Scraped with the bearer token from the credentials file (a refusal would be up 0).
    await prometheus.wait_for('up{job="tocsin-api"} == 1')
    await prometheus.wait_for('up{job="tocsin-worker"} == 1')
    summary = f"scraped while paging {uuid.uuid4().hex[:8]}"
    created = await http.post("/api/pages", json={"team": "delivery", "summary": summary})
    assert created.status_code == 201, created.text
    page = created.json()["id"]
    # Step 1 (alice), then step 2 (dana) after the 2 s acknowledgement timeout.
    await receiver.wait_for(lambda found: {d.step for d in found if d.page_id == page} >= {1, 2})

    late = await prometheus.wait_for(
        'tocsin_escalation_lateness_seconds_count{job="tocsin-worker", step="later"} > 0'
    )
    assert late[0]["metric"]["job"] == "tocsin-worker"
    quantile = await prometheus.wait_for(
        "histogram_quantile(0.99, sum by (le) "
        '(tocsin_escalation_lateness_seconds_bucket{job="tocsin-worker"}))'
    )
    seconds = float(quantile[0]["value"][1])
    assert 0 <= seconds <= 30, f"p99 escalation lateness {seconds} s on an idle stack"

    sent = await prometheus.wait_for(
        'sum(tocsin_notifications_total{job="tocsin-worker", outcome="sent"}) >= 2'
    )
    assert float(sent[0]["value"][1]) >= 2
    accepted = await prometheus.wait_for(
        'tocsin_alerts_total{job="tocsin-api", source="api", outcome="accepted"} >= 1'
    )
    assert accepted
    # The SDK's own series through the worker's endpoint.
    await prometheus.wait_for(
        'temporal_workflow_task_schedule_to_start_latency_seconds_count{job="tocsin-worker"}'
    )
    await prometheus.wait_for('tocsin_pages_open{job="tocsin-api", team="delivery"} >= 1')
