"""``POST /webhooks/github`` through ASGI: signatures, ignored events, the signal sent."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starters.api import TocsinClient
from starters.http.app import create_app
from starters.http.github import signature
from worker.config import ConfigFile
from workflows.incident_models import IssueEvent

SECRET = "whsec-github-0123"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@dataclass
class Handle:
    """A workflow handle that records signals, or fails like Temporal for a missing run."""

    client: StubTemporal
    workflow_id: str

    async def signal(self, name: str, arg: Any) -> None:
        if self.workflow_id not in self.client.running:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        self.client.signals.append((self.workflow_id, name, arg))


@dataclass
class StubTemporal:
    """Just enough of ``temporalio.client.Client`` for the webhook: handles and signals."""

    running: set[str] = field(default_factory=lambda: {"incident-INC-42"})
    signals: list[tuple[str, str, Any]] = field(default_factory=list)

    def get_workflow_handle(self, workflow_id: str) -> Handle:
        return Handle(self, workflow_id)


def issues_event(action: str = "closed", labels: tuple[str, ...] = ("incident", "INC-42")) -> bytes:
    """An ``issues`` delivery as GitHub sends it (trimmed to the fields that matter)."""
    return json.dumps(
        {
            "action": action,
            "issue": {
                "number": 12,
                "html_url": "https://github.com/acme/shop/issues/12",
                "state": "closed" if action == "closed" else "open",
                "title": "Canary the payment client",
                "labels": [{"id": n, "name": name} for n, name in enumerate(labels)],
            },
            "repository": {"full_name": "acme/shop", "html_url": "https://github.com/acme/shop"},
            "sender": {"login": "octocat", "type": "User"},
        }
    ).encode()


def signed(body: bytes, event: str = "issues", secret: str = SECRET) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": signature(secret, body),
        "Content-Type": "application/json",
    }


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


@pytest.fixture
def temporal() -> StubTemporal:
    return StubTemporal()


@pytest.fixture
async def api(tmp_path: Path, temporal: StubTemporal) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, temporal), ConfigFile(config), "unit")
    async for client in _client(create_app("api-token", tocsin, github_webhook_secret=SECRET)):
        yield client


class TestSignature:
    """Only deliveries signed with the webhook's secret get through."""

    @pytest.mark.parametrize(
        "headers",
        [
            {"X-GitHub-Event": "issues"},
            {"X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=00"},
            signed(issues_event(), secret="another-secret"),
            signed(issues_event("reopened")),  # signed for another body
        ],
    )
    async def test_refused(
        self, api: httpx.AsyncClient, temporal: StubTemporal, headers: dict[str, str]
    ) -> None:
        """Missing or wrong signatures are 401 and nothing is signalled."""
        response = await api.post("/webhooks/github", content=issues_event(), headers=headers)

        assert response.status_code == 401
        assert temporal.signals == []

    async def test_not_configured(self, tmp_path: Path, temporal: StubTemporal) -> None:
        """Without GITHUB_WEBHOOK_SECRET the route says so with 503."""
        config = tmp_path / "tocsin.yaml"
        shutil.copy(EXAMPLE, config)
        tocsin = TocsinClient(cast(Client, temporal), ConfigFile(config), "unit")
        async for client in _client(create_app("api-token", tocsin)):
            body = issues_event()
            response = await client.post("/webhooks/github", content=body, headers=signed(body))
        assert response.status_code == 503
        assert "GITHUB_WEBHOOK_SECRET" in response.json()["detail"]
        assert temporal.signals == []

    async def test_ping(self, api: httpx.AsyncClient) -> None:
        """GitHub's ping when the webhook is added is answered 200."""
        body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
        response = await api.post("/webhooks/github", content=body, headers=signed(body, "ping"))

        assert response.status_code == 200


class TestIssuesEvents:
    """Closed and reopened follow-ups reach their incident; everything else is ignored."""

    @pytest.mark.parametrize(("action", "state"), [("closed", "closed"), ("reopened", "open")])
    async def test_signalled(
        self, api: httpx.AsyncClient, temporal: StubTemporal, action: str, state: str
    ) -> None:
        """The incident named by the INC label gets issue_changed with the issue's new state."""
        body = issues_event(action)
        response = await api.post("/webhooks/github", content=body, headers=signed(body))

        assert response.status_code == 200
        assert response.json() == {"status": "delivered", "incident": "INC-42"}
        assert temporal.signals == [
            (
                "incident-INC-42",
                "issue_changed",
                IssueEvent(
                    repo="acme/shop",
                    number=12,
                    state=state,  # type: ignore[arg-type]  # parametrized literal
                    url="https://github.com/acme/shop/issues/12",
                    by="octocat",
                ),
            )
        ]

    @pytest.mark.parametrize(
        ("body", "event", "reason"),
        [
            (issues_event("labeled"), "issues", "action 'labeled'"),
            (issues_event(labels=("incident",)), "issues", "no INC-<n> label"),
            (issues_event(labels=("INC-1", "INC-2")), "issues", "no INC-<n> label"),
            (issues_event(labels=("INC-99",)), "issues", "INC-99 is not a running incident"),
            (b'{"action": "opened"}', "pull_request", "pull_request events are not used"),
        ],
    )
    async def test_ignored(
        self,
        api: httpx.AsyncClient,
        temporal: StubTemporal,
        body: bytes,
        event: str,
        reason: str,
    ) -> None:
        """Events Tocsin does not track are 202 with the reason, never an error."""
        response = await api.post("/webhooks/github", content=body, headers=signed(body, event))

        assert response.status_code == 202
        assert response.json()["status"] == "ignored"
        assert reason in response.json()["reason"]
        assert temporal.signals == []

    async def test_not_an_issues_payload(self, api: httpx.AsyncClient) -> None:
        body = b'{"action": "closed"}'
        response = await api.post("/webhooks/github", content=body, headers=signed(body))

        assert response.status_code == 400
