"""The actor of every /api action comes from the token: person tokens act only as their
person, admin tokens for a named person (recorded as such), integration tokens as nobody.
What reaches Tocsin's client is recorded instead of signalling Temporal."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.checks import NewPage
from starters.credentials import Authenticator
from starters.http.app import create_app
from tests.fakes.credentials import CountingHasher
from tests.unit.test_http_auth import NoTemporal
from worker.config import ConfigFile
from workflows.actors import Acted
from workflows.incident_models import DeclareRequest, IncidentState, RoleInput
from workflows.models import PageActionInput, PageState
from workflows.rotation_models import Override, OverrideRequest, RemoveRequest

TOKEN = "bootstrap-token-123"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def page(**fields: Any) -> PageState:
    return PageState(
        id="db-down",
        workflow_id="page-db-down",
        team="delivery",
        summary="x",
        created_at=T0,
        **fields,
    )


def incident() -> IncidentState:
    return IncidentState(
        id="INC-1",
        title="t",
        severity="major",
        team="delivery",
        declared_by="alice",
        declared_at=T0,
    )


class Rotations:
    """Stands in for the rotation client: records the requests it is given."""

    def __init__(self, calls: list[tuple[str, Acted]]) -> None:
        self.calls = calls

    async def override(self, name: str, request: OverrideRequest) -> Override:
        self.calls.append(("override", request))
        return Override(
            id="ovr-1",
            layer=request.layer,
            person=request.person,
            start=T0,
            end=T0,
            by=request.by,
            created_at=T0,
        )

    async def remove(self, name: str, request: RemoveRequest) -> None:
        self.calls.append(("remove", request))


class Recording(TocsinClient):
    """Tocsin's client with every action recorded, not sent."""

    def __init__(self, config: Path) -> None:
        super().__init__(cast(Client, NoTemporal()), ConfigFile(config), "unit")
        self.calls: list[tuple[str, Any]] = []

    async def acknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        self.calls.append(("acknowledge", action))
        return page(acknowledged_by=action.by)

    async def create_page(self, request: NewPage) -> tuple[PageState, bool]:
        self.calls.append(("create", request))
        return page(created_by=request.by), True

    async def declare_incident(
        self, request: DeclareRequest, key: str
    ) -> tuple[IncidentState, bool]:
        self.calls.append(("declare", request))
        return incident(), True

    async def assign_lead(self, incident_id: str, role: RoleInput) -> IncidentState:
        self.calls.append(("lead", role))
        return incident()

    async def rotation_call(self, call: Callable[[Any], Awaitable[Any]]) -> Any:
        return await call(Rotations(self.calls))


@dataclass
class Api:
    http: httpx.AsyncClient
    tocsin: Recording

    async def token(self, **fields: object) -> dict[str, str]:
        """The headers that send a new token."""
        created = await self.http.post(
            "/api/tokens", json={"name": "laptop", **fields}, headers=BOOT
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = Recording(config)
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(TOKEN, tocsin, store=store)
    app.state.authenticator = Authenticator(TOKEN, SqlCredentials(store), hasher=CountingHasher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            yield Api(http, tocsin)


class TestPersonTokens:
    async def test_acts_as_its_person_without_naming_them(self, api: Api) -> None:
        alice = await api.token(person="alice")

        response = await api.http.post("/api/pages/db-down/ack", json={}, headers=alice)

        assert response.status_code == 200, response.text
        [(_, action)] = api.tocsin.calls
        assert (action.by, action.via, action.admin) == ("alice", "token laptop", False)
        assert action.actor == "alice (token laptop)"

    async def test_naming_itself_is_the_same(self, api: Api) -> None:
        alice = await api.token(person="alice")

        response = await api.http.post(
            "/api/pages/db-down/ack", json={"by": "alice"}, headers=alice
        )

        assert response.status_code == 200
        assert api.tocsin.calls[0][1].by == "alice"

    async def test_cannot_act_as_another_person(self, api: Api) -> None:
        """alice's token says by=bob: 403 naming both, and nothing reaches a workflow."""
        alice = await api.token(person="alice")

        response = await api.http.post("/api/pages/db-down/ack", json={"by": "bob"}, headers=alice)

        assert response.status_code == 403
        assert "acts as alice" in response.json()["detail"]
        assert "may not act as bob" in response.json()["detail"]
        assert api.tocsin.calls == []

    async def test_cannot_claim_admin_or_a_credential_in_the_body(self, api: Api) -> None:
        """``via`` and ``admin`` in a body are replaced by what the token is."""
        alice = await api.token(person="alice")
        body = {"person": "bob", "via": "admin root", "admin": True}

        response = await api.http.post("/api/incidents/INC-1/lead", json=body, headers=alice)

        assert response.status_code == 200
        [(_, role)] = api.tocsin.calls
        assert (role.by, role.via, role.admin) == ("alice", "token laptop", False)

    async def test_removing_as_another_person_by_query(self, api: Api) -> None:
        alice = await api.token(person="alice")

        refused = await api.http.delete(
            "/api/rotations/delivery/overrides/ovr-1?by=bob", headers=alice
        )
        removed = await api.http.delete("/api/rotations/delivery/overrides/ovr-1", headers=alice)

        assert refused.status_code == 403
        assert removed.status_code == 204
        [(_, request)] = api.tocsin.calls
        assert (request.id, request.by, request.via) == ("ovr-1", "alice", "token laptop")

    async def test_an_override_names_its_maker(self, api: Api) -> None:
        bob = await api.token(person="bob")
        body = {"layer": "primary", "person": "bob", "end": "2026-12-01T09:00:00Z"}

        response = await api.http.post("/api/rotations/delivery/overrides", json=body, headers=bob)

        assert response.status_code == 201, response.text
        [(_, request)] = api.tocsin.calls
        assert (request.by, request.via, request.admin) == ("bob", "token laptop", False)


class TestAdminTokens:
    async def test_acts_for_the_named_person_recorded_as_admin(self, api: Api) -> None:
        bot = await api.token(kind="admin", name="ops-bot")

        response = await api.http.post("/api/pages/db-down/ack", json={"by": "alice"}, headers=bot)

        assert response.status_code == 200
        [(_, action)] = api.tocsin.calls
        assert (action.by, action.via, action.admin) == ("alice", "admin ops-bot", True)
        assert action.actor == "admin ops-bot for alice"

    async def test_must_name_the_person(self, api: Api) -> None:
        bot = await api.token(kind="admin", name="ops-bot")

        response = await api.http.post("/api/pages/db-down/ack", json={}, headers=bot)

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "by"]
        assert "admin token acts for a named person" in error["msg"]
        assert api.tocsin.calls == []

    async def test_bootstrap_token_is_an_admin(self, api: Api) -> None:
        response = await api.http.post(
            "/api/incidents/INC-1/lead", json={"person": "bob", "by": "alice"}, headers=BOOT
        )

        assert response.status_code == 200
        [(_, role)] = api.tocsin.calls
        assert role.actor == "admin TOCSIN_API_TOKEN for alice"
        assert role.admin


class TestIntegrationTokens:
    async def test_cannot_declare_an_incident(self, api: Api) -> None:
        ci = await api.token(kind="integration", name="ci", scopes=["pages:create"])

        response = await api.http.post(
            "/api/incidents", json={"title": "x", "by": "alice"}, headers=ci
        )

        assert response.status_code == 403
        assert "needs the admin or person kind" in response.json()["detail"]
        assert api.tocsin.calls == []

    async def test_cannot_acknowledge(self, api: Api) -> None:
        ci = await api.token(kind="integration", name="ci", scopes=["pages:create"])

        response = await api.http.post("/api/pages/db-down/ack", json={"by": "alice"}, headers=ci)

        assert response.status_code == 403
        assert api.tocsin.calls == []

    async def test_creates_a_page_as_itself(self, api: Api) -> None:
        """A CI script's page names the integration, not a person it claims to be."""
        ci = await api.token(kind="integration", name="ci", scopes=["pages:create"])
        body = {"team": "delivery", "summary": "nightly backup failed", "by": "alice"}

        response = await api.http.post("/api/pages", json=body, headers=ci)

        assert response.status_code == 201
        [(_, request)] = api.tocsin.calls
        assert (request.by, request.via) == (None, "integration ci")


class TestDeclaring:
    async def test_a_person_declares_as_themself(self, api: Api) -> None:
        alice = await api.token(person="alice")

        response = await api.http.post(
            "/api/incidents", json={"title": "checkout down"}, headers=alice
        )

        assert response.status_code == 201, response.text
        [(_, request)] = api.tocsin.calls
        assert (request.by, request.via) == ("alice", "token laptop")


class TestSchema:
    async def test_via_and_admin_are_not_offered_to_callers(self, api: Api) -> None:
        """The OpenAPI description shows ``by`` and never the fields Tocsin fills in."""
        schemas = (await api.http.get("/openapi.json")).json()["components"]["schemas"]

        for name in ("PageAction", "RoleInput", "OverrideRequest", "NewIncident"):
            assert "by" in schemas[name]["properties"], name
            assert "via" not in schemas[name]["properties"], name
            assert "admin" not in schemas[name]["properties"], name
            assert "by" not in schemas[name].get("required", []), name
