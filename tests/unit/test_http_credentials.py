"""Tokens over HTTP through ASGI: what each kind of token may call, the intake endpoints'
integration tokens, the bootstrap token, and the admin-only token routes."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from starters.alertmanager import AmWebhook
from starters.api import TocsinClient
from starters.credentials import Authenticator
from starters.events import Event
from starters.http.app import create_app
from starters.http.auth import calendar_token
from starters.http.webhooks import WebhookCredentials
from starters.intake import Delivered
from tests.fakes.credentials import CountingHasher
from tests.unit.test_http_auth import NoRotationWorkflows
from worker.config import ConfigFile

TOKEN = "bootstrap-token-123"
AM_TOKEN = "am-token-456"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
FIRING = (
    Path(__file__).resolve().parents[1] / "fixtures/alertmanager-0.25-firing-2-alerts.json"
).read_bytes()
EVENTS_KEY = "R7c2e9f4a1b8d3e6f0a5b2c9d4e7f1a3"
EVENT = {
    "routing_key": EVENTS_KEY,
    "event_action": "trigger",
    "payload": {"summary": "disk full", "source": "gitserver-0", "severity": "critical"},
}


@dataclass
class FakeIntake:
    """Records what the webhooks accepted instead of signalling Temporal."""

    received: list[object] = field(default_factory=list)

    async def alertmanager(self, payload: AmWebhook) -> Delivered:
        self.received.append(payload)
        return Delivered(page_id="p-1")

    async def event(self, event: Event) -> tuple[str, Delivered]:
        self.received.append(event)
        return "dedup-1", Delivered(page_id="p-2")


@dataclass
class Api:
    http: httpx.AsyncClient
    app: FastAPI
    intake: FakeIntake
    hasher: CountingHasher

    async def token(self, **fields: object) -> tuple[str, dict[str, str]]:
        """A new token's id and the headers that send it."""
        body = {"name": "t", **fields}
        created = await self.http.post("/api/tokens", json=body, headers=BOOT)
        assert created.status_code == 201, created.text
        return created.json()["id"], {"Authorization": f"Bearer {created.json()['token']}"}


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[Api]:
    """The app over a SQLite credential store with a cheap argon2; webhooks reach a fake
    intake, Temporal has no workflows (and any other use of it fails the test)."""
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoRotationWorkflows()), ConfigFile(config), "unit")
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(
        TOKEN, tocsin, store=store, webhook_credentials=WebhookCredentials(token=AM_TOKEN)
    )
    hasher = CountingHasher()
    app.state.authenticator = Authenticator(TOKEN, SqlCredentials(store), hasher=hasher)
    async with app.router.lifespan_context(app):
        intake = FakeIntake()
        app.state.intake = intake
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            yield Api(http, app, intake, hasher)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serving(tmp_path) as running:
        yield running


def detail(response: httpx.Response) -> Any:
    return response.json()["detail"]


class TestUnauthenticated:
    async def test_unknown_token(self, api: Api) -> None:
        """A well-formed token that was never issued is 401 invalid_token."""
        forged = {"Authorization": "Bearer tocsin_0123456789ab_" + "a" * 43}

        response = await api.http.get("/api/oncall", headers=forged)

        assert response.status_code == 401
        assert "invalid_token" in response.headers["WWW-Authenticate"]

    async def test_revoked_token(self, api: Api) -> None:
        """A revoked token is 401 on its very next request (its check was cached)."""
        token_id, alice = await api.token(person="alice")
        assert (await api.http.get("/api/oncall", headers=alice)).status_code == 200

        revoked = await api.http.delete(f"/api/tokens/{token_id}", headers=BOOT)

        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert (await api.http.get("/api/oncall", headers=alice)).status_code == 401

    async def test_refused_before_the_body(self, api: Api) -> None:
        """An unknown token with a malformed body is 401, not 422."""
        forged = {"Authorization": "Bearer tocsin_0123456789ab_" + "a" * 43}

        response = await api.http.post("/api/pages", content=b"{", headers=forged)

        assert response.status_code == 401


class TestKinds:
    async def test_bootstrap_token_still_works(self, api: Api) -> None:
        """TOCSIN_API_TOKEN calls the API as before."""
        assert (await api.http.get("/api/oncall", headers=BOOT)).status_code == 200

    async def test_person_token_calls_the_api(self, api: Api) -> None:
        """A person token reaches the ordinary routes; argon2 ran once for two requests."""
        _, alice = await api.token(person="alice")

        for _ in range(2):
            assert (await api.http.get("/api/oncall", headers=alice)).status_code == 200
        assert api.hasher.verified == 1

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/api/oncall", None),
            ("POST", "/api/incidents", {"title": "x", "severity": "critical", "by": "alice"}),
            ("POST", "/api/pages/some-page/ack", {"by": "alice"}),
            ("GET", "/api/rotations/delivery", None),
        ],
    )
    async def test_integration_token_refused_elsewhere(
        self, api: Api, method: str, path: str, body: object
    ) -> None:
        """An integration token is 403 on every route it has no scope for, naming the need."""
        _, bot = await api.token(kind="integration", scopes=["intake:events", "pages:create"])

        response = await api.http.request(method, path, json=body, headers=bot)

        assert response.status_code == 403
        assert detail(response).startswith("this integration token may not call ")
        assert detail(response).endswith("it needs the admin or person kind")

    async def test_pages_create_scope(self, api: Api) -> None:
        """pages:create lets an integration page a team (refused only for the unknown team)."""
        _, ci = await api.token(kind="integration", scopes=["pages:create"])

        response = await api.http.post(
            "/api/pages", json={"team": "nope", "summary": "deploy failed"}, headers=ci
        )

        assert response.status_code == 422
        assert "nope" in detail(response)

    async def test_pages_create_needs_the_scope(self, api: Api) -> None:
        """Without pages:create, creating a page is 403 naming the scope."""
        _, am = await api.token(kind="integration", scopes=["intake:alertmanager"])

        response = await api.http.post(
            "/api/pages", json={"team": "delivery", "summary": "x"}, headers=am
        )

        assert response.status_code == 403
        assert detail(response) == (
            "this integration token may not create pages: it needs the admin or person "
            "kind, or scope pages:create"
        )
        assert 'scope="pages:create"' in response.headers["WWW-Authenticate"]

    async def test_person_token_may_not_manage_tokens(self, api: Api) -> None:
        """Token management is 403 for a person token, naming the admin kind."""
        _, alice = await api.token(person="alice")

        response = await api.http.get("/api/tokens", headers=alice)

        assert response.status_code == 403
        assert (
            detail(response) == "this person token may not manage tokens: it needs the admin kind"
        )

    async def test_admin_token_manages_tokens(self, api: Api) -> None:
        """An admin token creates tokens, recorded as made by it."""
        _, admin = await api.token(kind="admin", name="ops-bot")

        created = await api.http.post(
            "/api/tokens", json={"name": "laptop", "person": "bob"}, headers=admin
        )

        assert created.status_code == 201
        assert created.json()["created_by"] == "admin ops-bot"

    async def test_calendar_capability(self, api: Api) -> None:
        """A calendar URL's ?token= still opens that calendar; an integration token does not."""
        path = "/api/rotations/delivery.ics"
        _, bot = await api.token(kind="integration", scopes=["intake:events"])

        ok = await api.http.get(path, params={"token": calendar_token(TOKEN, path)})
        refused = await api.http.get(path, headers=bot)

        assert ok.status_code == 200
        assert ok.text.startswith("BEGIN:VCALENDAR")
        assert refused.status_code == 403


class TestIntake:
    async def test_alertmanager_integration_token(self, api: Api) -> None:
        """An integration token with intake:alertmanager delivers alerts."""
        _, am = await api.token(kind="integration", scopes=["intake:alertmanager"])

        response = await api.http.post("/webhooks/alertmanager", content=FIRING, headers=am)

        assert response.status_code == 200
        assert len(api.intake.received) == 1

    async def test_alertmanager_configured_token_still_works(self, api: Api) -> None:
        """TOCSIN_ALERTMANAGER_TOKEN is accepted as before."""
        headers = {"Authorization": f"Bearer {AM_TOKEN}"}

        response = await api.http.post("/webhooks/alertmanager", content=FIRING, headers=headers)

        assert response.status_code == 200

    @pytest.mark.parametrize("kind", ["person", "events"])
    async def test_alertmanager_refuses_other_tokens(self, api: Api, kind: str) -> None:
        """A person token, or an integration without the scope, is 403 naming the scope."""
        fields: dict[str, object] = (
            {"person": "alice"}
            if kind == "person"
            else {"kind": "integration", "scopes": ["intake:events"]}
        )
        _, headers = await api.token(**fields)

        response = await api.http.post("/webhooks/alertmanager", content=FIRING, headers=headers)

        assert response.status_code == 403
        assert detail(response).endswith("it needs scope intake:alertmanager")
        assert api.intake.received == []

    async def test_alertmanager_unknown_token(self, api: Api) -> None:
        """A Tocsin token that was never issued is 401 at the webhook too."""
        forged = {"Authorization": "Bearer tocsin_0123456789ab_" + "a" * 43}

        response = await api.http.post("/webhooks/alertmanager", content=FIRING, headers=forged)

        assert response.status_code == 401
        assert api.intake.received == []

    async def test_events_with_integration_token(self, api: Api) -> None:
        """An intake:events token may send events (the routing key still routes them)."""
        _, bot = await api.token(kind="integration", scopes=["intake:events"])

        response = await api.http.post("/webhooks/events", json=EVENT, headers=bot)

        assert response.status_code == 202
        assert len(api.intake.received) == 1

    async def test_events_without_token(self, api: Api) -> None:
        """PagerDuty's clients send no token: the routing key authenticates, as before;
        another Authorization header (the bootstrap token) is ignored as before."""
        assert (await api.http.post("/webhooks/events", json=EVENT)).status_code == 202
        assert (
            await api.http.post("/webhooks/events", json=EVENT, headers=BOOT)
        ).status_code == 202

    async def test_events_refuses_wrong_tokens(self, api: Api) -> None:
        """A Tocsin token without intake:events is 403, an unknown one 401: nothing starts."""
        _, ci = await api.token(kind="integration", scopes=["pages:create"])
        forged = {"Authorization": "Bearer tocsin_0123456789ab_" + "a" * 43}

        wrong_scope = await api.http.post("/webhooks/events", json=EVENT, headers=ci)
        unknown = await api.http.post("/webhooks/events", json=EVENT, headers=forged)

        # In PagerDuty's error shape, as every answer on the Events API paths.
        needed = "this integration token may not send events: it needs scope intake:events"
        assert wrong_scope.status_code == 403
        assert wrong_scope.json() == {"status": "forbidden", "message": needed, "errors": [needed]}
        assert unknown.status_code == 401
        assert unknown.json()["status"] == "unauthorized"
        assert api.intake.received == []
