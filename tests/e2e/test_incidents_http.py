"""Incidents through the real HTTP API, on the real dev server, paging a real HTTP sink."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import Stack
from tests.e2e.test_pages_http import eventually

pytestmark = pytest.mark.e2e

OUTAGE = {
    "title": "Git pushes fail",
    "description": "pre-receive hook times out since the 14:02 deploy",
    "severity": "critical",
    "service": "gitserver",
    "by": "bob",
}
MINOR = {"title": "Slow clones", "severity": "minor", "by": "bob"}


def kinds_in_order(timeline: list[dict[str, Any]], wanted: list[str]) -> list[str]:
    """The ``wanted`` kinds as they first appear in the timeline, each after the previous."""
    found: list[str] = []
    position = 0
    for kind in wanted:
        for i in range(position, len(timeline)):
            if timeline[i]["kind"] == kind:
                found.append(kind)
                position = i + 1
                break
    return found


async def declare(http: httpx.AsyncClient, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    response = await http.post("/api/incidents", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response


async def close_minor(http: httpx.AsyncClient, incident_id: str) -> None:
    """Resolve an incident nobody leads, so it ends instead of waiting on its queue."""
    body = {"resolution": "false_positive", "summary": "test", "by": "bob"}
    response = await http.post(f"/api/incidents/{incident_id}/resolve", json=body)
    assert response.status_code == 200, response.text


class TestIncidentLifecycle:
    async def test_declared_to_resolved_over_http(
        self, incident_stack: Stack, dev_env: WorkflowEnvironment
    ) -> None:
        """Declared critical, the owning team is paged for a lead, rollback first, resolved."""
        http = incident_stack.http
        declared = await declare(http, OUTAGE)
        assert declared.status_code == 201
        incident = declared.json()
        incident_id = incident["id"]
        assert declared.headers["location"] == f"/api/incidents/{incident_id}"
        assert (incident["status"], incident["severity"], incident["team"]) == (
            "triage",
            "critical",
            "delivery",
        )
        assert incident["lead"] is None

        # Nobody takes the lead within lead_timeout (2 s): the team's EOC is paged.
        lead_page = f"{incident_id.lower()}-lead-1"
        await incident_stack.receiver.wait_for(
            lambda ds: any(d.page_id == lead_page and d.path == "/alice" for d in ds), within=10
        )
        [delivery] = incident_stack.receiver.for_page(lead_page)
        assert f"We have an incident, please help: {incident_id}" in delivery.body["title"]

        acked = await http.post(f"/api/pages/{lead_page}/ack", json={"by": "alice"})
        assert acked.status_code == 200, acked.text

        async def led() -> dict[str, Any] | None:
            state: dict[str, Any] = (await http.get(f"/api/incidents/{incident_id}")).json()
            return state if state["lead"] == "alice" else None

        state = await eventually(led)
        assert state["status"] == "active"
        assert state["pages"][0]["acknowledged_by"] == "alice"

        decided = await http.post(
            f"/api/incidents/{incident_id}/rollback", json={"choice": "roll_back", "by": "alice"}
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["rollback"]["decision"] == "roll_back"

        async def rolled_back() -> dict[str, Any] | None:
            state: dict[str, Any] = (await http.get(f"/api/incidents/{incident_id}")).json()
            return state if state["rollback"]["result"] else None

        state = await eventually(rolled_back)
        result = state["rollback"]["result"]
        assert (result["ok"], result["runner"]) == (True, "command"), result
        [entry] = [e for e in state["timeline"] if e["kind"] == "rollback-result"]
        assert "rolled back gitserver" in entry["text"]

        outcome = await http.post(
            f"/api/incidents/{incident_id}/rollback/outcome",
            json={"resolved": True, "by": "alice"},
        )
        assert outcome.status_code == 200, outcome.text
        assert outcome.json()["rollback"]["resolved_it"] is True

        update = {"text": "Rolled back; pushes work again", "by": "alice"}
        updated = await http.post(f"/api/incidents/{incident_id}/updates", json=update)
        assert updated.status_code == 200, updated.text
        assert updated.json()["updates"][-1]["text"] == update["text"]

        resolution = {"resolution": "rolled_back", "summary": "bad deploy rolled back"}
        refused = await http.post(
            f"/api/incidents/{incident_id}/resolve", json={**resolution, "by": "bob"}
        )
        assert refused.status_code == 409
        assert "only the incident lead (alice)" in refused.json()["detail"]

        resolved = await http.post(
            f"/api/incidents/{incident_id}/resolve", json={**resolution, "by": "alice"}
        )
        assert resolved.status_code == 200, resolved.text
        final = resolved.json()
        assert final["status"] == "resolved", "critical needs a postmortem: not closed yet"
        assert (final["resolved_by"], final["resolution"]) == ("alice", "rolled_back")
        steps = [
            "declared",
            "page",
            "lead",
            "rollback-decision",
            "rollback-result",
            "rollback-outcome",
            "update",
            "resolved",
        ]
        assert kinds_in_order(final["timeline"], steps) == steps
        assert kinds_in_order(final["timeline"], ["prompt", "rollback-decision"]) == [
            "prompt",
            "rollback-decision",
        ]

        late = await http.post(
            f"/api/incidents/{incident_id}/updates", json={"text": "x", "by": "alice"}
        )
        assert late.status_code == 409

        # The timeline route reads the same entries a slice at a time (none archived yet).
        whole = (await http.get(f"/api/incidents/{incident_id}/timeline")).json()
        assert (whole["total"], whole["archived"]) == (len(final["timeline"]), 0)
        assert whole["entries"] == final["timeline"]
        tail = await http.get(
            f"/api/incidents/{incident_id}/timeline", params={"offset": 2, "limit": 3}
        )
        assert tail.json()["entries"] == final["timeline"][2:5]

        client: Client = dev_env.client

        # Without GitHub the postmortem draft goes to the channel, which is all it owes:
        # the incident closes a moment after it resolved, so either status may show.
        async def in_visibility() -> list[str]:
            query = (
                'TocsinKind = "incident" AND TocsinStatus IN ("resolved", "closed") '
                f'AND TocsinLead = "alice" AND WorkflowId = "incident-{incident_id}"'
            )
            return [w.id async for w in client.list_workflows(query)]

        assert await eventually(in_visibility) == [f"incident-{incident_id}"]

        # Unfiltered, and matched by title too: earlier tests on this dev server ended
        # their incident counter, so another incident may carry the same number.
        async def listed() -> list[dict[str, Any]]:
            r = await http.get("/api/incidents")
            return [
                i
                for i in r.json()
                if i["id"] == incident_id
                and i["title"] == OUTAGE["title"]
                and i["status"] in ("resolved", "closed")
            ]

        [item] = await eventually(listed)
        assert (item["title"], item["severity"], item["lead"], item["service"]) == (
            "Git pushes fail",
            "critical",
            "alice",
            "gitserver",
        )


class TestAsTheHandbooksSay:
    async def test_edit_note_and_rollback_again_over_http(self, incident_stack: Stack) -> None:
        """Edits reach incident lists; a non-lead's update is a note; the lead decides the
        rollback, and a second one after a success needs confirm (issue 17 item 6)."""
        http = incident_stack.http
        incident = (await declare(http, {**MINOR, "service": "gitserver"})).json()
        url = f"/api/incidents/{incident['id']}"
        led = await http.post(url + "/lead", json={"person": "alice", "by": "alice"})
        assert led.status_code == 200, led.text

        title = f"Slow clones on gitserver-{uuid.uuid4().hex[:6]}"
        edited = await http.patch(url, json={"title": title, "summary": "GC storm", "by": "bob"})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["title"], edited.json()["summary"]) == (title, "GC storm")
        unchanged = await http.patch(url, json={"title": title, "by": "bob"})
        assert unchanged.status_code == 409
        assert "nothing to change" in unchanged.json()["detail"]
        missing = await http.patch("/api/incidents/INC-999999", json={"by": "bob"})
        assert missing.status_code == 404

        noted = await http.post(url + "/notes", json={"text": "gc.auto was 0", "by": "bob"})
        assert noted.status_code == 200, noted.text
        as_note = await http.post(url + "/updates", json={"text": "repacking", "by": "bob"})
        assert as_note.json()["updates"] == []
        assert [e["text"] for e in as_note.json()["timeline"] if e["kind"] == "note"] == [
            "gc.auto was 0",
            "repacking",
        ]
        unknown = await http.post(url + "/notes", json={"text": "x", "by": "mallory"})
        assert unknown.status_code == 422

        not_lead = await http.post(url + "/rollback", json={"choice": "roll_back", "by": "bob"})
        assert not_lead.status_code == 409
        assert "only the incident lead (alice)" in not_lead.json()["detail"]
        decided = await http.post(url + "/rollback", json={"choice": "roll_back", "by": "alice"})
        assert decided.status_code == 200, decided.text

        async def succeeded() -> dict[str, Any] | None:
            state: dict[str, Any] = (await http.get(url)).json()
            return state if state["rollback"]["succeeded_at"] else None

        await eventually(succeeded)
        again = {"choice": "roll_back", "by": "alice"}
        refused = await http.post(url + "/rollback", json=again)
        assert refused.status_code == 409
        assert "confirm to run it again" in refused.json()["detail"]
        confirmed = await http.post(url + "/rollback", json={**again, "confirm": True})
        assert confirmed.status_code == 200, confirmed.text

        async def listed() -> list[dict[str, Any]]:
            r = await http.get("/api/incidents")
            return [i for i in r.json() if i["id"] == incident["id"] and i["title"] == title]

        assert await eventually(listed)

        async def twice() -> bool:
            timeline = (await http.get(url)).json()["timeline"]
            return sum(e["kind"] == "rollback-result" for e in timeline) == 2

        assert await eventually(twice)
        body = {"resolution": "fixed", "summary": "repacked", "by": "alice"}
        assert (await http.post(url + "/resolve", json=body)).status_code == 200


class TestDeclaring:
    async def test_concurrent_declares_get_consecutive_numbers(self, incident_stack: Stack) -> None:
        """Two declarations at once are two incidents, numbered one after the other."""
        first, second = await asyncio.gather(
            declare(incident_stack.http, MINOR), declare(incident_stack.http, MINOR)
        )
        assert (first.status_code, second.status_code) == (201, 201)
        numbers = sorted(int(r.json()["id"].removeprefix("INC-")) for r in (first, second))
        assert numbers[1] == numbers[0] + 1
        for response in (first, second):
            await close_minor(incident_stack.http, response.json()["id"])

    async def test_same_idempotency_key_same_incident(self, incident_stack: Stack) -> None:
        """A declaration retried with its Idempotency-Key returns the incident it declared."""
        key = str(uuid.uuid4())
        first, second = await asyncio.gather(
            declare(incident_stack.http, MINOR, key), declare(incident_stack.http, MINOR, key)
        )
        assert sorted([first.status_code, second.status_code]) == [200, 201]
        assert first.json()["id"] == second.json()["id"]
        again = await declare(incident_stack.http, MINOR, key)
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
        await close_minor(incident_stack.http, first.json()["id"])

    async def test_promote_a_page(self, incident_stack: Stack) -> None:
        """A page becomes an incident with its summary as title; promoting it twice, one incident."""
        http = incident_stack.http
        page = (
            await http.post(
                "/api/pages",
                json={"team": "delivery", "summary": "Disk full on gitserver-0", "by": "bob"},
            )
        ).json()
        promoted = await http.post(
            f"/api/pages/{page['id']}/incident", json={"by": "bob", "severity": "minor"}
        )
        assert promoted.status_code == 201, promoted.text
        incident = promoted.json()
        assert (incident["title"], incident["from_page"], incident["severity"]) == (
            "Disk full on gitserver-0",
            page["id"],
            "minor",
        )
        assert f"(from page {page['id']})" in incident["timeline"][0]["text"]
        again = await http.post(f"/api/pages/{page['id']}/incident", json={"by": "alice"})
        assert (again.status_code, again.json()["id"]) == (200, incident["id"])
        await close_minor(http, incident["id"])
        await http.post(f"/api/pages/{page['id']}/resolve", json={"by": "bob"})


class TestBadInput:
    async def test_unknown_incident_or_page_is_404(self, incident_stack: Stack) -> None:
        """Unknown incidents and pages are 404, whatever the id looks like."""
        http = incident_stack.http
        for incident_id in ["INC-999999", "nope", "INC-1x", "..", "INC-"]:
            assert (await http.get(f"/api/incidents/{incident_id}")).status_code == 404, incident_id
            timeline = await http.get(f"/api/incidents/{incident_id}/timeline")
            assert timeline.status_code == 404, incident_id
            r = await http.post(
                f"/api/incidents/{incident_id}/lead", json={"person": "alice", "by": "alice"}
            )
            assert r.status_code == 404, incident_id
        r = await http.post("/api/pages/does-not-exist/incident", json={"by": "alice"})
        assert r.status_code == 404

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({**MINOR, "severity": "sev9"}, "unknown severity 'sev9' (severities: critical"),
            ({**MINOR, "service": "nope"}, "unknown service 'nope'"),
            ({**MINOR, "by": "mallory"}, "unknown person 'mallory'"),
            ({"severity": "minor", "by": "bob"}, "title"),
            ({**MINOR, "title": ""}, "title"),
        ],
    )
    async def test_bad_declaration_is_422(
        self, incident_stack: Stack, body: dict[str, Any], fragment: str
    ) -> None:
        """A declaration naming something unknown, or malformed, is refused with why."""
        r = await incident_stack.http.post("/api/incidents", json=body)
        assert r.status_code == 422
        assert fragment in r.text

    async def test_bad_actions_on_a_live_incident(self, incident_stack: Stack) -> None:
        """Unknown people, severities and choices are 422; what the incident refuses is 409."""
        http = incident_stack.http
        incident_id = (await declare(http, MINOR)).json()["id"]
        url = f"/api/incidents/{incident_id}"
        cases: list[tuple[str, dict[str, Any], int, str]] = [
            ("/lead", {"person": "mallory", "by": "bob"}, 422, "unknown person 'mallory'"),
            ("/severity", {"severity": "sev9", "by": "bob"}, 422, "unknown severity 'sev9'"),
            ("/rollback", {"choice": "yolo", "by": "bob"}, 422, "roll_back"),
            ("/resolve", {"resolution": "fixed", "by": "bob"}, 422, "summary"),
            ("/severity", {"severity": "minor", "by": "bob"}, 409, "already minor"),
            ("/rollback/outcome", {"resolved": True, "by": "bob"}, 409, "no rollback has run"),
        ]
        for path, body, code, fragment in cases:
            r = await http.post(url + path, json=body)
            assert (r.status_code, path) == (code, path), r.text
            assert fragment in r.text, r.text
        bad_list = await http.get("/api/incidents", params={"severity": "sev9"})
        assert bad_list.status_code == 422
        assert (await http.get("/api/incidents", params={"status": "open"})).status_code == 422
        await close_minor(http, incident_id)
        closed = await http.post(url + "/lead", json={"person": "alice", "by": "bob"})
        assert closed.status_code == 409
        assert "closed" in closed.json()["detail"]

    async def test_unauthenticated_is_401(self, incident_stack: Stack) -> None:
        """Incident routes need the bearer token like every /api route."""
        async with httpx.AsyncClient(base_url=str(incident_stack.http.base_url)) as anonymous:
            for method, path in [
                ("POST", "/api/incidents"),
                ("GET", "/api/incidents"),
                ("GET", "/api/incidents/INC-1"),
                ("POST", "/api/incidents/INC-1/resolve"),
                ("POST", "/api/pages/x/incident"),
            ]:
                r = await anonymous.request(method, path, json=MINOR)
                assert r.status_code == 401, (method, path)
