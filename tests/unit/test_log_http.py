"""``GET /api/log`` and ``GET /api/report`` through ASGI transport, over a SQLite store."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from activities.ports import Store
from starters.api import TocsinClient
from starters.http.app import create_app
from worker.config import ConfigFile
from workflows.incident_models import IncidentRecord, IncidentStatus, LogQuery

TOKEN = "unit-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)


class NoTemporal:
    """Stands in for the Temporal client: the incident log never needs it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the route under test used Temporal ({name})")


class DownStore:
    """A store whose database is down."""

    async def upsert_incident(self, record: IncidentRecord) -> None:
        raise Unavailable("incident log (upsert): connection refused")

    async def list_incidents(self, query: LogQuery) -> list[IncidentRecord]:
        raise Unavailable("incident log (list): connection refused")


def incident(number: int, days_ago: float, **changes: object) -> IncidentRecord:
    declared = NOW - timedelta(days=days_ago)
    base = IncidentRecord(
        id=f"INC-{number}",
        number=number,
        title=f"Incident {number}",
        severity="critical",
        status=IncidentStatus.resolved,
        service="gitserver",
        team="delivery",
        declared_by="bob",
        lead="alice",
        declared_at=declared,
        acknowledged_at=declared + timedelta(minutes=3),
        resolved_at=declared + timedelta(minutes=45),
        resolution="fixed",
    )
    return base.model_copy(update=changes)


async def serve(
    tmp_path: Path, store: Store | None, config_text: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ``store``, with the example config (or ``config_text``)."""
    config = tmp_path / "tocsin.yaml"
    if config_text is None:
        shutil.copy(EXAMPLE, config)
    else:
        config.write_text(config_text)
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app over a SQLite log of three incidents: 2, 10 and 40 days old."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    await store.upsert_incident(incident(1, 40))
    await store.upsert_incident(
        incident(2, 10, severity="minor", service="database", resolution="false_positive")
    )
    await store.upsert_incident(
        incident(3, 2, status=IncidentStatus.active, resolved_at=None, resolution=None)
    )
    async for client in serve(tmp_path, store):
        yield client


class TestAuth:
    @pytest.mark.parametrize("route", ["/api/log", "/api/report"])
    async def test_no_token(self, api: httpx.AsyncClient, route: str) -> None:
        """Like every /api route, the log needs the bearer token."""
        response = await api.get(route)

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_wrong_token(self, api: httpx.AsyncClient) -> None:
        """A wrong token is refused."""
        response = await api.get("/api/log", headers={"Authorization": "Bearer nope"})

        assert response.status_code == 401


class TestLog:
    async def test_rows_with_durations(self, api: httpx.AsyncClient) -> None:
        """Rows come newest first with their times to acknowledge and resolve in seconds."""
        response = await api.get("/api/log", headers=AUTH)

        assert response.status_code == 200
        body = response.json()
        assert [r["id"] for r in body] == ["INC-3", "INC-2", "INC-1"]
        assert body[0]["time_to_acknowledge_seconds"] == 180.0
        assert body[0]["time_to_resolve_seconds"] is None
        assert body[2]["time_to_resolve_seconds"] == 45 * 60.0

    async def test_filters(self, api: httpx.AsyncClient) -> None:
        """since (relative or ISO), severity and service narrow the rows."""
        recent = await api.get("/api/log", params={"since": "30d"}, headers=AUTH)
        since_iso = (NOW - timedelta(days=5)).isoformat()
        iso = await api.get("/api/log", params={"since": since_iso}, headers=AUTH)
        minor = await api.get("/api/log", params={"severity": "minor"}, headers=AUTH)
        gitserver = await api.get(
            "/api/log", params={"service": "gitserver", "limit": 1}, headers=AUTH
        )

        assert [r["id"] for r in recent.json()] == ["INC-3", "INC-2"]
        assert [r["id"] for r in iso.json()] == ["INC-3"]
        assert [r["id"] for r in minor.json()] == ["INC-2"]
        assert [r["id"] for r in gitserver.json()] == ["INC-3"]

    @pytest.mark.parametrize(
        ("params", "fragment"),
        [
            ({"since": "last tuesday"}, "since: invalid time 'last tuesday'"),
            ({"until": "2026-02-30"}, "until: invalid time"),
        ],
    )
    async def test_bad_time_is_422(
        self, api: httpx.AsyncClient, params: dict[str, str], fragment: str
    ) -> None:
        """A time that does not parse is a 422 naming the parameter, never a 5xx."""
        response = await api.get("/api/log", params=params, headers=AUTH)

        assert response.status_code == 422
        assert fragment in response.json()["detail"]

    async def test_bad_limit_is_422(self, api: httpx.AsyncClient) -> None:
        """The limit is bounded."""
        response = await api.get("/api/log", params={"limit": 0}, headers=AUTH)

        assert response.status_code == 422


class TestReport:
    async def test_default_period_is_30_days(self, api: httpx.AsyncClient) -> None:
        """Without since, the last 30 days: the 40-day-old incident is left out."""
        response = await api.get("/api/report", headers=AUTH)

        assert response.status_code == 200
        body = response.json()
        assert body["total"]["incidents"] == 2
        assert body["total"]["false_positives"] == 1
        assert body["total"]["mtta"] == {"count": 2, "median_seconds": 180.0, "mean_seconds": 180.0}
        assert body["total"]["mttr"]["count"] == 0  # one open, one false positive
        assert [g["key"] for g in body["by_severity"]] == ["critical", "minor"]

    async def test_since(self, api: httpx.AsyncClient) -> None:
        """since widens the period."""
        response = await api.get("/api/report", params={"since": "60d"}, headers=AUTH)

        assert response.json()["total"]["mttr"]["median_seconds"] == 45 * 60.0

    async def test_bad_since_is_422(self, api: httpx.AsyncClient) -> None:
        """A bad since is a 422 here too."""
        response = await api.get("/api/report", params={"since": "soon"}, headers=AUTH)

        assert response.status_code == 422
        assert response.json()["detail"].startswith("since: invalid time 'soon'")


class TestWithoutDatabase:
    async def test_no_store_is_503(self, tmp_path: Path) -> None:
        """An app built without a store says the log is not configured."""
        async for api in serve(tmp_path, None):
            response = await api.get("/api/log", headers=AUTH)

            assert response.status_code == 503
            assert "not configured" in response.json()["detail"]

    async def test_database_down_is_503(self, tmp_path: Path) -> None:
        """A database that is down is a 503 to retry, not a 500."""
        async for api in serve(tmp_path, DownStore()):
            response = await api.get("/api/log", headers=AUTH)

            assert response.status_code == 503
            assert response.json()["detail"] == "the incident log is unavailable, try again"
