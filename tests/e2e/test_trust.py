"""Who may do what, end to end: per-person tokens against the real dev server, a worker,
and the API under uvicorn with its credentials in SQLite.

Delivery (alice, bob) owns gitserver and the delivery rotation; mallory is on payments.
Tokens are made as an admin would, with ``POST /api/tokens`` and the bootstrap token.
(The signed link from a real e-mail is in ``test_link_actions.py``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.http.app import create_app
from tests.conftest import serving
from tests.e2e.conftest import borrowed_incident_counter, end_open_pages
from tests.fakes.receiver import Receiver
from worker.build import build_worker
from worker.config import ConfigFile
from worker.rotations import sync_rotations
from worker.settings import Settings

pytestmark = pytest.mark.e2e

GIT_KEY = "e2e0trust0gitserver0key000000001"
BILLING_KEY = "e2e0trust0billing0key00000000002"
CONFIG = """
timezone: UTC
people:
  alice: {{name: Alice, contact: ["{hook}/alice"]}}
  bob: {{name: Bob, contact: ["{hook}/bob"]}}
  mallory: {{name: Mallory, contact: ["{hook}/mallory"]}}
teams:
  delivery: {{members: [alice, bob], rotation: {rot}, escalation_policy: delivery}}
  payments: {{members: [mallory], escalation_policy: payments}}
rotations:
  {rot}:
    timezone: UTC
    handoff: {{weekday: monday, time: "10:00"}}
    shift: 1w
    start: 2020-01-06
    layers: {{primary: [alice, bob]}}
escalation_policies:
  delivery: {{steps: [{{targets: ["rotation:{rot}/primary"], ack_timeout: 1h}}]}}
  payments: {{steps: [{{targets: ["team:payments"], ack_timeout: 1h}}]}}
services:
  gitserver: {{team: delivery, integration_key: "${{TOCSIN_E2E_TRUST_GIT_KEY}}"}}
  billing: {{team: payments, integration_key: "${{TOCSIN_E2E_TRUST_BILLING_KEY}}"}}
incidents: {{lead_timeout: 1h, prompt_interval: 1h}}
routes:
  - {{default: true, team: delivery}}
"""


@dataclass
class Desk:
    """The API (``http`` without a token) and everyone's headers."""

    http: httpx.AsyncClient
    boot: dict[str, str]
    tokens: dict[str, dict[str, str]]
    rotation: str

    async def token(self, name: str, **fields: Any) -> dict[str, str]:
        created = await self.http.post(
            "/api/tokens", json={"name": name, **fields}, headers=self.boot
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}

    async def until(self, path: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """``GET path`` with the bootstrap token until ``check`` holds (10 s)."""
        for _ in range(100):
            response = await self.http.get(path, headers=self.boot)
            if response.status_code == 200 and check(response.json()):
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.1)
        pytest.fail(f"{path} never reached the expected state")

    async def events(self, **event: Any) -> httpx.Response:
        return await self.http.post("/webhooks/events", json=event)


@pytest.fixture
async def desk(
    dev_env: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Desk]:
    monkeypatch.setenv("TOCSIN_E2E_TRUST_GIT_KEY", GIT_KEY)
    monkeypatch.setenv("TOCSIN_E2E_TRUST_BILLING_KEY", BILLING_KEY)
    config_path = tmp_path / "tocsin.yaml"
    # A rotation of its own: rotation workflows outlive a test on the shared dev server.
    rotation = f"delivery{uuid.uuid4().hex[:6]}"
    config_path.write_text(CONFIG.format(hook=receiver.url("").rstrip("/"), rot=rotation))
    config = ConfigFile(config_path)
    task_queue = f"e2e-trust-{uuid.uuid4()}"
    boot = secrets.token_urlsafe(16)
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(boot, TocsinClient(dev_env.client, config, task_queue), store=store)
    async with serving(app) as url:
        settings = Settings(public_url=url, task_queue=task_queue, data_dir=tmp_path)
        async with (
            build_worker(dev_env.client, settings, config, task_queue=task_queue),
            borrowed_incident_counter(dev_env.client, task_queue),
            httpx.AsyncClient(base_url=url, timeout=20) as http,
        ):
            await sync_rotations(dev_env.client, config.current(), task_queue)
            desk = Desk(http, {"Authorization": f"Bearer {boot}"}, {}, rotation)
            for person in ("alice", "bob", "mallory"):
                desk.tokens[person] = await desk.token("laptop", person=person)
            desk.tokens["ops-bot"] = await desk.token("ops-bot", kind="admin")
            desk.tokens["ci"] = await desk.token("ci", kind="integration", scopes=["pages:create"])
            yield desk
            await end_open_pages(dev_env.client, task_queue)
            status = await http.get(f"/api/rotations/{rotation}/status", headers=desk.boot)
            for workflow_id in (f"rotation-{rotation}", status.json().get("current_shift")):
                with contextlib.suppress(RPCError):
                    await dev_env.client.get_workflow_handle(str(workflow_id)).terminate("done")


def texts(body: dict[str, Any]) -> list[str]:
    return [entry["text"] for entry in body["timeline"]]


class TestTokens:
    async def test_each_token_acts_only_as_what_it_is(self, desk: Desk) -> None:
        """alice's token cannot acknowledge as bob; an integration token cannot declare an
        incident; an admin acting for alice is recorded as such."""
        t = desk.tokens
        created = await desk.http.post(
            "/api/pages",
            json={"team": "delivery", "summary": "Nightly backup failed", "by": "alice"},
            headers=t["ci"],
        )
        assert created.status_code == 201, created.text
        page = created.json()["id"]
        await desk.until(f"/api/pages/{page}", lambda p: bool(p["notified"]))

        as_bob = await desk.http.post(
            f"/api/pages/{page}/ack", json={"by": "bob"}, headers=t["alice"]
        )
        assert as_bob.status_code == 403
        assert as_bob.json()["detail"].startswith("this token acts as alice: it may not act as bob")

        declared = await desk.http.post(
            "/api/incidents", json={"title": "Backups failing", "by": "alice"}, headers=t["ci"]
        )
        assert declared.status_code == 403
        assert "needs the admin or person kind" in declared.json()["detail"]

        untouched = await desk.until(f"/api/pages/{page}", lambda p: True)
        assert untouched["status"] == "triggered"
        assert untouched["created_by"] is None  # the CI script is nobody's name

        acked = await desk.http.post(
            f"/api/pages/{page}/ack", json={"by": "alice"}, headers=t["ops-bot"]
        )
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged_by"] == "alice"
        [entry] = [e for e in acked.json()["timeline"] if e["kind"] == "acknowledged"]
        assert entry["text"] == "Acknowledged by admin ops-bot for alice"
        assert (entry["by"], entry["via"]) == ("alice", "admin ops-bot")

        resolved = await desk.http.post(f"/api/pages/{page}/resolve", json={}, headers=t["alice"])
        assert resolved.status_code == 200
        assert "Resolved by alice (token laptop)" in texts(resolved.json())
        opening = resolved.json()["timeline"][0]
        assert opening["via"] == "integration ci"
        tokens = " ".join(str(e) for e in resolved.json()["timeline"])
        assert "tocsin_" not in tokens


class TestOutsider:
    async def test_cannot_take_the_lead_of_another_teams_incident(self, desk: Desk) -> None:
        t = desk.tokens
        declared = await desk.http.post(
            "/api/incidents",
            json={"title": "gitserver returns 502", "service": "gitserver", "severity": "minor"},
            headers=t["alice"],
        )
        assert declared.status_code == 201, declared.text
        incident = declared.json()["id"]
        assert declared.json()["declared_by"] == "alice"

        taken = await desk.http.post(
            f"/api/incidents/{incident}/lead", json={"person": "mallory"}, headers=t["mallory"]
        )
        assert taken.status_code == 409
        assert "mallory may not take a role" in taken.json()["detail"]
        as_alice = await desk.http.post(
            f"/api/incidents/{incident}/lead",
            json={"person": "mallory", "by": "alice"},
            headers=t["mallory"],
        )
        assert as_alice.status_code == 403
        resolved = await desk.http.post(
            f"/api/incidents/{incident}/resolve",
            json={"resolution": "false_positive", "summary": "nothing"},
            headers=t["mallory"],
        )
        assert resolved.status_code == 409

        # bob (delivery) takes it himself; he may not hand a role to mallory... as alice may
        # not give one while bob leads; an admin may.
        bob = await desk.http.post(
            f"/api/incidents/{incident}/lead", json={"person": "bob"}, headers=t["bob"]
        )
        assert bob.status_code == 200, bob.text
        given = await desk.http.post(
            f"/api/incidents/{incident}/owner", json={"person": "mallory"}, headers=t["alice"]
        )
        assert given.status_code == 409
        assert "alice may not give mallory a role" in given.json()["detail"]
        by_lead = await desk.http.post(
            f"/api/incidents/{incident}/owner", json={"person": "alice"}, headers=t["bob"]
        )
        assert by_lead.status_code == 200
        state = by_lead.json()
        assert (state["lead"], state["resolution_owner"]) == ("bob", "alice")
        [lead] = [e for e in state["timeline"] if e["kind"] == "lead"]
        assert (lead["by"], lead["via"]) == ("bob", "token laptop")

    async def test_cannot_add_herself_to_its_rotation(self, desk: Desk) -> None:
        t = desk.tokens
        await desk.until(
            f"/api/rotations/{desk.rotation}/status", lambda s: bool(s["current_shift"])
        )
        herself = {"layer": "primary", "person": "mallory"}

        refused = await desk.http.post(
            f"/api/rotations/{desk.rotation}/overrides", json=herself, headers=t["mallory"]
        )
        assert refused.status_code == 409
        assert f"mallory may not hold {desk.rotation} shifts" in refused.json()["detail"]
        by_admin = await desk.http.post(
            f"/api/rotations/{desk.rotation}/overrides",
            json={**herself, "by": "alice"},
            headers=t["ops-bot"],
        )
        assert by_admin.status_code == 409  # not a member, whoever asks

        cover = await desk.http.post(
            f"/api/rotations/{desk.rotation}/overrides",
            json={"layer": "primary", "person": "bob"},
            headers=t["mallory"],
        )
        assert cover.status_code == 409
        assert f"mallory may not change {desk.rotation}" in cover.json()["detail"]
        made = await desk.http.post(
            f"/api/rotations/{desk.rotation}/overrides",
            json={"layer": "primary", "person": "bob"},
            headers=t["alice"],
        )
        assert made.status_code == 201, made.text
        status = await desk.until(
            f"/api/rotations/{desk.rotation}/status", lambda s: bool(s["changes"])
        )
        assert "alice (token laptop): bob holds primary" in status["changes"][-1]

    async def test_cannot_acknowledge_through_the_events_api(self, desk: Desk) -> None:
        """Her own integration key cannot reach delivery's page; on gitserver's key, the
        acknowledgement is the integration's, never a name the event gives."""
        dedup = f"disk-{uuid.uuid4().hex[:8]}"
        trigger = {
            "routing_key": GIT_KEY,
            "event_action": "trigger",
            "dedup_key": dedup,
            "payload": {"summary": "disk full", "source": "gitserver-0", "severity": "critical"},
        }
        assert (await desk.events(**trigger)).status_code == 202
        pages = await desk.until(
            "/api/pages?team=delivery", lambda ps: any(p["summary"] == "disk full" for p in ps)
        )
        [page] = [p["id"] for p in pages if p["summary"] == "disk full"]

        other_key = await desk.events(
            routing_key=BILLING_KEY, event_action="acknowledge", dedup_key=dedup, client="mallory"
        )
        assert other_key.status_code == 202
        assert other_key.json()["message"] == "No open alert for dedup_key"
        state = await desk.until(f"/api/pages/{page}", lambda p: True)
        assert state["status"] == "triggered"

        named = await desk.events(
            routing_key=GIT_KEY, event_action="acknowledge", dedup_key=dedup, client="mallory"
        )
        assert named.status_code == 202
        state = await desk.until(f"/api/pages/{page}", lambda p: p["status"] == "acknowledged")
        assert state["acknowledged_by"] == "events:gitserver"
        assert "Acknowledged by events:gitserver (integration key)" in texts(state)
        assert all(e["by"] != "mallory" for e in state["timeline"])
