"""The console's Incidents view through ASGI: the board, declaring, one incident and the
forms that act on it. Every action is the signed-in person's (from the session, never a
form field) and needs the form token; Tocsin's client records what reaches it instead of
calling Temporal."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.clients.incidents import IncidentListItem
from starters.console.app import ConsoleSettings
from starters.console.sessions import ConsoleKeys
from starters.credentials import Authenticator
from starters.errors import IncidentNotFound, InvalidRequest, Rejected
from starters.http.app import create_app
from tests.fakes.credentials import CountingHasher
from tests.unit.test_http_auth import NoTemporal
from worker.config import ConfigFile
from workflows.actors import Acted
from workflows.incident_models import (
    DeclareRequest,
    FollowUp,
    IncidentEdit,
    IncidentState,
    IncidentStatus,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackState,
    StatusUpdate,
    UpdateInput,
)
from workflows.models import TimelineEntry

TOKEN = "bootstrap-token-123"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
KEY = re.compile(r'name="key" value="([^"]+)"')
LIVE = re.compile(r'hx-get="([^"]+)"')
NOW = datetime.now(UTC).replace(microsecond=0)


def incident(number: int, **fields: Any) -> IncidentState:
    base: dict[str, Any] = {
        "id": f"INC-{number}",
        "number": number,
        "title": f"Incident number {number}",
        "severity": "major",
        "team": "delivery",
        "declared_by": "alice",
        "declared_at": NOW - timedelta(hours=2),
    }
    return IncidentState(**{**base, **fields})


class Recording(TocsinClient):
    """Tocsin's client over a few incidents held in memory; actions recorded, not sent."""

    def __init__(self, config: Path) -> None:
        super().__init__(cast(Client, NoTemporal()), ConfigFile(config), "unit")
        self.calls: list[tuple[str, Any]] = []
        self.refuse: str | None = None
        self.keys: dict[str, str] = {}
        self.states = {
            s.id: s
            for s in (
                incident(
                    2,
                    title="Git pushes fail",
                    severity="critical",
                    status=IncidentStatus.active,
                    service="gitserver",
                    lead="bob",
                    messenger="hana",
                    updates=[StatusUpdate(at=NOW, by="bob", text="Rolled back; pushes work again")],
                    followups=[
                        FollowUp(
                            number=1,
                            title="Alert on deploy error rate",
                            added_by="bob",
                            added_at=NOW,
                            state="open",
                            repo="acme/ops",
                            issue_number=7,
                            issue_url="https://github.com/acme/ops/issues/7",
                        )
                    ],
                    timeline=[
                        TimelineEntry(
                            at=NOW, kind="lead", text="bob is the incident lead", by="bob"
                        ),
                        TimelineEntry(
                            at=NOW,
                            kind="update",
                            text="Rolled back; pushes work again",
                            by="bob",
                            via="token laptop",
                        ),
                        TimelineEntry(at=NOW, kind="chat", text="said in the channel"),
                    ],
                ),
                incident(
                    1,
                    title="Checkout slow",
                    status=IncidentStatus.closed,
                    lead="alice",
                    resolved_at=NOW,
                    resolved_by="alice",
                    resolution="fixed",
                ),
            )
        }

    def _did(self, verb: str, request: Any) -> None:
        self.calls.append((verb, request))
        if self.refuse is not None:
            raise Rejected(self.refuse)

    async def list_incidents(
        self, status: Any = None, severity: Any = None, limit: int = 200
    ) -> list[IncidentListItem]:
        return [
            IncidentListItem(
                id=s.id,
                title=s.title,
                severity=s.severity,
                status=s.status.value,
                lead=s.lead,
                service=s.service,
            )
            for s in sorted(self.states.values(), key=lambda s: s.number, reverse=True)
        ]

    async def get_incident(self, incident_id: str) -> IncidentState:
        found = self.states.get(incident_id.upper())
        if found is None:
            raise IncidentNotFound(f"no incident {incident_id!r}")
        return found

    async def declare_incident(
        self, request: DeclareRequest, idempotency_key: str
    ) -> tuple[IncidentState, bool]:
        self.calls.append(("declare", (request, idempotency_key)))
        if idempotency_key in self.keys:
            return self.states[self.keys[idempotency_key]], False
        state = incident(len(self.states) + 1, title=request.title, declared_by=request.by)
        self.states[state.id] = state
        self.keys[idempotency_key] = state.id
        return state, True

    async def assign_lead(self, incident_id: str, role: RoleInput) -> IncidentState:
        self._did("lead", role)
        return self.states[incident_id]

    async def assign_messenger(self, incident_id: str, role: RoleInput) -> IncidentState:
        self._did("messenger", role)
        return self.states[incident_id]

    async def post_update(self, incident_id: str, update: UpdateInput) -> IncidentState:
        self._did("update", update)
        return self.states[incident_id]

    async def change_incident_severity(
        self, incident_id: str, severity: str, actor: Acted
    ) -> IncidentState:
        if severity not in ("critical", "major", "minor"):
            raise InvalidRequest(f"unknown severity {severity!r}")
        self._did("severity", (severity, actor))
        return self.states[incident_id]

    async def resolve_incident(self, incident_id: str, resolution: ResolveInput) -> IncidentState:
        self._did("resolve", resolution)
        return self.states[incident_id]

    async def add_note(self, incident_id: str, note: NoteInput) -> IncidentState:
        self._did("note", note)
        return self.states[incident_id]

    async def edit_incident(self, incident_id: str, edit: IncidentEdit) -> IncidentState:
        self._did("edit", edit)
        return self.states[incident_id]

    async def decide_rollback(self, incident_id: str, decision: RollbackDecision) -> IncidentState:
        self._did("rollback", decision)
        return self.states[incident_id]


@dataclass
class Console:
    http: httpx.AsyncClient
    tocsin: Recording

    async def csrf(self, path: str) -> str:
        shown = await self.http.get(path)
        assert shown.status_code == 200, shown.text
        return CSRF.findall(shown.text)[0]

    async def flash(self, answer: httpx.Response) -> str:
        """The message the page an action went back to shows."""
        assert answer.status_code == 303, answer.text
        shown = await self.http.get(answer.headers["location"])
        [text] = re.findall(r'<p class="flash[^"]*"[^>]*id="flash">([^<]*)</p>', shown.text)
        return html.unescape(text)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """Alice signed in with her token ``laptop``."""
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = Recording(config)
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(
        TOKEN, tocsin, store=store, console=ConsoleSettings(keys=ConsoleKeys("k" * 40))
    )
    app.state.authenticator = Authenticator(TOKEN, SqlCredentials(store), hasher=CountingHasher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            made = await http.post(
                "/api/tokens", json={"name": "laptop", "person": "alice"}, headers=BOOT
            )
            assert made.status_code == 201, made.text
            form = await http.get("/signin")
            signed = await http.post(
                "/signin",
                data={"token": made.json()["token"], "csrf": CSRF.findall(form.text)[0]},
            )
            assert signed.status_code == 303, signed.text
            yield Console(http, tocsin)


class TestBoard:
    async def test_shows_incidents_by_status(self, console: Console) -> None:
        """Open incidents with their lead, messenger, age and last update; closed ones too."""
        shown = await console.http.get("/incidents")

        assert shown.status_code == 200, shown.text
        board = shown.text
        active = board[board.index('id="incidents-active"') : board.index('id="column-resolved"')]
        assert "INC-2" in active
        assert "Git pushes fail" in active
        assert 'class="badge critical"' in active
        assert "lead: bob" in active
        assert "messenger: hana" in active
        assert "2h old" in active
        assert "Rolled back; pushes work again" in active
        closed = board[board.index('id="incidents-closed"') :]
        assert "Checkout slow" in closed
        assert "No triage incidents." in board

    async def test_declare_form_offers_the_config(self, console: Console) -> None:
        shown = (await console.http.get("/incidents")).text

        assert 'id="declare-form"' in shown
        assert '<option value="major" selected>major</option>' in shown
        assert '<option value="gitserver">gitserver</option>' in shown
        assert KEY.search(shown)

    async def test_live_board_is_204_while_unchanged(self, console: Console) -> None:
        first = await console.http.get("/incidents/live")
        assert first.status_code == 200
        [url] = LIVE.findall(first.text)

        again = await console.http.get(html.unescape(url))

        assert again.status_code == 204
        console.tocsin.states["INC-2"] = console.tocsin.states["INC-2"].model_copy(
            update={"messenger": "ivan"}
        )
        changed = await console.http.get(html.unescape(url))
        assert changed.status_code == 200
        assert "messenger: ivan" in changed.text


class TestDeclare:
    async def test_declares_as_the_signed_in_person(self, console: Console) -> None:
        shown = (await console.http.get("/incidents")).text
        form = {
            "csrf": CSRF.findall(shown)[0],
            "key": KEY.findall(shown)[0],
            "title": "Search is down",
            "description": "",
            "severity": "critical",
            "service": "web",
            "customer_impact": "yes",
            # Whatever a form says, the actor comes from the session.
            "by": "mallory",
        }

        answer = await console.http.post("/incidents", data=form)

        assert answer.headers["location"] == "/incidents/INC-3"
        assert await console.flash(answer) == "Declared INC-3"
        [(verb, (request, _))] = console.tocsin.calls
        assert verb == "declare"
        assert isinstance(request, DeclareRequest)
        assert (request.by, request.via, request.admin) == ("alice", "console, token laptop", False)
        assert (request.title, request.severity, request.service) == (
            "Search is down",
            "critical",
            "web",
        )
        assert request.customer_impact
        assert not request.security
        assert request.description is None

    async def test_a_double_submit_declares_once(self, console: Console) -> None:
        shown = (await console.http.get("/incidents")).text
        form = {"csrf": CSRF.findall(shown)[0], "key": KEY.findall(shown)[0], "title": "Twice"}

        first = await console.http.post("/incidents", data=form)
        second = await console.http.post("/incidents", data=form)

        assert first.headers["location"] == second.headers["location"] == "/incidents/INC-3"
        assert await console.flash(second) == "INC-3 was declared already"
        assert len(console.tocsin.states) == 3

    async def test_a_blank_title_is_refused(self, console: Console) -> None:
        shown = (await console.http.get("/incidents")).text
        form = {"csrf": CSRF.findall(shown)[0], "key": KEY.findall(shown)[0], "title": "   "}

        answer = await console.http.post("/incidents", data=form)

        assert answer.headers["location"] == "/incidents"
        assert (await console.flash(answer)).startswith("Not declared: title")
        assert console.tocsin.calls == []


class TestIncident:
    async def test_shows_facts_followups_and_timeline(self, console: Console) -> None:
        shown = await console.http.get("/incidents/inc-2")

        assert shown.status_code == 200, shown.text
        page = shown.text
        assert '<span class="badge active" id="incident-status">active</span>' in page
        assert "Alert on deploy error rate" in page
        assert 'href="https://github.com/acme/ops/issues/7">acme/ops#7</a>' in page
        timeline = page[page.index('id="incident-timeline"') :]
        assert "[bob (token laptop)]" in timeline
        assert "said in the channel" not in timeline
        for form in ("take-lead", "give-role", "update-form", "resolve-form", "comms-form"):
            assert f'id="{form}"' in page
        assert "postmortem-draft" not in page

    async def test_a_resolved_incident_shows_its_postmortem_draft(self, console: Console) -> None:
        shown = (await console.http.get("/incidents/INC-1")).text

        assert '<details id="postmortem-draft">' in shown
        assert "# Postmortem: INC-1 — Checkout slow" in html.unescape(shown)
        assert 'id="resolve-form"' not in shown

    async def test_an_unknown_incident_is_404(self, console: Console) -> None:
        for path in ("/incidents/INC-99", "/incidents/nonsense", "/incidents/INC-99/live"):
            shown = await console.http.get(path)
            assert shown.status_code == 404
            assert "No such incident" in shown.text

    async def test_live_facts_are_204_while_unchanged(self, console: Console) -> None:
        page = (await console.http.get("/incidents/INC-2")).text
        assert "/incidents/INC-2/live?v=" in page
        first = await console.http.get("/incidents/INC-2/live")
        [url] = LIVE.findall(first.text)

        assert (await console.http.get(html.unescape(url))).status_code == 204


class TestActions:
    async def test_take_the_lead(self, console: Console) -> None:
        page = (await console.http.get("/incidents/INC-2")).text
        form = page[page.index('id="take-lead"') :]
        assert 'name="person" value="alice"' in form[: form.index("</form>")]

        answer = await console.http.post(
            "/incidents/INC-2/lead", data={"csrf": CSRF.findall(page)[0], "person": "alice"}
        )

        assert await console.flash(answer) == "INC-2: alice is the lead"
        [(verb, role)] = console.tocsin.calls
        assert verb == "lead"
        assert role == RoleInput(person="alice", by="alice", via="console, token laptop")

    async def test_give_a_role(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post(
            "/incidents/INC-2/role", data={"csrf": csrf, "role": "messenger", "person": "hana"}
        )

        assert await console.flash(answer) == "INC-2: hana is the messenger"
        [(verb, role)] = console.tocsin.calls
        assert (verb, role.person, role.by) == ("messenger", "hana", "alice")

    async def test_a_refusal_says_why(self, console: Console) -> None:
        console.tocsin.refuse = "only the incident lead (bob) may resolve INC-2"
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post(
            "/incidents/INC-2/resolve",
            data={"csrf": csrf, "resolution": "fixed", "summary": "bad deploy"},
        )

        assert answer.headers["location"] == "/incidents/INC-2"
        said = await console.flash(answer)
        assert said == "Not done: only the incident lead (bob) may resolve INC-2"
        [(_, resolution)] = console.tocsin.calls
        assert (resolution.resolution, resolution.by) == ("fixed", "alice")

    async def test_an_unknown_severity_is_refused(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post(
            "/incidents/INC-2/severity", data={"csrf": csrf, "severity": "apocalyptic"}
        )

        assert await console.flash(answer) == "Not done: unknown severity 'apocalyptic'"

    async def test_a_status_update(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post(
            "/incidents/INC-2/updates", data={"csrf": csrf, "text": " Pushes work again "}
        )

        assert await console.flash(answer) == "INC-2: update posted"
        [(_, update)] = console.tocsin.calls
        assert (update.text, update.by, update.via) == (
            "Pushes work again",
            "alice",
            "console, token laptop",
        )

    async def test_rolling_back_again_is_asked_and_sent_confirmed(self, console: Console) -> None:
        """Once a rollback succeeded, the form says so and its buttons roll back again."""
        plain = (await console.http.get("/incidents/INC-2")).text
        assert 'id="rollback-again"' not in plain
        state = console.tocsin.states["INC-2"]
        console.tocsin.states["INC-2"] = state.model_copy(
            update={
                "rollback": RollbackState(
                    decision="roll_back", succeeded_at=NOW, succeeded_by="bob"
                )
            }
        )
        page = (await console.http.get("/incidents/INC-2")).text
        form = page[page.index('id="rollback-form"') :]
        form = form[: form.index("</form>")]
        assert "gitserver was already rolled back successfully" in form
        assert "decided by bob" in form
        assert "Roll back again" in form

        answer = await console.http.post(
            "/incidents/INC-2/rollback",
            data={"csrf": CSRF.findall(page)[0], "choice": "roll_back", "confirm": "true"},
        )

        assert await console.flash(answer) == "INC-2: rolling back"
        [(verb, decision)] = console.tocsin.calls
        assert (verb, decision.choice, decision.confirm, decision.by) == (
            "rollback",
            "roll_back",
            True,
            "alice",
        )

    async def test_a_note(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post(
            "/incidents/INC-2/notes", data={"csrf": csrf, "text": " CDN purge helped "}
        )

        assert await console.flash(answer) == "INC-2: note added"
        assert console.tocsin.calls == [
            ("note", NoteInput(text="CDN purge helped", by="alice", via="console, token laptop"))
        ]

    async def test_edit_title_description_and_summary(self, console: Console) -> None:
        """The form shows what the incident says now and saves what was typed, trimmed."""
        page = (await console.http.get("/incidents/INC-2")).text
        form = page[page.index('id="edit-form"') :]
        assert 'name="title" required maxlength="200" value="Git pushes fail"' in form

        answer = await console.http.post(
            "/incidents/INC-2/edit",
            data={
                "csrf": CSRF.findall(page)[0],
                "title": " Git pushes fail for large repos ",
                "summary": "LFS store full; moving to the new bucket",
                "description": "",
            },
        )

        assert await console.flash(answer) == "INC-2: saved"
        [(verb, edit)] = console.tocsin.calls
        assert verb == "edit"
        assert edit == IncidentEdit(
            title="Git pushes fail for large repos",
            summary="LFS store full; moving to the new bucket",
            description="",
            by="alice",
            via="console, token laptop",
        )

    async def test_a_follow_up_needs_a_title_or_a_url(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post("/incidents/INC-2/followups", data={"csrf": csrf})

        assert (await console.flash(answer)).startswith("Not done: give a title")
        assert console.tocsin.calls == []

    async def test_without_the_form_token_nothing_happens(self, console: Console) -> None:
        for path, data in (
            ("/incidents/INC-2/lead", {"person": "alice"}),
            ("/incidents/INC-2/resolve", {"resolution": "fixed", "summary": "x"}),
            ("/incidents", {"title": "x", "key": "k" * 20}),
        ):
            answer = await console.http.post(path, data=data)
            assert answer.status_code == 403, path
        forged = await console.http.post(
            "/incidents/INC-2/lead", data={"csrf": "forged", "person": "alice"}
        )
        assert forged.status_code == 403
        assert console.tocsin.calls == []

    async def test_bad_input_is_a_4xx(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        for path, data in (
            ("/incidents/INC-2/resolve", {"resolution": "shrugged", "summary": "x"}),
            ("/incidents/INC-2/updates", {"text": "x" * 4001}),
            ("/incidents/INC-2/rollback", {"choice": "panic"}),
            ("/incidents/INC-2/captain", {"person": "alice"}),
            ("/incidents", {"title": "x", "key": "short"}),
        ):
            answer = await console.http.post(path, data={"csrf": csrf, **data})
            assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert console.tocsin.calls == []

    async def test_an_unknown_incident_is_404(self, console: Console) -> None:
        csrf = await console.csrf("/incidents/INC-2")

        answer = await console.http.post(
            "/incidents/nonsense/updates", data={"csrf": csrf, "text": "x"}
        )

        assert answer.status_code == 404
        assert console.tocsin.calls == []
