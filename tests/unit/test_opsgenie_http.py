"""The Opsgenie Alert API's refusals through ASGI: Opsgenie's status codes and error shape,
nothing started; and the request ids that carry each request's outcome."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starters.api import TocsinClient
from starters.http.app import create_app
from starters.opsgenie import SEVERITY, CreateAlert, RequestIds, RequestStatus, to_alert
from tests.unit.test_http_auth import NoTemporal
from worker.config import ConfigFile

TOKEN = "api-token-123"
KEY = "gitserver0genie0key0123456789abc"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
LIMIT = 4096
GENIE = {"Authorization": f"GenieKey {KEY}"}


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The app with Temporal replaced by a tripwire: anything started fails the test."""
    monkeypatch.setenv("TOCSIN_GITSERVER_EVENTS_KEY", KEY)
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin, max_body_bytes=LIMIT)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


def _opsgenie_shape(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) >= {"message", "took", "requestId"}, body
    assert isinstance(body["took"], float)
    assert response.headers["X-Request-ID"] == body["requestId"]
    return body


class TestRefusals:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "GenieKey not-a-key"},
            {"Authorization": "GenieKey "},
            {"Authorization": f"Bearer {KEY}"},
            {"Authorization": f"Bearer {TOKEN}"},
        ],
    )
    async def test_without_a_genie_key_401(
        self, api: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await api.post("/v2/alerts", json={"message": "disk full"}, headers=headers)
        assert response.status_code == 401
        assert _opsgenie_shape(response)["message"].startswith("Could not authenticate")
        assert KEY not in response.text

    async def test_the_key_is_checked_before_the_body(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v2/alerts", content=b"{not json")
        assert response.status_code == 401

    async def test_not_json_400(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v2/alerts", content=b"{not json", headers=GENIE)
        assert response.status_code == 400
        assert "Could not parse request body" in _opsgenie_shape(response)["message"]

    async def test_too_deep_400(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v2/alerts", content=b"[" * 100 + b"]" * 100, headers=GENIE)
        assert response.status_code == 400
        assert "nested" in _opsgenie_shape(response)["message"]

    @pytest.mark.parametrize(
        ("body", "field", "reason"),
        [
            ({}, "message", "Field required"),
            ({"message": "   "}, "message", "Message can not be empty."),
            ({"message": "x", "priority": "P9"}, "priority", "'P1'"),
            ({"message": "x", "alias": "a" * 513}, "alias", "512"),
            ({"message": "x", "details": {"n": 1}}, "details.n", "string"),
            ({"message": "x", "responders": [{"type": "robot"}]}, "responders.0.type", "'team'"),
        ],
    )
    async def test_wrong_fields_422_naming_each(
        self, api: httpx.AsyncClient, body: dict[str, Any], field: str, reason: str
    ) -> None:
        response = await api.post("/v2/alerts", json=body, headers=GENIE)
        assert response.status_code == 422
        refused = _opsgenie_shape(response)
        assert refused["message"] == "Request body is not processable. Please check the errors."
        assert reason in refused["errors"][field]

    async def test_unknown_identifier_type_422(self, api: httpx.AsyncClient) -> None:
        response = await api.post(
            "/v2/alerts/abc/close", params={"identifierType": "name"}, json={}, headers=GENIE
        )
        assert response.status_code == 422
        assert "identifierType" in _opsgenie_shape(response)["errors"]

    async def test_a_note_needs_text_422(self, api: httpx.AsyncClient) -> None:
        response = await api.post(
            "/v2/alerts/abc/notes", params={"identifierType": "alias"}, json={}, headers=GENIE
        )
        assert response.status_code == 422
        assert _opsgenie_shape(response)["errors"] == {"note": "Note can not be empty."}

    async def test_too_large_413(self, api: httpx.AsyncClient) -> None:
        body = {"message": "x", "description": "d" * (LIMIT * 2)}
        response = await api.post("/v2/alerts", json=body, headers=GENIE)
        assert response.status_code == 413
        assert "limit of 4096 bytes" in response.json()["message"]

    async def test_unknown_request_404(self, api: httpx.AsyncClient) -> None:
        forged = "r1.WyJDcmVhdGUiXQ.bad-signature"
        for request_id in ("d9a0c7d0-2f5e-4a1c-9f38-9b2a1d3e0f11", forged):
            response = await api.get(f"/v2/alerts/requests/{request_id}", headers=GENIE)
            assert response.status_code == 404
            assert _opsgenie_shape(response)["message"] == "Request not found."


class DownTemporal:
    """Temporal that does not answer: every call is UNAVAILABLE."""

    async def start_workflow(self, *args: Any, **kwargs: Any) -> Any:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


@pytest.fixture
async def down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("TOCSIN_GITSERVER_EVENTS_KEY", KEY)
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, DownTemporal()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


class TestTemporalDown:
    """Both compatible APIs say "try again" in their sender's own shape, which its client
    retries (Alertmanager and the SDKs retry a 5xx)."""

    async def test_opsgenie_503(self, down: httpx.AsyncClient) -> None:
        response = await down.post("/v2/alerts", json={"message": "disk full"}, headers=GENIE)
        assert response.status_code == 503
        assert _opsgenie_shape(response)["message"] == "Temporal is unavailable, try again"

    @pytest.mark.parametrize("path", ["/v2/enqueue", "/webhooks/events"])
    async def test_pagerduty_503(self, down: httpx.AsyncClient, path: str) -> None:
        event = {
            "routing_key": KEY,
            "event_action": "trigger",
            "payload": {"summary": "disk full", "source": "git-0", "severity": "critical"},
        }
        response = await down.post(path, json=event)
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "message": "Temporal is unavailable, try again",
            "errors": ["Temporal is unavailable, try again"],
        }


class TestRequestIds:
    def _outcome(self, integration: str = "events:gitserver") -> RequestStatus:
        return RequestStatus(
            success=True,
            action="Close",
            processedAt=datetime(2026, 11, 30, 12, 0, 0, 123000, tzinfo=UTC),
            integrationId=integration,
            isSuccess=False,
            status="Alert does not exist",
            alertId="",
            alias="disk-full",
        )

    def test_reads_back_what_was_done(self) -> None:
        ids = RequestIds(TOKEN)
        outcome = self._outcome()
        assert ids.read(ids.issue(outcome), "events:gitserver") == outcome

    def test_only_for_the_integration_that_sent_it(self) -> None:
        ids = RequestIds(TOKEN)
        assert ids.read(ids.issue(self._outcome()), "events:payments") is None

    def test_another_api_token_retires_it(self) -> None:
        issued = RequestIds(TOKEN).issue(self._outcome())
        assert RequestIds("rotated-token").read(issued, "events:gitserver") is None

    def test_a_changed_outcome_does_not_verify(self) -> None:
        """Turning "Alert does not exist" into a success breaks the signature."""
        ids = RequestIds(TOKEN)
        prefix, payload, signature = ids.issue(self._outcome()).split(".")
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        fields[5] = True
        changed = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
        assert ids.read(f"{prefix}.{changed}.{signature}", "events:gitserver") is None


class TestMapping:
    def test_priority_sets_the_severity(self) -> None:
        assert [SEVERITY[p] for p in ("P1", "P2", "P3", "P4", "P5")] == [
            "critical",
            "error",
            "warning",
            "info",
            "info",
        ]

    def test_alert_from_a_create(self) -> None:
        create = CreateAlert.model_validate(
            {
                "message": "m" * 200,
                "alias": "disk-full",
                "description": "the disk is full",
                "tags": ["disk", "  ", "prod"],
                "details": {"host": "git-0"},
                "entity": "git-0",
                "source": "prometheus",
                "priority": "P1",
                "responders": [{"type": "team", "name": "platform"}],
            }
        )
        alert = to_alert(create, "disk-full", datetime(2026, 11, 30, tzinfo=UTC))
        assert alert.summary == "m" * 130  # Opsgenie's limit
        assert alert.severity == "critical"
        assert alert.fingerprint == "disk-full"
        assert alert.labels == {
            "source": "prometheus",
            "entity": "git-0",
            "priority": "P1",
            "tags": "disk, prod",
            "responders": "team platform",
        }
        assert alert.details == {"host": "git-0", "description": "the disk is full"}
