"""Pages through the real HTTP API, on the real dev server, notifying a real HTTP sink."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from starters.events import event_page_key
from tests.e2e.conftest import EVENTS_KEY, Stack
from tests.fakes.receiver import Delivery

pytestmark = pytest.mark.e2e

PAGE = {"team": "delivery", "summary": "DiskFull on gitserver-0", "by": "alice"}
# How timelines name alice acting through the stack's admin token.
ADMIN_FOR_ALICE = "admin TOCSIN_API_TOKEN for alice"


async def eventually(check: Any, within: float = 10.0) -> Any:
    """Poll ``check()`` until it returns something truthy (visibility lags ~1 s)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


class TestPageLifecycle:
    async def test_create_notify_ack_resolve(self, stack: Stack) -> None:
        """A page made over HTTP reaches the EOC's webhook with how to ack, and the ack sticks."""
        created = await stack.http.post("/api/pages", json=PAGE)
        assert created.status_code == 201, created.text
        page = created.json()
        assert page["status"] == "triggered"
        assert created.headers["location"] == f"/api/pages/{page['id']}"

        def alice_paged(ds: list[Delivery]) -> bool:
            return any(d.page_id == page["id"] and d.path == "/alice" for d in ds)

        await stack.receiver.wait_for(alice_paged)
        [delivery] = stack.receiver.for_page(page["id"])
        assert "DiskFull on gitserver-0" in delivery.body["title"]
        assert f"tocsin page ack {page['id']} --as alice" in delivery.message
        assert f"/api/pages/{page['id']}/ack" in delivery.message
        assert delivery.step == 1

        async def recorded() -> dict[str, Any] | None:
            shown: dict[str, Any] = (await stack.http.get(f"/api/pages/{page['id']}")).json()
            return shown if shown["notified"] else None

        shown = await eventually(recorded)
        assert shown["step"] == 1
        assert [(n["person"], n["step"], n["ok"]) for n in shown["notified"]] == [
            ("alice", 1, True)
        ]

        acked = await stack.http.post(f"/api/pages/{page['id']}/ack", json={"by": "alice"})
        assert acked.status_code == 200
        assert acked.json()["status"] == "acknowledged"
        assert acked.json()["acknowledged_by"] == "alice"

        again = await stack.http.post(f"/api/pages/{page['id']}/ack", json={"by": "bob"})
        assert again.status_code == 409
        assert "already acknowledged by alice" in again.json()["detail"]

        async def listed() -> list[dict[str, Any]]:
            r = await stack.http.get("/api/pages", params={"status": "acknowledged"})
            return [p for p in r.json() if p["id"] == page["id"]]

        [item] = await eventually(listed)
        assert item["team"] == "delivery"
        assert item["summary"] == "DiskFull on gitserver-0"

        resolved = await stack.http.post(
            f"/api/pages/{page['id']}/resolve", json={"by": "alice", "note": "pruned logs"}
        )
        assert resolved.status_code == 200
        assert resolved.json()["resolved_by"] == "alice"
        late = await stack.http.post(f"/api/pages/{page['id']}/ack", json={"by": "bob"})
        assert late.status_code == 409
        assert "resolved" in late.json()["detail"]
        final = (await stack.http.get(f"/api/pages/{page['id']}")).json()
        assert [e["kind"] for e in final["timeline"]][-2:] == ["acknowledged", "resolved"]

    async def test_escalate_now_pages_the_tm_whose_webhook_is_down(self, stack: Stack) -> None:
        """Escalate-now reaches the TM at once; her broken webhook falls through to the next one."""
        page = (await stack.http.post("/api/pages", json=PAGE)).json()
        await stack.receiver.wait_for(lambda ds: any(d.page_id == page["id"] for d in ds))
        escalated = await stack.http.post(f"/api/pages/{page['id']}/escalate", json={"by": "bob"})
        assert escalated.status_code == 200
        await stack.receiver.wait_for(
            lambda ds: any(d.page_id == page["id"] and d.path == "/dana" for d in ds), within=30
        )

        async def dana_recorded() -> dict[str, Any] | None:
            state: dict[str, Any] = (await stack.http.get(f"/api/pages/{page['id']}")).json()
            ok = [n for n in state["notified"] if n["person"] == "dana" and n["ok"]]
            return state if ok else None

        state = await eventually(dana_recorded)
        dana = [(n["method"], n["ok"]) for n in state["notified"] if n["person"] == "dana"]
        assert dana[0][1] is False
        assert dana[0][0].startswith("json://127.0.0.1:")
        assert "/closed" not in dana[0][0], "the contact URL's path is not shown"
        assert dana[1][1] is True
        assert any(e["kind"] == "notify-failed" for e in state["timeline"])

    async def test_page_a_person(self, stack: Stack) -> None:
        """``person`` instead of ``team``: Bob alone is notified (Alice is on call), the
        page is his team's, and the caller is the one who opened it."""
        created = await stack.http.post(
            "/api/pages", json={"person": "bob", "summary": "look at the deploy"}
        )
        assert created.status_code == 201, created.text
        page = created.json()
        assert page["team"] == "delivery"
        await stack.receiver.wait_for(
            lambda ds: any(d.page_id == page["id"] and d.path == "/bob" for d in ds)
        )

        async def recorded() -> dict[str, Any] | None:
            shown: dict[str, Any] = (await stack.http.get(f"/api/pages/{page['id']}")).json()
            return shown if shown["notified"] else None

        shown = await eventually(recorded)
        assert [(n["person"], n["step"]) for n in shown["notified"]] == [("bob", 1)]
        assert {d.path for d in stack.receiver.for_page(page["id"])} == {"/bob"}
        acked = await stack.http.post(f"/api/pages/{page['id']}/ack", json={"by": "bob"})
        assert acked.status_code == 200, acked.text

    async def test_low_urgency_page(self, stack: Stack) -> None:
        """``"urgency": "low"`` is kept (it was accepted and ignored before)."""
        created = await stack.http.post(
            "/api/pages", json={"team": "delivery", "summary": "ticket 42", "urgency": "low"}
        )
        assert created.status_code == 201, created.text
        shown = (await stack.http.get(f"/api/pages/{created.json()['id']}")).json()
        assert shown["urgency"] == "low"

    async def test_same_dedup_key_same_page(self, stack: Stack) -> None:
        """A retried create with the same dedup key returns the open page instead of a second one."""
        body = {**PAGE, "dedup_key": "am-gitserver-diskfull"}
        first, second = await asyncio.gather(
            stack.http.post("/api/pages", json=body), stack.http.post("/api/pages", json=body)
        )
        assert sorted([first.status_code, second.status_code]) == [200, 201]
        assert first.json()["id"] == second.json()["id"] == "am-gitserver-diskfull"
        await stack.receiver.wait_for(
            lambda ds: any(d.page_id == "am-gitserver-diskfull" for d in ds)
        )
        await asyncio.sleep(0.5)
        assert len(stack.receiver.for_page("am-gitserver-diskfull")) == 1
        await stack.http.post("/api/pages/am-gitserver-diskfull/resolve", json={"by": "bob"})

    async def test_oncall(self, stack: Stack) -> None:
        """/api/oncall answers who holds each layer and until when."""
        response = await stack.http.get("/api/oncall", params={"team": "delivery"})
        assert response.status_code == 200
        layers = {e["layer"]: e["person"] for e in response.json()}
        assert layers == {"eoc": "alice", "tm": "dana"}
        at = await stack.http.get("/api/oncall", params={"at": "2026-11-23T10:00:00"})
        assert at.status_code == 422
        assert "time zone" in at.json()["detail"]


class TestResponderActions:
    async def test_snooze_unack_then_reassign_to_a_person(self, stack: Stack) -> None:
        """Acknowledged, snoozed for 30 minutes, given back (alice is paged again at step
        1), then reassigned to bob alone: his webhook receives the page. Refusals say why."""
        page = (await stack.http.post("/api/pages", json=PAGE)).json()
        pages = f"/api/pages/{page['id']}"

        def paged(path: str, times: int = 1) -> Callable[[list[Delivery]], bool]:
            def enough(ds: list[Delivery]) -> bool:
                return sum(d.page_id == page["id"] and d.path == path for d in ds) >= times

            return enough

        await stack.receiver.wait_for(paged("/alice"))
        early = await stack.http.post(f"{pages}/snooze", json={"by": "alice", "duration": "30m"})
        assert early.status_code == 409
        assert "acknowledge it before snoozing" in early.json()["detail"]
        acked = await stack.http.post(f"{pages}/ack", json={"by": "alice"})
        assert acked.status_code == 200, acked.text

        snoozed = await stack.http.post(
            f"{pages}/snooze", json={"by": "alice", "duration": "30m", "note": "after the deploy"}
        )
        assert snoozed.status_code == 200, snoozed.text
        state = snoozed.json()
        assert state["status"] == "acknowledged"
        until = datetime.fromisoformat(state["snoozed_until"])
        assert timedelta(minutes=29) < until - datetime.now(UTC) <= timedelta(minutes=30)
        assert state["timeline"][-1]["text"].startswith(
            f"Snoozed by {ADMIN_FOR_ALICE} for 30m (triggers again at "
        )
        assert state["timeline"][-1]["text"].endswith("): after the deploy")
        too_long = await stack.http.post(f"{pages}/snooze", json={"by": "alice", "duration": "2w"})
        assert too_long.status_code == 422
        assert "at most 1w" in too_long.text

        unacked = await stack.http.post(f"{pages}/unack", json={"by": "alice"})
        assert unacked.status_code == 200, unacked.text
        assert (unacked.json()["status"], unacked.json()["acknowledged_by"]) == ("triggered", None)
        await stack.receiver.wait_for(paged("/alice", times=2))
        again = await stack.http.post(f"{pages}/unack", json={"by": "alice"})
        assert again.status_code == 409
        assert again.json()["detail"] == f"page {page['id']} is not acknowledged"

        nobody = await stack.http.post(f"{pages}/reassign", json={"by": "alice", "person": "zed"})
        assert nobody.status_code == 422
        assert "unknown person 'zed'" in nobody.json()["detail"]
        reassigned = await stack.http.post(
            f"{pages}/reassign", json={"by": "alice", "person": "bob", "note": "his deploy"}
        )
        assert reassigned.status_code == 200, reassigned.text
        await stack.receiver.wait_for(paged("/bob"))
        [bobs] = [d for d in stack.receiver.for_page(page["id"]) if d.path == "/bob"]
        assert "DiskFull on gitserver-0" in bobs.body["title"]
        assert bobs.step == 1

        async def bob_recorded() -> dict[str, Any] | None:
            shown: dict[str, Any] = (await stack.http.get(pages)).json()
            return shown if any(n["person"] == "bob" for n in shown["notified"]) else None

        final = await eventually(bob_recorded)
        assert [(n["person"], n["step"]) for n in final["notified"]] == [
            ("alice", 1),
            ("alice", 1),
            ("bob", 1),
        ]
        texts = [e["text"] for e in final["timeline"]]
        assert f"Un-acknowledged by {ADMIN_FOR_ALICE}" in texts
        assert f"Reassigned to bob by {ADMIN_FOR_ALICE}: his deploy" in texts
        unknown = await stack.http.post(
            "/api/pages/nope/reassign", json={"by": "alice", "team": "delivery"}
        )
        assert unknown.status_code == 404


class TestBadInput:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YWxpY2U6eA=="}],
    )
    async def test_unauthenticated_is_401_and_starts_nothing(
        self, stack: Stack, headers: dict[str, str]
    ) -> None:
        """Without the right bearer token every /api route says 401."""
        async with httpx.AsyncClient(base_url=str(stack.http.base_url)) as anonymous:
            for method, path in [
                ("POST", "/api/pages"),
                ("GET", "/api/pages"),
                ("GET", "/api/oncall"),
            ]:
                r = await anonymous.request(method, path, json=PAGE, headers=headers)
                assert r.status_code == 401, (method, path)
                assert r.headers["www-authenticate"].startswith("Bearer")
        assert stack.receiver.deliveries == []

    async def test_healthz_needs_no_token(self, stack: Stack) -> None:
        """The health check answers without auth and reports Temporal reachable."""
        async with httpx.AsyncClient(base_url=str(stack.http.base_url)) as anonymous:
            r = await anonymous.get("/healthz")
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "temporal": True}

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            (b"{not json", "JSON"),
            (b'{"team": "delivery"}', "summary"),
            (b'{"team": "nope", "summary": "x"}', "unknown team 'nope'"),
            (b'{"summary": "x"}', "name a 'team' or a 'person'"),
            (b'{"person": "zed", "summary": "x"}', "unknown person 'zed'"),
            (b'{"team": "delivery", "summary": "x", "urgency": "urgent"}', "urgency"),
            (b'{"team": "delivery", "summary": "x", "dedup_key": "a b/c"}', "dedup_key"),
            (b'["delivery"]', "dict"),
        ],
    )
    async def test_malformed_create_is_422(self, stack: Stack, body: bytes, fragment: str) -> None:
        """A malformed page request is refused with what was wrong, and nobody is paged."""
        r = await stack.http.post(
            "/api/pages", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422
        assert fragment in r.text
        await asyncio.sleep(0.3)
        assert stack.receiver.deliveries == []

    async def test_unknown_page_is_404(self, stack: Stack) -> None:
        """Acting on a page that does not exist is a 404, whatever the id looks like."""
        for page_id in ["does-not-exist", "..", "a%20b"]:
            r = await stack.http.post(f"/api/pages/{page_id}/ack", json={"by": "alice"})
            assert r.status_code == 404, page_id
        assert (await stack.http.get("/api/pages/nope")).status_code == 404

    async def test_stranger_ack_is_409(self, stack: Stack) -> None:
        """Someone not on the team and never notified cannot acknowledge."""
        page = (await stack.http.post("/api/pages", json=PAGE)).json()
        r = await stack.http.post(f"/api/pages/{page['id']}/ack", json={"by": "mallory"})
        assert r.status_code == 409
        assert "mallory" in r.json()["detail"]
        assert (await stack.http.get(f"/api/pages/{page['id']}")).json()["status"] == "triggered"


class TestWebUiVisibility:
    async def test_search_attributes_summary_and_details(self, stack: Stack, dev_env: Any) -> None:
        """The UI can filter pages by kind/team/status and shows a summary and live details."""
        client: Client = dev_env.client
        page = (await stack.http.post("/api/pages", json=PAGE)).json()
        await stack.receiver.wait_for(lambda ds: any(d.page_id == page["id"] for d in ds))
        await stack.http.post(f"/api/pages/{page['id']}/ack", json={"by": "alice"})

        async def found() -> list[str]:
            query = (
                'TocsinKind = "page" AND TocsinTeam = "delivery" '
                f'AND TocsinStatus = "acknowledged" AND WorkflowId = "page-{page["id"]}"'
            )
            return [w.id async for w in client.list_workflows(query)]

        assert await eventually(found) == [f"page-{page['id']}"]
        handle = client.get_workflow_handle(f"page-{page['id']}")
        description = await handle.describe()
        assert await description.static_summary() == "[delivery] DiskFull on gitserver-0"

        async def notified_shown() -> str | None:
            # The receiver has the notification before the worker has recorded it as sent
            # (the send is logged as delivered first): the details follow a moment later.
            metadata = await handle.query("__temporal_workflow_metadata")
            shown: str = metadata.current_details
            return shown if "alice (json://127.0.0.1:" in shown else None

        details = await eventually(notified_shown) or ""
        assert "**ACKNOWLEDGED**" in details
        assert "**Acknowledged by:** alice" in details
        assert "alice (json://127.0.0.1:" in details


class TestEventsApi:
    async def test_trigger_then_resolve_over_http(self, stack: Stack) -> None:
        """An Events API trigger pages the service's team; a resolve with its dedup key resolves it."""
        event = {
            "routing_key": EVENTS_KEY,
            "event_action": "trigger",
            "payload": {
                "summary": "gitserver disk 99%",
                "source": "gitserver-0",
                "severity": "critical",
            },
            "links": [{"href": "https://grafana.example/d/disk", "text": "dashboard"}],
        }
        accepted = await stack.http.post("/webhooks/events", json=event)
        assert accepted.status_code == 202
        body = accepted.json()
        assert body["status"] == "success"
        page_id = event_page_key("gitserver", body["dedup_key"])
        await stack.receiver.wait_for(lambda ds: any(d.page_id == page_id for d in ds))
        page = (await stack.http.get(f"/api/pages/{page_id}")).json()
        assert (page["service"], page["severity"], page["team"]) == (
            "gitserver",
            "critical",
            "delivery",
        )
        assert page["alerts"][0]["links"] == [
            {"href": "https://grafana.example/d/disk", "text": "dashboard"}
        ]

        resolve = {
            "routing_key": EVENTS_KEY,
            "event_action": "resolve",
            "dedup_key": body["dedup_key"],
        }
        assert (await stack.http.post("/webhooks/events", json=resolve)).status_code == 202

        async def resolved() -> dict[str, Any] | None:
            state: dict[str, Any] = (await stack.http.get(f"/api/pages/{page_id}")).json()
            return state if state["status"] == "resolved" else None

        final = await eventually(resolved)
        assert final["resolved_by"] == "events"
        assert "All alerts resolved" in [e["text"] for e in final["timeline"]]
