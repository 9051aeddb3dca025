"""The API's GET /metrics through ASGI: who may read it, the request and intake counts it
shows, and the open pages, incidents and follow-ups counted from the logs."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.http.app import create_app
from tests.unit.test_sql_store import record
from worker.config import ConfigFile
from workflows.incident_models import IncidentStatus
from workflows.page_log import PageLogEntry

TOKEN = "api-token-123"
METRICS_TOKEN = "metrics-token-789"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)


class HealthyTemporal:
    """Temporal that answers health checks, and nothing else."""

    class service_client:  # the attribute name the client has
        @staticmethod
        async def check_health() -> bool:
            return True


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    found = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    yield found
    await found.close()


@pytest.fixture
async def api(tmp_path: Path, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, HealthyTemporal()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin, store=store, metrics_token=METRICS_TOKEN)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


def samples(body: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples called ``name``, by their labels."""
    found: dict[frozenset[tuple[str, str]], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name:
                found[frozenset(sample.labels.items())] = sample.value
    return found


async def scrape(api: httpx.AsyncClient) -> str:
    answer = await api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return answer.text


class TestAccess:
    @pytest.mark.parametrize(
        "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}]
    )
    async def test_refused_without_a_token(
        self, api: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        answer = await api.get("/metrics", headers=headers)
        assert answer.status_code == 401
        assert "TOCSIN_METRICS_TOKEN" in answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("token", [METRICS_TOKEN, TOKEN])
    async def test_metrics_or_api_token(self, api: httpx.AsyncClient, token: str) -> None:
        answer = await api.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert "tocsin_temporal_up 1.0" in answer.text


class TestRequests:
    async def test_intake_refusal_counted_by_source(self, api: httpx.AsyncClient) -> None:
        key = frozenset({("source", "alertmanager"), ("outcome", "refused")})
        before = samples(await scrape(api), "tocsin_alerts_total").get(key, 0.0)
        refused = await api.post("/webhooks/alertmanager", json={"version": "4"})
        assert refused.status_code == 401
        body = await scrape(api)
        assert samples(body, "tocsin_alerts_total")[key] == before + 1
        timed = samples(body, "tocsin_http_request_duration_seconds_count")
        route = frozenset(
            {("route", "/webhooks/alertmanager"), ("method", "POST"), ("status", "401")}
        )
        assert timed[route] >= 1

    async def test_unknown_paths_share_one_label(self, api: httpx.AsyncClient) -> None:
        await api.get("/no/such/page-1234")
        timed = samples(await scrape(api), "tocsin_http_request_duration_seconds_count")
        routes = {dict(labels)["route"] for labels in timed}
        assert "unmatched" in routes
        assert not any("1234" in route for route in routes)


class TestOpen:
    async def test_counted_from_the_logs(self, api: httpx.AsyncClient, store: SqlStore) -> None:
        def page(n: int, **changes: Any) -> PageLogEntry:
            base = PageLogEntry(
                page_id=f"p{n}", opened_at=NOW, source="api", rule="Disk", team="delivery"
            )
            return base.model_copy(update=changes)

        await SqlPageLog(store).record_pages(
            [
                page(1),
                page(2),
                page(3, urgency="low", acked_by="bob", acked_at=NOW),
                page(4, resolved_at=NOW + timedelta(minutes=5), resolved_by="alertmanager"),
            ]
        )
        await store.upsert_incident(record(1, status=IncidentStatus.triage, followups_open=2))
        await store.upsert_incident(
            record(2, status=IncidentStatus.resolved, resolved_at=NOW, followups_open=1)
        )
        body = await scrape(api)
        pages = samples(body, "tocsin_pages_open")
        assert pages == {
            frozenset({("team", "delivery"), ("status", "triggered"), ("urgency", "high")}): 2,
            frozenset({("team", "delivery"), ("status", "acknowledged"), ("urgency", "low")}): 1,
        }
        incidents = samples(body, "tocsin_incidents_open")
        assert incidents == {frozenset({("status", "triage"), ("severity", "critical")}): 1}
        assert samples(body, "tocsin_followups_open") == {frozenset({("team", "delivery")}): 3}
