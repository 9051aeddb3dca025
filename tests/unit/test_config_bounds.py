"""A live edit beyond a config bound: the HTTP API keeps answering from the last good config."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs
from temporalio.client import Client

from starters.api import TocsinClient
from starters.http.app import create_app
from worker.config import ConfigFile

TOKEN = "unit-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
TEAMS = "customer-support, delivery, ops, security"


class NoTemporal:
    """Stands in for the Temporal client: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the route under test used Temporal ({name})")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the shipped example, free to edit."""
    path = tmp_path / "tocsin.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
async def api(config: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app reading ``config`` live; Temporal must not be used."""
    tocsin = TocsinClient(cast(Client, NoTemporal()), ConfigFile(config), "unit")
    app: FastAPI = create_app(TOKEN, tocsin)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the file and move its mtime on so the change is seen."""
    before = path.stat().st_mtime_ns
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


class TestLiveEditBeyondBounds:
    """An out-of-bounds live edit is ignored: requests are answered, never with a 500."""

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("ack_timeout: 10m}", "ack_timeout: 99999999999w}"),
            ("ack_timeout: 10m}", "ack_timeout: 3000000d}"),
            ("repeat: 0", "repeat: 1000"),
            ("start: 2026-01-05", "start: 9999-12-31"),
            ("timezone: America/Chicago", "timezone: America"),
        ],
    )
    async def test_request_answered_from_last_good_config(
        self, api: httpx.AsyncClient, config: Path, old: str, new: str
    ) -> None:
        """A request after the edit gets its usual answer, and the edit is logged as ignored."""
        edit(config, old, new)

        with capture_logs() as logs:
            response = await api.post(
                "/api/pages", json={"team": "platform", "summary": "Disk full"}, headers=AUTH
            )

        assert response.status_code == 422
        assert response.json() == {"detail": f"unknown team 'platform' (teams: {TEAMS})"}
        assert [e["log_level"] for e in logs if e["event"] == "config change ignored"] == ["error"]

    async def test_duplicate_key_edit(self, api: httpx.AsyncClient, config: Path) -> None:
        """An edit that lists a team twice is ignored too; the API keeps its teams."""
        edit(config, "teams:\n", "teams:\n  ops: {members: [alice], escalation_policy: ops}\n")

        with capture_logs() as logs:
            response = await api.post(
                "/api/pages", json={"team": "platform", "summary": "Disk full"}, headers=AUTH
            )

        assert response.status_code == 422
        [entry] = [e for e in logs if e["event"] == "config change ignored"]
        [problem] = entry["problems"]
        assert problem.endswith("duplicate key 'ops'")
