"""``/api/tokens`` through ASGI: create (shown once), list (no secrets), revoke, bad input."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from temporalio.client import Client

from starters.api import TocsinClient
from starters.credentials.tokens import parse
from starters.http.app import create_app
from tests.unit.test_http_auth import NoTemporal
from tests.unit.test_http_credentials import BOOT, TOKEN, Api, FakeIntake, detail, serving
from worker.config import ConfigFile

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The app over a SQLite credential store (see test_http_credentials.serving)."""
    async with serving(tmp_path) as running:
        yield running


class TestCreate:
    async def test_shown_once(self, api: Api) -> None:
        """201 with the token and its id, marked no-store; the token works at once."""
        created = await api.http.post(
            "/api/tokens", json={"name": "laptop", "person": "alice"}, headers=BOOT
        )

        body = created.json()
        assert created.status_code == 201
        assert created.headers["Cache-Control"] == "no-store"
        assert body["token"].startswith(f"tocsin_{body['id']}_")
        assert (body["kind"], body["person"], body["name"]) == ("person", "alice", "laptop")
        assert body["created_by"] == "bootstrap admin"
        bearer = {"Authorization": f"Bearer {body['token']}"}
        assert (await api.http.get("/api/oncall", headers=bearer)).status_code == 200

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"name": "x", "person": "zed"}, "person: unknown person 'zed'"),
            ({"name": "x"}, "person: a person token needs the person it acts as"),
            ({"name": "x", "kind": "integration"}, "scopes: an integration token needs"),
            ({"name": "x", "kind": "admin", "person": "alice"}, "person: only person tokens"),
        ],
    )
    async def test_refused_with_the_reason(
        self, api: Api, body: dict[str, object], message: str
    ) -> None:
        """A token that could not be used as asked is 422 naming the field; none is made."""
        response = await api.http.post("/api/tokens", json=body, headers=BOOT)

        assert response.status_code == 422
        assert detail(response).startswith(message)
        assert (await api.http.get("/api/tokens", headers=BOOT)).json() == []

    async def test_unknown_scope_named(self, api: Api) -> None:
        """An unknown scope is 422 at scopes.0, with the scopes there are and the one given."""
        body = {"name": "x", "kind": "integration", "scopes": ["incidents:declare"]}

        response = await api.http.post("/api/tokens", json=body, headers=BOOT)

        [error] = detail(response)
        assert response.status_code == 422
        assert error["loc"] == ["body", "scopes", 0]
        assert error["input"] == "incidents:declare"
        assert "intake:events" in error["msg"]

    async def test_bootstrap_kind_refused(self, api: Api) -> None:
        """Nobody can mint another bootstrap token."""
        response = await api.http.post(
            "/api/tokens", json={"name": "x", "kind": "bootstrap"}, headers=BOOT
        )

        assert response.status_code == 422


class TestListAndRevoke:
    async def test_list_has_no_secret(self, api: Api) -> None:
        """The listing names every token, newest first, without the token or a hash."""
        first = await api.http.post(
            "/api/tokens", json={"name": "one", "person": "alice"}, headers=BOOT
        )
        second = await api.http.post(
            "/api/tokens",
            json={"name": "two", "kind": "integration", "scopes": ["intake:events"]},
            headers=BOOT,
        )

        listed = await api.http.get("/api/tokens", headers=BOOT)

        assert listed.status_code == 200
        assert {t["name"] for t in listed.json()} == {"one", "two"}
        for created in (first, second):
            # The secret is URL-safe base64 and may itself contain "_".
            token = parse(created.json()["token"])
            assert token is not None
            assert token.secret not in listed.text
        assert "argon2" not in listed.text
        assert all("token" not in t and "secret_hash" not in t for t in listed.json())

    async def test_last_use_shown(self, api: Api) -> None:
        """A token that was used shows when."""
        token_id, alice = await api.token(person="alice")
        await api.http.get("/api/oncall", headers=alice)

        [listed] = (await api.http.get("/api/tokens", headers=BOOT)).json()

        assert listed["id"] == token_id
        assert listed["last_used_at"] is not None

    async def test_revoke_twice_and_unknown(self, api: Api) -> None:
        """Revoking again keeps the first time; an unknown id is 404."""
        token_id, _ = await api.token(person="alice")

        first = await api.http.delete(f"/api/tokens/{token_id}", headers=BOOT)
        again = await api.http.delete(f"/api/tokens/{token_id}", headers=BOOT)
        unknown = await api.http.delete("/api/tokens/0123456789ab", headers=BOOT)

        assert first.status_code == again.status_code == 200
        assert first.json()["revoked_at"] == again.json()["revoked_at"]
        assert unknown.status_code == 404
        assert detail(unknown) == "no token '0123456789ab'"


async def test_without_a_database(tmp_path: Path) -> None:
    """An app without the incident log's database answers 503 on /api/tokens, and still
    accepts the bootstrap token everywhere else."""
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    app = create_app(TOKEN, tocsin)
    async with app.router.lifespan_context(app):
        app.state.intake = FakeIntake()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/api/tokens", headers=BOOT)

    assert response.status_code == 503
    assert "incident log database" in detail(response)
