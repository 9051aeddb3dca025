"""After the incident, end to end: follow-up issue on (fake) GitHub, closed by its webhook,
the incident closed, and its row in the incident log read back by ``tocsin log``; an issue
linked by URL closed by a form-encoded delivery after its label was removed, and one issue
followed up by two incidents closing both.

Real dev server, real HTTP on loopback, PyGithub against the loopback GitHub fake, the
SQLite incident log in the test's directory, and the ``tocsin`` CLI as a process.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.http.app import create_app
from starters.http.github import signature
from starters.server import serve_api
from tests.conftest import binary
from tests.e2e.conftest import borrowed_incident_counter, end_open_pages, free_port
from tests.fakes.github import FakeGithub
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings, database_url

pytestmark = pytest.mark.e2e

SECRET = "e2e-github-webhook-secret"

CONFIG = """
people:
  alice: {name: Alice, github: alice-gh, contact: [console]}
  bob: {name: Bob, contact: [console]}
teams:
  delivery: {members: [alice, bob], escalation_policy: delivery}
escalation_policies:
  delivery: {steps: [{targets: ["team:delivery"], ack_timeout: 1h}]}
services:
  shop: {team: delivery, repo: acme/shop}
severities:
  - {name: major, update_interval: 1h}
incidents: {lead_timeout: 1h, prompt_interval: 1h}
"""


@dataclass
class Desk:
    http: httpx.AsyncClient
    github: FakeGithub
    data_dir: Path
    config: Path

    async def incident(self, incident_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def until(
        self, incident_id: str, check: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        for _ in range(400):
            state = await self.incident(incident_id)
            if check(state):
                return state
            await asyncio.sleep(0.05)
        pytest.fail(f"{incident_id} never {what}: {[e['text'] for e in state['timeline'][-4:]]}")

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    async def resolve(self, incident_id: str) -> None:
        await self.post(f"/api/incidents/{incident_id}/lead", {"person": "bob", "by": "bob"})
        await self.post(
            f"/api/incidents/{incident_id}/resolve",
            {"resolution": "fixed", "summary": "bad config reverted", "by": "bob"},
        )

    async def webhook(
        self, action: str, repo: str, number: int, *, form: bool = False
    ) -> httpx.Response:
        """What GitHub delivers when someone closes or reopens the issue: the JSON, or with
        the webhook's content type set to form, ``payload=<the JSON, URL-encoded>``."""
        issue = self.github.issue(repo, number)
        body = json.dumps(
            {
                "action": action,
                "issue": {
                    "number": issue.number,
                    "html_url": f"https://github.com/{repo}/issues/{issue.number}",
                    "state": issue.state,
                    "title": issue.title,
                    "labels": [{"id": n, "name": label} for n, label in enumerate(issue.labels)],
                },
                "repository": {"full_name": repo},
                "sender": {"login": "alice-gh", "type": "User"},
            }
        ).encode()
        content_type = "application/json"
        if form:
            body = urlencode({"payload": body.decode()}).encode()
            content_type = "application/x-www-form-urlencoded"
        return await self.http.post(
            "/webhooks/github",
            content=body,
            headers={
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": signature(SECRET, body),
                "Content-Type": content_type,
            },
        )


@pytest.fixture
async def desk(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    github = FakeGithub()
    await github.start()
    config_path = tmp_path / "tocsin.yaml"
    config_path.write_text(CONFIG)
    config = ConfigFile(config_path)
    task_queue = f"e2e-followups-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue,
        data_dir=tmp_path,
        github_token=SecretStr(github.token),
        github_api_url=github.api_url,
    )
    port = free_port()
    token = secrets.token_urlsafe(16)
    tocsin = TocsinClient(dev_env.client, config, task_queue)
    store = SqlStore(database_url(settings))
    app = create_app(token, tocsin, github_webhook_secret=SECRET, store=store)
    stop = asyncio.Event()
    server = asyncio.create_task(serve_api(app, "127.0.0.1", port, stop))
    async with (
        build_worker(dev_env.client, settings, config, task_queue=task_queue),
        borrowed_incident_counter(dev_env.client, task_queue),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        ) as http,
    ):
        for _ in range(100):
            try:
                await http.get("/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        yield Desk(http, github, tmp_path, config_path)
        await end_open_pages(dev_env.client, task_queue)
    stop.set()
    await server
    await github.stop()


class TestFollowUpsUntilClosed:
    """Declare → follow-up → resolve → issue closed on GitHub (webhook) → closed → in the log."""

    async def test_webhook_closes_the_last_followup_and_the_log_has_it(self, desk: Desk) -> None:
        """The incident waits, resolved, for its follow-up; GitHub's webhook closes it for good."""
        declared = await desk.post(
            "/api/incidents",
            {"title": "Checkout errors", "severity": "major", "service": "shop", "by": "bob"},
        )
        incident_id = declared["id"]
        await desk.post(
            f"/api/incidents/{incident_id}/followups",
            {"title": "Alert on checkout 5xx", "assignee": "alice", "by": "bob"},
        )
        await desk.post(f"/api/incidents/{incident_id}/lead", {"person": "bob", "by": "bob"})
        await desk.post(
            f"/api/incidents/{incident_id}/resolve",
            {"resolution": "fixed", "summary": "bad config reverted", "by": "bob"},
        )
        state = await desk.until(
            incident_id, lambda s: s["followups"][0]["state"] == "open", "opened its issue"
        )
        assert state["status"] == "resolved"
        followup = state["followups"][0]
        issue = desk.github.issue("acme/shop", followup["issue_number"])
        assert issue.title == "Alert on checkout 5xx"
        assert set(issue.labels) == {"incident", incident_id}
        assert issue.assignees == ["alice-gh"]
        assert f"/api/incidents/{incident_id}" in (issue.body or ""), "the issue links back"

        refused = await desk.http.post(
            "/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "issues"}
        )
        assert refused.status_code == 401

        desk.github.set_state("acme/shop", issue.number, "closed", by="alice-gh")
        delivered = await desk.webhook("closed", "acme/shop", issue.number)
        assert delivered.status_code in (200, 202), delivered.text
        state = await desk.until(incident_id, lambda s: s["status"] == "closed", "closed")
        assert state["followups"][0]["state"] == "closed"
        assert "Closed: every follow-up is closed" in [e["text"] for e in state["timeline"]]

        async def logged() -> dict[str, Any] | None:
            rows = (await desk.http.get("/api/log", params={"since": "1d"})).json()
            row = next((r for r in rows if r["id"] == incident_id), None)
            return row if row and row["status"] == "closed" else None

        row = None
        for _ in range(100):
            row = await logged()
            if row:
                break
            await asyncio.sleep(0.05)
        assert row is not None, "the incident log never showed it closed"
        assert (row["followups_open"], row["followups_closed"]) == (0, 1)

        env = {
            **os.environ,
            "TOCSIN_DATA_DIR": str(desk.data_dir),
            "TOCSIN_CONFIG": str(desk.config),
        }
        cli = subprocess.run(  # noqa: ASYNC221 - the CLI is a separate process on purpose
            [binary("tocsin"), "log", "--since", "1d", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        [mine] = [r for r in json.loads(cli.stdout) if r["id"] == incident_id]
        assert (mine["status"], mine["lead"], mine["resolution"]) == ("closed", "bob", "fixed")


class TestIssuesFollowedUpByUrl:
    """Issues Tocsin did not open, linked by URL, and issues shared by two incidents."""

    async def declare(self, desk: Desk, title: str) -> str:
        declared = await desk.post(
            "/api/incidents", {"title": title, "severity": "major", "service": "shop", "by": "bob"}
        )
        incident_id: str = declared["id"]
        return incident_id

    async def test_linked_issue_closes_by_form_delivery_without_its_label(self, desk: Desk) -> None:
        """The linked issue is labelled INC-<n>; a person removes the label and closes the
        issue; GitHub's form-encoded delivery still closes the follow-up and the incident."""
        issue = desk.github.add_issue("acme/shop", "Flaky checkout probe", labels=["bug"])
        incident_id = await self.declare(desk, "Checkout probe flapping")
        url = f"https://github.com/acme/shop/issues/{issue.number}"
        await desk.post(f"/api/incidents/{incident_id}/followups", {"issue_url": url, "by": "bob"})
        await desk.resolve(incident_id)
        state = await desk.until(
            incident_id, lambda s: s["followups"][0]["state"] == "open", "linked its issue"
        )
        followup = state["followups"][0]
        assert (followup["title"], followup["issue_url"]) == ("Flaky checkout probe", url)
        assert desk.github.issue("acme/shop", issue.number).labels == ["bug", incident_id]
        assert [i.number for i in desk.github.issues["acme/shop"]] == [issue.number], (
            "a linked issue is not opened again"
        )

        issue.labels.remove(incident_id)  # someone tidies the labels up
        desk.github.set_state("acme/shop", issue.number, "closed", by="alice-gh")
        delivered = await desk.webhook("closed", "acme/shop", issue.number, form=True)

        assert delivered.status_code == 200, delivered.text
        assert delivered.json()["incidents"] == [incident_id]
        state = await desk.until(incident_id, lambda s: s["status"] == "closed", "closed")
        assert state["followups"][0]["state"] == "closed"
        texts = [e["text"] for e in state["timeline"]]
        assert f"Follow-up #1 done: {url} closed by alice-gh (webhook); 0 open" in texts

    async def test_issue_of_two_incidents_closes_both(self, desk: Desk) -> None:
        """One incident opens an issue, a second links it: labelled for both, one delivery
        closes the follow-up of each, and both incidents close."""
        first = await self.declare(desk, "Payments timing out")
        second = await self.declare(desk, "Refunds timing out")
        await desk.post(
            f"/api/incidents/{first}/followups",
            {"title": "Raise the payment client's timeout", "by": "bob"},
        )
        state = await desk.until(
            first, lambda s: s["followups"][0]["state"] == "open", "opened its issue"
        )
        number = state["followups"][0]["issue_number"]
        await desk.post(
            f"/api/incidents/{second}/followups",
            {"issue_url": state["followups"][0]["issue_url"], "by": "bob"},
        )
        await desk.until(second, lambda s: s["followups"][0]["state"] == "open", "linked the issue")
        issue = desk.github.issue("acme/shop", number)
        assert issue.labels == ["incident", first, second]
        for incident_id in (first, second):
            await desk.resolve(incident_id)
            await desk.until(incident_id, lambda s: s["status"] == "resolved", "resolved")

        desk.github.set_state("acme/shop", number, "closed", by="alice-gh")
        delivered = await desk.webhook("closed", "acme/shop", number)

        assert delivered.status_code == 200, delivered.text
        assert delivered.json()["incidents"] == [first, second]
        for incident_id in (first, second):
            state = await desk.until(incident_id, lambda s: s["status"] == "closed", "closed")
            assert state["followups"][0]["state"] == "closed"
