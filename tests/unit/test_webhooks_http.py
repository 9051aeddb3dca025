"""Webhook refusals through ASGI: each a clear 4xx that starts nothing and logs its reason."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs
from temporalio.client import Client

from starters.api import TocsinClient
from starters.http.app import create_app
from starters.http.webhooks import WebhookCredentials
from tests.unit.test_http_auth import NoTemporal
from worker.config import ConfigFile

TOKEN = "api-token-123"
AM_TOKEN = "am-token-456"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIRING = (FIXTURES / "alertmanager-0.25-firing-2-alerts.json").read_bytes()
LIMIT = 4096


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with Temporal replaced by a tripwire: any accepted delivery fails the test."""
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    credentials = WebhookCredentials(token=AM_TOKEN, username="am", password="s3cret")
    app: FastAPI = create_app(TOKEN, tocsin, webhook_credentials=credentials, max_body_bytes=LIMIT)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    with capture_logs() as captured:
        yield captured


class TestAlertmanagerAuth:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": f"Bearer {TOKEN}"},  # the API token is not the webhook's
            {"Authorization": "Bearer wrong"},
            basic("am", "wrong"),
            basic("someone", "s3cret"),
            {"Authorization": "Basic !!!not-base64"},
        ],
    )
    async def test_refused_with_401(
        self, api: httpx.AsyncClient, headers: dict[str, str], logs: list[dict[str, Any]]
    ) -> None:
        """Without the webhook's own credentials Alertmanager gets 401 and nothing is started."""
        response = await api.post("/webhooks/alertmanager", content=FIRING, headers=headers)
        assert response.status_code == 401
        assert "Bearer" in response.headers["WWW-Authenticate"]
        [entry] = [e for e in logs if e["event"] == "webhook refused"]
        assert entry["status"] == 401
        assert entry["reason"]
        assert all(secret not in json.dumps(logs) for secret in (AM_TOKEN, "s3cret", TOKEN))

    @pytest.mark.parametrize(
        "headers", [{"Authorization": f"Bearer {AM_TOKEN}"}, basic("am", "s3cret")]
    )
    async def test_right_credentials_pass(
        self, api: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        """Bearer or basic credentials get past auth (to validation, here: the body is empty)."""
        response = await api.post("/webhooks/alertmanager", content=b"{}", headers=headers)
        assert response.status_code == 422


class TestAlertmanagerBody:
    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            (b"{not json", "body is not valid JSON"),
            (b'{"version": "4"}', "groupKey: Field required"),
            (b'{"version": "2", "status": "firing"}', "version"),
            (FIRING.replace(b'"firing"', b'"on fire"', 1), "status"),
        ],
    )
    async def test_malformed_is_422_naming_the_problem(
        self, api: httpx.AsyncClient, body: bytes, fragment: str, logs: list[dict[str, Any]]
    ) -> None:
        """A body Alertmanager would never send is refused with what is wrong, and logged."""
        response = await api.post(
            "/webhooks/alertmanager", content=body, headers={"Authorization": f"Bearer {AM_TOKEN}"}
        )
        assert response.status_code == 422
        assert fragment in response.json()["detail"]
        assert any(e["event"] == "webhook refused" and fragment in e["reason"] for e in logs)

    async def test_oversized_declared_body_is_413(self, api: httpx.AsyncClient) -> None:
        """A body over the configured limit is refused before it is read."""
        response = await api.post(
            "/webhooks/alertmanager",
            content=b"x" * (LIMIT + 1),
            headers={"Authorization": f"Bearer {AM_TOKEN}"},
        )
        assert response.status_code == 413
        assert f"limit of {LIMIT} bytes" in response.json()["detail"]

    async def test_oversized_chunked_body_is_413(self, api: httpx.AsyncClient) -> None:
        """A streamed body with no length is cut off at the limit too."""

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 1024

        response = await api.post(
            "/webhooks/alertmanager",
            content=chunks(),
            headers={"Authorization": f"Bearer {AM_TOKEN}"},
        )
        assert response.status_code == 413

    async def test_api_routes_are_limited_too(self, api: httpx.AsyncClient) -> None:
        """The limit covers every route, not only the webhooks."""
        response = await api.post(
            "/api/pages", content=b"z" * (LIMIT + 1), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 413


class TestEvents:
    @pytest.fixture(params=["/webhooks/events", "/v2/enqueue"])
    def path(self, request: pytest.FixtureRequest) -> str:
        """Tocsin's own path, and the one PagerDuty's clients append to their base URL."""
        value: str = request.param
        return value

    @pytest.fixture
    def post(self, api: httpx.AsyncClient, path: str) -> Any:
        def send(body: bytes | AsyncIterator[bytes]) -> Any:
            return api.post(path, content=body, headers={"Content-Type": "application/json"})

        return send

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            (b"{oops", "body is not valid JSON"),
            (
                b'{"routing_key": "k", "event_action": "trigger"}',
                "'payload' is required for a trigger event",
            ),
            (b'{"routing_key": "k", "event_action": "resolve"}', "'dedup_key' is required"),
            (b'{"event_action": "trigger"}', "routing_key: Field required"),
            (
                b'{"routing_key": "not-a-key", "event_action": "trigger",'
                b' "payload": {"summary": "s", "source": "h", "severity": "critical"}}',
                "routing_key: unknown routing key",
            ),
        ],
    )
    async def test_invalid_event_is_400_like_pagerduty(
        self, post: Any, body: bytes, error: str, logs: list[dict[str, Any]]
    ) -> None:
        """Invalid events and unknown routing keys get PagerDuty's 400 body, and start nothing."""
        response = await post(body)
        assert response.status_code == 400
        payload = response.json()
        assert payload["status"] == "invalid event"
        assert payload["message"] == "Event object is invalid"
        assert any(error in e for e in payload["errors"]), payload["errors"]
        assert any(e["event"] == "event refused" for e in logs)
        assert "not-a-key" not in json.dumps(logs), "routing keys are never logged"

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            (b"[" * 100 + b"]" * 100, "body is nested more than 32 levels deep"),
            (
                b'{"routing_key": NaN}',
                "body is not valid JSON: NaN and Infinity are not JSON numbers",
            ),
            (b"z" * (LIMIT + 1), f"body: larger than the limit of {LIMIT} bytes"),
        ],
    )
    async def test_body_checks_answer_like_pagerduty(
        self, post: Any, body: bytes, error: str
    ) -> None:
        """What is refused before the event is read (too deep, NaN, too large) is an invalid
        event in PagerDuty's shape too: PagerDuty documents 400 and a size limit, no 413."""
        response = await post(body)
        assert response.status_code == 400
        assert response.json() == {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": [error],
        }

    async def test_chunked_body_over_the_limit_answers_like_pagerduty(self, post: Any) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 1024

        response = await post(chunks())
        assert response.status_code == 400
        assert response.json()["status"] == "invalid event"

    async def test_other_routes_keep_their_413(self, api: httpx.AsyncClient) -> None:
        """Only the Events API paths answer PagerDuty's way."""
        response = await api.post("/webhooks/enqueue", content=b"z" * (LIMIT + 1))
        assert response.status_code == 413
        assert "detail" in response.json()


class TestEventsOpenApi:
    async def test_both_paths_documented_alike(self, api: httpx.AsyncClient) -> None:
        """``/v2/enqueue`` is described as ``/webhooks/events`` is, refusals in PagerDuty's
        shape and no 413."""
        paths = (await api.get("/openapi.json")).json()["paths"]
        ours, theirs = paths["/webhooks/events"]["post"], paths["/v2/enqueue"]["post"]
        expected = {"202", "400", "401", "403", "503"}
        assert set(ours["responses"]) == set(theirs["responses"]) == expected
        assert ours["requestBody"] == theirs["requestBody"]
        refused = theirs["responses"]["400"]["content"]["application/json"]["schema"]
        assert refused == {"$ref": "#/components/schemas/EventRefused"}
