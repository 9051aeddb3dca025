"""The HTTP API through ASGI transport: bearer auth, on-call answers, request validation."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar, cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starters.api import TocsinClient
from starters.http.app import create_app
from worker.config import ConfigFile

TOKEN = "unit-test-token"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGE = {"team": "delivery", "summary": "Database is down"}


class NoTemporal:
    """Stands in for the Temporal client: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the route under test used Temporal ({name})")


class NoRotationWorkflows(NoTemporal):
    """Temporal without rotation workflows (none started yet): the config's schedule answers."""

    queried: ClassVar[list[str]] = []

    def get_workflow_handle(self, workflow_id: str, **_: Any) -> Any:
        queried = self.queried

        class Handle:
            async def query(self, *args: Any, **kwargs: Any) -> Any:
                queried.append(workflow_id)
                raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")

        return Handle()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, its lifespan run; Temporal has no workflows and any
    other use of it fails the test."""
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoRotationWorkflows()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


async def call(api: httpx.AsyncClient, route: str, headers: dict[str, str]) -> httpx.Response:
    """GET, or POST a valid page, to ``route`` with ``headers``."""
    if route == "/api/pages":
        return await api.post(route, json=PAGE, headers=headers)
    return await api.get(route, headers=headers)


ROUTES = ["/api/pages", "/api/oncall", "/api/pages/some-page"]


class TestBearerAuth:
    @pytest.mark.parametrize("route", ROUTES)
    async def test_no_token(self, api: httpx.AsyncClient, route: str) -> None:
        """Without an Authorization header the API answers 401 and asks for a bearer token."""
        response = await call(api, route, {})

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "TOCSIN_API_TOKEN" in response.json()["detail"]

    @pytest.mark.parametrize("route", ROUTES)
    async def test_wrong_token(self, api: httpx.AsyncClient, route: str) -> None:
        """A wrong bearer token gets 401 marked invalid_token."""
        response = await call(api, route, {"Authorization": "Bearer not-the-token"})

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "invalid_token" in response.headers["WWW-Authenticate"]

    @pytest.mark.parametrize("route", ROUTES)
    async def test_token_prefix_not_enough(self, api: httpx.AsyncClient, route: str) -> None:
        """A token that is only the start of the real one is refused."""
        response = await call(api, route, {"Authorization": f"Bearer {TOKEN[:-1]}"})

        assert response.status_code == 401

    @pytest.mark.parametrize("route", ROUTES)
    async def test_basic_scheme(self, api: httpx.AsyncClient, route: str) -> None:
        """The right token under the Basic scheme is still refused with a Bearer challenge."""
        response = await call(api, route, {"Authorization": f"Basic {TOKEN}"})

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


class TestOncall:
    async def test_teams_with_rotations(self, api: httpx.AsyncClient) -> None:
        """With the token, /api/oncall lists each rotating team's layers and holders."""
        response = await api.get(
            "/api/oncall", params={"at": "2026-11-23T15:59:00+00:00"}, headers=AUTH
        )

        assert response.status_code == 200
        entries = response.json()
        assert {e["team"] for e in entries} == {"delivery", "ops", "customer-support"}
        delivery = {e["layer"]: e["person"] for e in entries if e["team"] == "delivery"}
        assert delivery == {"eoc": "alice", "tm": "dana"}
        assert "rotation-delivery" in NoRotationWorkflows.queried, "the live plan was asked for"

    async def test_one_team(self, api: httpx.AsyncClient) -> None:
        """``?team=`` narrows the answer to that team."""
        response = await api.get("/api/oncall", params={"team": "ops"}, headers=AUTH)

        assert response.status_code == 200
        assert {e["team"] for e in response.json()} == {"ops"}

    async def test_unknown_team(self, api: httpx.AsyncClient) -> None:
        """An unknown team is a 422 that names it."""
        response = await api.get("/api/oncall", params={"team": "nope"}, headers=AUTH)

        assert response.status_code == 422
        assert "nope" in response.json()["detail"]


class TestCreatePageValidation:
    async def test_malformed_json(self, api: httpx.AsyncClient) -> None:
        """A body that is not JSON is a 422 JSON decode error."""
        response = await api.post(
            "/api/pages",
            content=b'{"team": "delivery", "summary":',
            headers={**AUTH, "Content-Type": "application/json"},
        )

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["type"] == "json_invalid"

    async def test_missing_summary(self, api: httpx.AsyncClient) -> None:
        """A page without a summary is a 422 naming the summary field."""
        response = await api.post("/api/pages", json={"team": "delivery"}, headers=AUTH)

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "summary"]
        assert error["type"] == "missing"

    async def test_summary_too_long(self, api: httpx.AsyncClient) -> None:
        """A summary over 500 characters is a 422 naming the summary field."""
        response = await api.post(
            "/api/pages", json={"team": "delivery", "summary": "x" * 501}, headers=AUTH
        )

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "summary"]
        assert error["type"] == "string_too_long"

    async def test_unknown_team(self, api: httpx.AsyncClient) -> None:
        """Paging a team that is not configured is a 422 naming it, before Temporal is used."""
        response = await api.post("/api/pages", json={"team": "nope", "summary": "x"}, headers=AUTH)

        assert response.status_code == 422
        assert "nope" in response.json()["detail"]


class TestOpenApi:
    async def test_lists_page_routes(self, api: httpx.AsyncClient) -> None:
        """The OpenAPI document, served without a token, lists every page route."""
        response = await api.get("/openapi.json")

        assert response.status_code == 200
        paths = response.json()["paths"]
        assert set(paths["/api/pages"]) == {"get", "post"}
        assert set(paths["/api/pages/{page_id}"]) == {"get"}
        for verb in ("ack", "escalate", "resolve"):
            assert set(paths[f"/api/pages/{{page_id}}/{verb}"]) == {"post"}
        assert "/api/oncall" in paths
