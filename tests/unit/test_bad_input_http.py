"""Hand-made bad input on every kind of route: each a 4xx saying what was wrong, never a
500, and nothing reaches Temporal (the client here fails the test if it is used)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.http.app import create_app
from starters.http.github import signature
from starters.http.guard import MAX_DEPTH, json_problem
from tests.unit.test_http_auth import NoTemporal
from worker.config import ConfigFile

TOKEN = "bad-input-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app: FastAPI = create_app(TOKEN, tocsin, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


class TestJsonProblem:
    """The body scan refuses what the parser must not see and leaves syntax to the parser."""

    def test_depth_at_the_limit_passes(self) -> None:
        assert json_problem(nested(MAX_DEPTH).encode()) is None

    def test_one_level_more_is_named(self) -> None:
        assert json_problem(nested(MAX_DEPTH + 1).encode()) == (
            f"body is nested more than {MAX_DEPTH} levels deep"
        )

    def test_brackets_and_nan_inside_strings_do_not_count(self) -> None:
        body = json.dumps({"summary": "[" * 500 + ' NaN Infinity " \\ {'}).encode()
        assert json_problem(body) is None

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
    def test_non_finite_numbers_are_refused(self, literal: str) -> None:
        assert "NaN and Infinity" in (json_problem(f'{{"x": {literal}}}'.encode()) or "")

    def test_unterminated_string_is_left_to_the_parser(self) -> None:
        assert json_problem(b'{"a": "' + b'\\"' * 100_000) is None


class TestDeepBodies:
    """A body nested deeper than the limit is 400 on every JSON route, after the credential."""

    async def test_events_api_200000_brackets(self, api: httpx.AsyncClient) -> None:
        """The request that used to write the API token into the log: no auth needed to try."""
        response = await api.post("/webhooks/events", content=nested(200_000))
        assert response.status_code == 400
        # PagerDuty's shape on the Events API paths: its clients read nothing else.
        assert response.json()["status"] == "invalid event"
        assert "nested more than 32 levels" in response.json()["errors"][0]

    async def test_events_api_custom_details_300_deep(self, api: httpx.AsyncClient) -> None:
        body = (
            '{"routing_key": "x", "event_action": "trigger", "payload": {"summary": "s", '
            '"source": "h", "severity": "critical", "custom_details": ' + nested(300) + "}}"
        )
        response = await api.post("/webhooks/events", content=body)
        assert response.status_code == 400

    async def test_alertmanager_deep_body_with_credentials(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/webhooks/alertmanager", content=nested(10_000), headers=AUTH)
        assert response.status_code == 400

    async def test_alertmanager_without_credentials_is_401_first(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await api.post("/webhooks/alertmanager", content=nested(10_000))
        assert response.status_code == 401

    async def test_api_deep_body(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/api/pages", content=nested(10_000), headers=AUTH)
        assert response.status_code == 400


class TestAuthenticationFirst:
    """A caller without a credential learns nothing about the body: 401 before any parsing."""

    @pytest.mark.parametrize("body", ["{bad", nested(100_000), '{"details": NaN}'])
    async def test_unauthenticated_body_is_401(self, api: httpx.AsyncClient, body: str) -> None:
        response = await api.post("/api/pages", content=body)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    async def test_authenticated_malformed_json_is_422(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/api/pages", content="{bad", headers=AUTH)
        assert response.status_code == 422


class TestNumbersAndDates:
    """Values JSON or ``datetime`` cannot carry through Tocsin are refused, naming the field."""

    async def test_nan_in_page_details_is_400(self, api: httpx.AsyncClient) -> None:
        body = '{"team": "delivery", "summary": "s", "details": NaN}'
        response = await api.post("/api/pages", content=body, headers=AUTH)
        assert response.status_code == 400
        assert "NaN" in response.json()["detail"]

    async def test_log_since_far_back_is_422(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/log", params={"since": "1000000000000d"}, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("since: ")

    async def test_log_since_year_1_is_422(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/report", params={"since": "0001-01-01"}, headers=AUTH)
        assert response.status_code == 422
        assert "since: must be between 2000-01-01 and 2200-01-01" in response.json()["detail"]

    async def test_oncall_at_year_9999_is_422(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/oncall", params={"at": "9999-12-31T23:59:59Z"}, headers=AUTH)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "at"]
        assert "between 2000-01-01 and 2200-01-01" in error["msg"]

    async def test_rotation_range_from_year_9999_is_422(self, api: httpx.AsyncClient) -> None:
        response = await api.get(
            "/api/rotations/delivery", params={"from": "9999-12-31T00:00:00Z"}, headers=AUTH
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "from"]

    async def test_calendar_over_400_days_is_422(self, api: httpx.AsyncClient) -> None:
        """A feed's range is bounded like the shifts' (its events are computed per request)."""
        response = await api.get(
            "/api/rotations/delivery.ics",
            params={"from": "2027-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"},
            headers=AUTH,
        )
        assert response.status_code == 422
        assert "at most 400 days" in response.json()["detail"]

    async def test_override_in_year_9999_is_422(self, api: httpx.AsyncClient) -> None:
        body = {
            "layer": "eoc",
            "person": "alice",
            "start": "9999-12-30T00:00:00Z",
            "by": "alice",
        }
        response = await api.post("/api/rotations/delivery/overrides", json=body, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "start"]


GITHUB_SECRET = "gh-webhook-secret-42"


@pytest.fixture
async def github_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin, github_webhook_secret=GITHUB_SECRET)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


def github_headers(body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    return {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": signature(secret, body),
    }


class TestGithubBodies:
    """A signed delivery that is not GitHub's issues event is 400; an unsigned one is 401."""

    async def test_unsigned_deep_body_is_401(self, github_api: httpx.AsyncClient) -> None:
        body = nested(100_000).encode()
        response = await github_api.post(
            "/webhooks/github", content=body, headers=github_headers(body, "wrong")
        )
        assert response.status_code == 401

    async def test_signed_deep_body_is_400(self, github_api: httpx.AsyncClient) -> None:
        body = nested(100_000).encode()
        response = await github_api.post(
            "/webhooks/github", content=body, headers=github_headers(body)
        )
        assert response.status_code == 400
        assert "nested more than 32 levels" in response.json()["detail"]

    @pytest.mark.parametrize(
        "payload",
        [
            {"action": ["closed"], "issue": {"number": 1}, "repository": {"full_name": "a/b"}},
            {"action": "closed", "issue": "INC-1", "repository": {"full_name": "a/b"}},
            {"action": "closed", "issue": {"number": "x"}, "repository": {"full_name": "a/b"}},
            {
                "action": "closed",
                "issue": {"number": 1, "labels": [{"name": "INC-1"}]},
                "repository": {"full_name": "a/b"},
                "sender": "octocat",
            },
            [1, 2, 3],
        ],
        ids=["action list", "issue string", "number text", "sender string", "array"],
    )
    async def test_signed_wrong_shape_is_400(
        self, github_api: httpx.AsyncClient, payload: object
    ) -> None:
        body = json.dumps(payload).encode()
        response = await github_api.post(
            "/webhooks/github", content=body, headers=github_headers(body)
        )
        assert response.status_code == 400
        assert response.json()["detail"] == "not a GitHub issues event"
