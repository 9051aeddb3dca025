"""Heartbeat routes through ASGI: a ping by POST or GET with an intake:heartbeat token
reaches the heartbeat's workflow and says when the next is due; unknown names are 404,
missing or wrong credentials 401/403, and nothing is signalled then; ``GET /api/heartbeats``
lists every heartbeat for people and admins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from starters.errors import Rejected
from starters.heartbeats import Heartbeats
from starters.http.heartbeats import heartbeats
from tests.unit.test_http_credentials import BOOT, EXAMPLE, Api, detail, serving
from worker.config import ConfigFile
from workflows.heartbeat_models import HeartbeatPing, HeartbeatState

HEARTBEATS = """
heartbeats:
  nightly-backup: {interval: 1d, grace: 2h, team: delivery, description: pg_dump to S3}
  sync: {interval: 5m, service: gitserver}
"""
SEEN = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@dataclass
class FakeHeartbeatWorkflows:
    """Heartbeat workflows as recorded calls: ``nightly-backup`` runs, ``sync`` does not."""

    pings: list[tuple[str, HeartbeatPing]] = field(default_factory=list)

    async def ping(self, name: str, ping: HeartbeatPing) -> None:
        if name != "nightly-backup":
            raise Rejected(f"heartbeat {name} is not running yet: the worker starts it")
        self.pings.append((name, ping))

    async def get_state(self, name: str) -> HeartbeatState:
        if name != "nightly-backup":
            raise Rejected(f"heartbeat {name} is not running yet")
        return HeartbeatState(
            name=name,
            status="overdue",
            team="delivery",
            interval=timedelta(days=1),
            last_seen=SEEN,
            next_due=SEEN + timedelta(days=1),
            overdue_at=SEEN + timedelta(days=1, hours=2),
            page_id="heartbeat-nightly-backup",
        )


@dataclass
class Beats:
    api: Api
    workflows: FakeHeartbeatWorkflows

    async def integration(self, *scopes: str) -> dict[str, str]:
        _, headers = await self.api.token(kind="integration", scopes=list(scopes))
        return headers


@pytest.fixture
async def beats(tmp_path: Path) -> AsyncIterator[Beats]:
    config = tmp_path / "heartbeats.yaml"
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(yaml.safe_load(HEARTBEATS))
    config.write_text(yaml.safe_dump(data))
    workflows = FakeHeartbeatWorkflows()
    async with serving(tmp_path) as api:
        api.app.dependency_overrides[heartbeats] = lambda: Heartbeats(workflows, ConfigFile(config))
        yield Beats(api, workflows)


class TestPing:
    """A job pings its heartbeat with an integration token of scope intake:heartbeat."""

    @pytest.mark.parametrize("method", ["POST", "GET"])
    async def test_ping_reaches_the_workflow(self, beats: Beats, method: str) -> None:
        headers = await beats.integration("intake:heartbeat")
        before = datetime.now(UTC)
        response = await beats.api.http.request(
            method, "/webhooks/heartbeat/nightly-backup", headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "nightly-backup"
        assert body["interval"] == "1d"
        received = datetime.fromisoformat(body["received_at"])
        assert received >= before
        assert datetime.fromisoformat(body["next_due"]) == received + timedelta(days=1)
        assert datetime.fromisoformat(body["overdue_at"]) == received + timedelta(days=1, hours=2)
        [(name, ping)] = beats.workflows.pings
        assert name == "nightly-backup"
        assert ping.by == "integration t"

    async def test_any_body_is_ignored(self, beats: Beats) -> None:
        headers = await beats.integration("intake:heartbeat")
        response = await beats.api.http.post(
            "/webhooks/heartbeat/nightly-backup", content=b"backup done", headers=headers
        )
        assert response.status_code == 200, response.text

    async def test_unknown_heartbeat_is_404(self, beats: Beats) -> None:
        headers = await beats.integration("intake:heartbeat")
        response = await beats.api.http.post("/webhooks/heartbeat/nightly-bakup", headers=headers)
        assert response.status_code == 404
        assert detail(response) == (
            "no heartbeat 'nightly-bakup' in the config (heartbeats: nightly-backup, sync)"
        )
        assert beats.workflows.pings == []

    async def test_not_running_is_503(self, beats: Beats) -> None:
        headers = await beats.integration("intake:heartbeat")
        response = await beats.api.http.get("/webhooks/heartbeat/sync", headers=headers)
        assert response.status_code == 503
        assert "not running yet" in detail(response)

    async def test_without_token_401(self, beats: Beats) -> None:
        for headers in ({}, {"Authorization": "Bearer tocsin_wrong_wrong"}):
            response = await beats.api.http.get(
                "/webhooks/heartbeat/nightly-backup", headers=headers
            )
            assert response.status_code == 401
        # The name is not revealed to a caller without credentials either.
        response = await beats.api.http.get("/webhooks/heartbeat/nope")
        assert response.status_code == 401
        assert beats.workflows.pings == []

    async def test_other_tokens_403(self, beats: Beats) -> None:
        others = [
            await beats.integration("intake:events"),
            (await beats.api.token(person="alice"))[1],
            BOOT,
        ]
        for headers in others:
            response = await beats.api.http.post(
                "/webhooks/heartbeat/nightly-backup", headers=headers
            )
            assert response.status_code == 403, response.text
            assert detail(response).endswith("it needs scope intake:heartbeat")
        assert beats.workflows.pings == []


class TestList:
    """People and admins see every heartbeat; integration tokens may not."""

    async def test_lists_every_heartbeat(self, beats: Beats) -> None:
        _, alice = await beats.api.token(person="alice")
        response = await beats.api.http.get("/api/heartbeats", headers=alice)
        assert response.status_code == 200, response.text
        backup, sync = response.json()
        assert (backup["name"], backup["status"], backup["page_id"]) == (
            "nightly-backup",
            "overdue",
            "heartbeat-nightly-backup",
        )
        assert datetime.fromisoformat(backup["last_seen"]) == SEEN
        assert (sync["name"], sync["status"], sync["service"], sync["interval"]) == (
            "sync",
            "unknown",
            "gitserver",
            "5m",
        )

    async def test_integration_token_refused(self, beats: Beats) -> None:
        headers = await beats.integration("intake:heartbeat")
        response = await beats.api.http.get("/api/heartbeats", headers=headers)
        assert response.status_code == 403
