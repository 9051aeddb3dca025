"""The responder actions over REST (un-acknowledge, snooze, reassign, add responders),
through the FastAPI app, Tocsin's client and its typed page client, down to a stand-in
for Temporal that records the update each sends: actors from the token, the config's
checks before Temporal (422 naming what is unknown), 404 and 409 as for ``/ack``."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.credentials import Authenticator
from starters.http.app import create_app
from tests.fakes.credentials import CountingHasher
from worker.config import ConfigFile
from workflows.models import PageActionInput, PageState, PageStatus
from workflows.page_actions import ReassignInput, RespondersInput, SnoozeInput

TOKEN = "bootstrap-token-123"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


@dataclass
class Temporal:
    """Stands in for Temporal's client: one page, ``db-down``, whose updates are recorded
    (refused with ``refuse``); any other workflow id is unknown."""

    status: WorkflowExecutionStatus = WorkflowExecutionStatus.RUNNING
    refuse: str | None = None
    updates: list[tuple[str, Any]] = field(default_factory=list)

    def get_workflow_handle_for(self, run: object, workflow_id: str) -> Handle:
        return Handle(self, workflow_id)


@dataclass
class Handle:
    temporal: Temporal
    id: str

    async def describe(self) -> Any:
        if self.id != "page-db-down":
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        return SimpleNamespace(status=self.temporal.status)

    async def execute_update(self, update: Any, request: Any) -> PageState:
        if self.temporal.refuse:
            raise WorkflowUpdateFailedError(ApplicationError(self.temporal.refuse))
        self.temporal.updates.append((update.__name__, request))
        return PageState(
            id="db-down",
            workflow_id=self.id,
            team="delivery",
            summary="Database is down",
            created_at=T0,
            status=PageStatus.acknowledged,
        )


@dataclass
class Api:
    http: httpx.AsyncClient
    temporal: Temporal
    alice: dict[str, str]

    async def post(self, path: str, body: object, headers: dict[str, str] | None = None) -> Any:
        return await self.http.post(f"/api/pages/{path}", json=body, headers=headers or self.alice)

    def sent(self) -> Any:
        """The one update that reached the page."""
        [(_, request)] = self.temporal.updates
        return request


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    temporal = Temporal()
    tocsin = TocsinClient(cast(Client, temporal), ConfigFile(config), "unit")
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(TOKEN, tocsin, store=store)
    app.state.authenticator = Authenticator(TOKEN, SqlCredentials(store), hasher=CountingHasher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            made = await http.post(
                "/api/tokens", json={"name": "laptop", "person": "alice"}, headers=BOOT
            )
            alice = {"Authorization": f"Bearer {made.json()['token']}"}
            yield Api(http, temporal, alice)


class TestUnacknowledge:
    async def test_sends_the_update_as_the_tokens_person(self, api: Api) -> None:
        response = await api.post("db-down/unack", {"note": "not mine after all"})

        assert response.status_code == 200, response.text
        assert response.json()["id"] == "db-down"
        [(name, action)] = api.temporal.updates
        assert name == "unacknowledge"
        assert isinstance(action, PageActionInput)
        assert (action.by, action.via, action.note) == (
            "alice",
            "token laptop",
            "not mine after all",
        )

    async def test_a_refusal_is_409_with_the_workflows_reason(self, api: Api) -> None:
        api.temporal.refuse = "page db-down is not acknowledged"

        response = await api.post("db-down/unack", {})

        assert response.status_code == 409
        assert response.json()["detail"] == "page db-down is not acknowledged"

    async def test_a_resolved_page_says_so(self, api: Api) -> None:
        api.temporal.status = WorkflowExecutionStatus.COMPLETED

        response = await api.post("db-down/unack", {})

        assert response.status_code == 409
        assert response.json()["detail"] == "page db-down is resolved: cannot un-acknowledge"
        assert api.temporal.updates == []

    async def test_unknown_page_is_404(self, api: Api) -> None:
        for path in ("nope/unack", "nope/snooze", "nope/reassign", "nope/responders"):
            body = {"duration": "1h", "team": "ops", "targets": ["person:bob"]}
            response = await api.post(path, body)
            assert response.status_code == 404, path
            assert response.json()["detail"] == "no page 'nope'"


class TestSnooze:
    async def test_sends_the_duration_in_seconds(self, api: Api) -> None:
        response = await api.post("db-down/snooze", {"duration": "30m", "note": "deploy at 3"})

        assert response.status_code == 200, response.text
        snooze = api.sent()
        assert isinstance(snooze, SnoozeInput)
        assert (snooze.seconds, snooze.note, snooze.by) == (1800, "deploy at 3", "alice")

    async def test_iso_8601_too(self, api: Api) -> None:
        await api.post("db-down/snooze", {"duration": "PT1H30M"})

        assert api.sent().seconds == 5400

    @pytest.mark.parametrize(
        ("duration", "says"),
        [
            ("soon", "invalid duration 'soon'"),
            ("2w", "a snooze lasts at most 1w, not 2w"),
            ("0m", "greater than zero"),
            ("", "at least 1 character"),
        ],
    )
    async def test_a_bad_duration_is_422_naming_it(
        self, api: Api, duration: str, says: str
    ) -> None:
        response = await api.post("db-down/snooze", {"duration": duration})

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "duration"]
        assert says in error["msg"]
        assert api.temporal.updates == []

    async def test_a_refusal_is_409(self, api: Api) -> None:
        api.temporal.refuse = "page db-down is not acknowledged: acknowledge it before snoozing"

        response = await api.post("db-down/snooze", {"duration": "1h"})

        assert response.status_code == 409
        assert "acknowledge it before snoozing" in response.json()["detail"]


class TestReassign:
    async def test_to_a_team(self, api: Api) -> None:
        response = await api.post("db-down/reassign", {"team": "ops", "note": "it is the db"})

        assert response.status_code == 200, response.text
        request = api.sent()
        assert isinstance(request, ReassignInput)
        assert (request.team, request.person, request.note) == ("ops", None, "it is the db")
        assert request.steps() is None

    async def test_to_a_person_by_e_mail_with_their_teams_first_timeout(self, api: Api) -> None:
        """Bob is in delivery, whose policy's first step waits 10 minutes."""
        response = await api.post("db-down/reassign", {"person": "Bob@Example.com"})

        assert response.status_code == 200, response.text
        request = api.sent()
        assert (request.team, request.person, request.ack_timeout_seconds) == (None, "bob", 600)
        steps = request.steps()
        assert [s.targets for s in steps] == [["person:bob"]] * 3

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            (
                {"team": "nope"},
                "unknown team 'nope' (teams: customer-support, delivery, ops, security)",
            ),
            ({"person": "zed"}, "unknown person 'zed'"),
            ({"person": "zed@example.com"}, "unknown person 'zed@example.com'"),
        ],
    )
    async def test_unknown_team_or_person_is_422_before_temporal(
        self, api: Api, body: dict[str, str], says: str
    ) -> None:
        response = await api.post("db-down/reassign", body)

        assert response.status_code == 422
        assert says in response.json()["detail"]
        assert api.temporal.updates == []

    @pytest.mark.parametrize("body", [{}, {"team": "ops", "person": "bob"}])
    async def test_a_team_or_a_person_not_both(self, api: Api, body: dict[str, str]) -> None:
        response = await api.post("db-down/reassign", body)

        assert response.status_code == 422
        assert "reassign to a 'team' or to a 'person'" in response.text

    async def test_only_as_the_tokens_person(self, api: Api) -> None:
        response = await api.post("db-down/reassign", {"team": "ops", "by": "bob"})

        assert response.status_code == 403
        assert "may not act as bob" in response.json()["detail"]
        assert api.temporal.updates == []

    async def test_an_admin_token_for_a_named_person(self, api: Api) -> None:
        response = await api.post("db-down/reassign", {"team": "ops", "by": "dana"}, BOOT)

        assert response.status_code == 200, response.text
        assert api.sent().actor == "admin TOCSIN_API_TOKEN for dana"

    async def test_a_refusal_is_409(self, api: Api) -> None:
        api.temporal.refuse = (
            "'carol' may not reassign page db-down: not a member of team ops and not notified"
        )

        response = await api.post("db-down/reassign", {"team": "delivery"})

        assert response.status_code == 409
        assert "'carol' may not reassign page db-down" in response.json()["detail"]


class TestAddResponders:
    async def test_sends_the_targets(self, api: Api) -> None:
        targets = ["person:carol", "team:ops", "rotation:delivery/tm"]

        response = await api.post("db-down/responders", {"targets": targets, "note": "db?"})

        assert response.status_code == 200, response.text
        request = api.sent()
        assert isinstance(request, RespondersInput)
        assert (request.targets, request.note, request.by) == (targets, "db?", "alice")

    @pytest.mark.parametrize(
        ("target", "says"),
        [
            ("person:zed", "target 'person:zed': unknown person 'zed'"),
            ("team:nope", "target 'team:nope': unknown team 'nope'"),
            ("rotation:nope/eoc", "target 'rotation:nope/eoc': unknown rotation 'nope'"),
            (
                "rotation:delivery/night",
                "target 'rotation:delivery/night': rotation 'delivery' has no layer 'night' "
                "(layers: eoc, tm)",
            ),
            ("bob", "invalid target 'bob': use person:ID, team:ID or rotation:ID/LAYER"),
        ],
    )
    async def test_a_target_naming_nobody_is_422_naming_it(
        self, api: Api, target: str, says: str
    ) -> None:
        response = await api.post("db-down/responders", {"targets": ["person:bob", target]})

        assert response.status_code == 422
        assert response.json()["detail"] == says
        assert api.temporal.updates == []

    async def test_at_least_one_target(self, api: Api) -> None:
        response = await api.post("db-down/responders", {"targets": []})

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "targets"]


class TestOpenApi:
    async def test_each_route_is_described_with_its_body_and_refusals(self, api: Api) -> None:
        described = (await api.http.get("/openapi.json")).json()
        paths = described["paths"]
        schemas = described["components"]["schemas"]

        for path, body in [
            ("unack", "PageAction"),
            ("snooze", "Snooze"),
            ("reassign", "Reassignment"),
            ("responders", "Responders"),
        ]:
            operation = paths[f"/api/pages/{{page_id}}/{path}"]["post"]
            assert operation["description"], path
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{body}"
            assert {"404", "409", "422"} <= set(operation["responses"]), path
            assert "via" not in schemas[body]["properties"]
        assert "at most 1w" in schemas["Snooze"]["properties"]["duration"]["description"]
        assert "e-mail" in schemas["Reassignment"]["properties"]["person"]["description"]
