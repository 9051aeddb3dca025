"""Silences over HTTP: set by people and admins (never integration tokens), recorded as
set by the credential's person whatever the body says, refused with 422 saying what is
wrong; ending one early tells the pages it held (recorded instead of signalling Temporal)."""

from __future__ import annotations

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
from activities.adapters.sql_schema import silence_holds, silences
from activities.adapters.sql_silences import SqlSilences
from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.credentials import Authenticator
from starters.http.app import create_app
from tests.fakes.credentials import CountingHasher
from worker.config import ConfigFile

TOKEN = "bootstrap-token-123"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


class Signals:
    """Stands in for Temporal: records the signals sent to workflows."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def get_workflow_handle(self, workflow_id: str, **_: Any) -> Any:
        sent = self.sent

        class Handle:
            async def signal(self, name: str, arg: Any) -> None:
                sent.append((workflow_id, name, arg))

        return Handle()


@dataclass
class Api:
    http: httpx.AsyncClient
    store: SqlStore
    signals: Signals

    async def token(self, **fields: object) -> dict[str, str]:
        body = {"name": "laptop", **fields}
        created = await self.http.post("/api/tokens", json=body, headers=BOOT)
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """One app and one SQLite store for the module: migrating a store is most of a test's
    time. Each test starts from no silences (see :func:`api`)."""
    folder = tmp_path_factory.mktemp("silences")
    config = folder / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    signals = Signals()
    tocsin = TocsinClient(cast(Client, signals), ConfigFile(config), "unit")
    store = SqlStore(f"sqlite:///{folder / 'tocsin.db'}")
    app = create_app(TOKEN, tocsin, store=store)
    app.state.authenticator = Authenticator(TOKEN, SqlCredentials(store), hasher=CountingHasher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            yield Api(http, store, signals)


@pytest.fixture
async def api(served: Api) -> Api:
    """The module's app with no silences, no holds and no signals sent yet."""
    await served.store.migrate()
    async with served.store.engine.begin() as conn:
        await conn.execute(silence_holds.delete())
        await conn.execute(silences.delete())
    served.signals.sent.clear()
    return served


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


class TestSetting:
    """A person sets a silence as themselves; the list shows it in force."""

    async def test_set_by_the_tokens_person_not_the_body(self, api: Api) -> None:
        alice = await api.token(kind="person", person="alice")
        body = {"services": ["web"], "reason": "deploy", "duration": "2h", "created_by": "bob"}
        refused = await api.http.post("/api/silences", json=body, headers=alice)
        assert refused.status_code == 422  # no such field: the setter is never a body field
        del body["created_by"]
        made = await api.http.post("/api/silences", json=body, headers=alice)
        assert made.status_code == 201, made.text
        silence = made.json()
        assert (silence["created_by"], silence["created_via"]) == ("alice", "token laptop")
        listed = await api.http.get("/api/silences", headers=alice)
        assert [s["id"] for s in listed.json()] == [silence["id"]]

    async def test_an_admin_is_recorded_as_its_credential(self, api: Api) -> None:
        body = {"matchers": ['alertname=~"Disk.*"'], "reason": "disks", "duration": "1h"}
        made = await api.http.post("/api/silences", json=body, headers=BOOT)
        assert made.status_code == 201, made.text
        assert made.json()["created_by"] == "bootstrap admin"

    async def test_integration_tokens_may_not(self, api: Api) -> None:
        ci = await api.token(kind="integration", scopes=["pages:create"])
        body = {"teams": ["delivery"], "reason": "x", "duration": "1h"}
        refused = await api.http.post("/api/silences", json=body, headers=ci)
        assert refused.status_code == 403
        assert "integration" in refused.json()["detail"]


class TestBadInput:
    """Every refusal is 422 and says what was wrong."""

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"services": ["web"], "reason": "x"}, "needs an end"),
            ({"services": ["web"], "reason": "x", "ends_at": later(hours=-1)}, "in the past"),
            ({"services": ["web"], "reason": "x", "duration": "8d"}, "at most 1w"),
            ({"services": ["web"], "reason": "x", "duration": "99999999d"}, "at most 1w"),
            (
                {
                    "teams": ["ops"],
                    "reason": "x",
                    "starts_at": "9999-12-31T23:00Z",
                    "duration": "2h",
                },
                "after the year 9999",
            ),
            ({"reason": "x", "duration": "1h"}, "services, teams and/or matchers"),
            ({"services": ["nope"], "reason": "x", "duration": "1h"}, "unknown service 'nope'"),
            ({"matchers": ["a=~("], "reason": "x", "duration": "1h"}, "bad regex"),
            ({"teams": ["delivery"], "duration": "1h"}, "reason"),
            ({"teams": ["delivery"], "reason": "x", "ends_at": "2030-01-01T00:00"}, "timezone"),
        ],
    )
    async def test_refused(self, api: Api, body: dict[str, Any], says: str) -> None:
        refused = await api.http.post("/api/silences", json=body, headers=BOOT)
        assert refused.status_code == 422, refused.text
        assert says in refused.text


class TestEnding:
    """Ending a silence early records who ended it and tells the pages it held."""

    async def test_end_tells_held_pages(self, api: Api) -> None:
        alice = await api.token(kind="person", person="alice")
        body = {"services": ["web"], "reason": "deploy", "duration": "2h"}
        silence = (await api.http.post("/api/silences", json=body, headers=alice)).json()
        await SqlSilences(api.store).hold_page(silence["id"], "page-web-1", datetime.now(UTC))
        ended = await api.http.delete(f"/api/silences/{silence['id']}", headers=alice)
        assert ended.status_code == 200, ended.text
        assert ended.json()["ended_by"] == "alice"
        assert [(p, n) for p, n, _ in api.signals.sent] == [("page-web-1", "recheck_silence")]
        assert (await api.http.get("/api/silences", headers=alice)).json() == []
        recent = await api.http.get("/api/silences", params={"all": "true"}, headers=alice)
        assert [s["id"] for s in recent.json()] == [silence["id"]]
        # Again (a retry after Temporal could not be told): as it was ended, pages told again.
        again = await api.http.delete(f"/api/silences/{silence['id']}", headers=alice)
        assert again.status_code == 200, again.text
        assert again.json()["ended_at"] == ended.json()["ended_at"]
        assert [n for _, n, _ in api.signals.sent] == ["recheck_silence"] * 2
        unknown = await api.http.delete("/api/silences/nope", headers=alice)
        assert unknown.status_code == 404
