"""``GET /api/pages/{id}/timeline`` over a page that continued as new: the entries it
archived and those it holds, read back as one timeline through the API (same bearer
token as every /api route)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starters.api import TocsinClient
from starters.http.app import create_app
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from tests.workflows.test_page_months import CONFIG, ask, deliver
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.models import Alert, AlertBatch, PageInput, PageState
from workflows.page import PageWorkflow

TOKEN = "timeline-test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 300
DELIVERIES = 900


@dataclass
class Served:
    page_id: str
    handle: WorkflowHandle[PageWorkflow, PageState]
    api: httpx.AsyncClient
    app_without_store: FastAPI


def alert(n: int) -> list[Alert]:
    """Delivery ``n``: alert ``n`` fires, the one of the burst before resolves."""
    fired = [Alert(fingerprint=f"n{n}", status="firing", summary=f"n{n} on gitserver")]
    if n <= 100:
        return fired
    return [*fired, Alert(fingerprint=f"n{n - 100}", status="resolved", summary="gone")]


@pytest.fixture(scope="module")
async def served(
    time_skipping_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """A page that took 900 deliveries with a 300-event history limit, and the API on it
    (one for the module: the tests only read)."""
    config = tmp_path_factory.mktemp("timeline") / "tocsin.yaml"
    config.write_text(CONFIG)
    store = MemoryStore()
    task_queue = f"timeline-{uuid.uuid4()}"
    client = time_skipping_env.client
    async with build_worker(
        client,
        Settings(),
        ConfigFile(config),
        store=store,
        notifiers={"console": RecordingNotifier()},
        task_queue=task_queue,
    ):
        page_id = f"tl-{uuid.uuid4().hex[:8]}"
        await client.start_workflow(
            PageWorkflow.run,
            PageInput(
                key=page_id,
                team="delivery",
                summary="DiskFull",
                source="alertmanager",
                history_limit=LIMIT,
            ),
            id=f"page-{page_id}",
            task_queue=task_queue,
            start_signal="receive_alerts",
            start_signal_args=[AlertBatch(source="alertmanager", alerts=alert(0))],
        )
        handle = client.get_workflow_handle_for(PageWorkflow.run, f"page-{page_id}")
        # Alerts that reach a page before it has opened are counted in its opening line,
        # not listed one by one: wait for it, so every delivery has its own entry.
        await ask(handle, lambda s: bool(s.timeline))
        for first in range(1, DELIVERIES - 1, 100):
            last = min(first + 100, DELIVERIES - 1)
            await deliver(handle, [alert(n) for n in range(first, last)], LIMIT)
        # Alone, so the page has taken every delivery once it shows this one.
        await deliver(handle, [alert(DELIVERIES - 1)[:1]], LIMIT)
        await ask(handle, lambda s: s.timeline[-1].text.startswith(f"Alert: n{DELIVERIES - 1}"))
        tocsin = TocsinClient(client, ConfigFile(config), task_queue)
        app = create_app(TOKEN, tocsin, store=store)
        without = create_app(TOKEN, tocsin, store=None)
        async with app.router.lifespan_context(app), without.router.lifespan_context(without):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as api:
                yield Served(page_id, handle, api, without)
        await handle.terminate("test finished")


async def timeline(api: httpx.AsyncClient, page_id: str, **params: int) -> dict[str, Any]:
    response = await api.get(f"/api/pages/{page_id}/timeline", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestPageTimeline:
    async def test_whole_timeline_archived_then_held(self, served: Served) -> None:
        """Paging from 0 reads every entry once, in order: the opening, then one per
        delivery, across the archive and the page."""
        entries: list[dict[str, Any]] = []
        while True:
            body = await timeline(served.api, served.page_id, offset=len(entries), limit=1000)
            entries += body["entries"]
            if len(entries) >= body["total"]:
                break
        state = await ask(served.handle, lambda s: True)

        assert state.continued >= 2
        assert 0 < body["archived"] == state.timeline_archived
        assert body["total"] == len(entries)
        assert entries[0]["kind"] == "triggered"
        # A burst's deliveries arrive in any order; bursts in theirs.
        deliveries = [
            int(e["text"].split(" on ")[0][8:])
            for e in entries
            if e["kind"] == "alert"
            and e["text"].endswith(" firing)")
            and " resolved (" not in e["text"]
        ]
        assert sorted(deliveries) == list(range(1, DELIVERIES))
        bursts = [(n - 1) // 100 for n in deliveries]
        assert bursts == sorted(bursts)
        assert entries[-1]["text"] == state.timeline[-1].text

    async def test_a_slice_across_the_archive_and_the_page(self, served: Served) -> None:
        """Ten entries around the first one the page holds: five stored, five held."""
        whole = await timeline(served.api, served.page_id, offset=0, limit=1000)
        archived = whole["archived"]
        everything = (await timeline(served.api, served.page_id, offset=0, limit=1000))["entries"]
        everything += (await timeline(served.api, served.page_id, offset=1000, limit=1000))[
            "entries"
        ]

        body = await timeline(served.api, served.page_id, offset=archived - 5, limit=10)

        assert body["offset"] == archived - 5
        assert body["entries"] == everything[archived - 5 : archived + 5]
        assert body["total"] == whole["total"]

    async def test_needs_the_api_token(self, served: Served) -> None:
        response = await served.api.get(f"/api/pages/{served.page_id}/timeline")

        assert response.status_code == 401

    @pytest.mark.parametrize("page_id", ["no-such-page", "not a page id"])
    async def test_unknown_page(self, served: Served, page_id: str) -> None:
        response = await served.api.get(f"/api/pages/{page_id}/timeline", headers=AUTH)

        assert response.status_code == 404

    async def test_without_the_store_only_the_held_part(self, served: Served) -> None:
        """A process without the store answers what the page holds, and 503 for the rest."""
        transport = httpx.ASGITransport(app=served.app_without_store)
        async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as api:
            archived = (await timeline(served.api, served.page_id))["archived"]
            held = await timeline(api, served.page_id, offset=archived)
            refused = await api.get(f"/api/pages/{served.page_id}/timeline", headers=AUTH)

        assert held["entries"]
        assert refused.status_code == 503


class TestArchivedAlerts:
    async def test_resolved_alerts_held_or_archived(self, served: Served) -> None:
        """Every alert is either held by the page or, resolved, archived; none twice."""
        archived: list[dict[str, Any]] = []
        while True:
            response = await served.api.get(
                f"/api/pages/{served.page_id}/alerts/archived",
                params={"offset": len(archived), "limit": 1000},
                headers=AUTH,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            archived += body["alerts"]
            if len(archived) >= body["total"]:
                break
        held: list[dict[str, Any]] = []
        while True:
            response = await served.api.get(
                f"/api/pages/{served.page_id}/alerts",
                params={"offset": len(held), "limit": 1000},
                headers=AUTH,
            )
            chunk = response.json()
            held += chunk["alerts"]
            if len(held) >= chunk["total"]:
                break
        state = await ask(served.handle, lambda s: True)

        assert 0 < len(archived) == body["archived"] == chunk["archived"] == state.alerts_archived
        assert {a["status"] for a in archived} == {"resolved"}
        fingerprints = [a["fingerprint"] for a in [*archived, *held]]
        assert sorted(fingerprints) == sorted(f"n{n}" for n in range(DELIVERIES))
        assert state.alerts_total == len(fingerprints)

    async def test_without_the_store(self, served: Served) -> None:
        transport = httpx.ASGITransport(app=served.app_without_store)
        async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as api:
            refused = await api.get(f"/api/pages/{served.page_id}/alerts/archived", headers=AUTH)

        assert refused.status_code == 503
