"""One-click link routes through ASGI: a GET confirms and changes nothing, the POST acts as
the link's person, and a bad, expired or stale link gets a page saying why (never a 5xx)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.service import RPCError, RPCStatusCode

from starters.api import TocsinClient
from starters.errors import IncidentNotFound, PageNotFound, Rejected
from starters.http import pages
from starters.http.app import create_app
from starters.links import LinkAction, LinkGrant, LinkKey, SignedLinks, SubjectKind
from worker.config import ConfigFile
from workflows.incident_models import IncidentState
from workflows.models import PageActionInput, PageState, PageStatus

KEY = "route-test-link-key-0123456789abcdef"
BASE = "http://tocsin.test"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
NOW = datetime.now(UTC)


@dataclass
class FakeTocsin:
    """The typed client's page and incident calls over in-memory pages, with the page
    workflow's refusals; ``actions`` records what was done, and as whom."""

    config: ConfigFile
    pages: dict[str, PageState] = field(default_factory=dict)
    actions: list[tuple[str, str, str]] = field(default_factory=list)
    down: bool = False

    def add(self, page_id: str, summary: str = "Database is down") -> PageState:
        self.pages[page_id] = PageState(
            id=page_id,
            workflow_id=f"page-{page_id}",
            team="delivery",
            summary=summary,
            created_at=NOW,
            step=1,
            step_count=3,
        )
        return self.pages[page_id]

    async def get_page(self, page_id: str) -> PageState:
        if self.down:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if page_id not in self.pages:
            raise PageNotFound(f"no page {page_id!r}")
        return self.pages[page_id]

    async def get_incident(self, incident_id: str) -> IncidentState:
        if incident_id != "INC-7":
            raise IncidentNotFound(f"no incident {incident_id!r}")
        return IncidentState(
            id="INC-7",
            title="Checkout is down",
            severity="critical",
            team="delivery",
            declared_by="alice",
            declared_at=NOW,
            lead="bob",
        )

    async def acknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        by = action.by
        page = await self.get_page(page_id)
        if page.status == PageStatus.acknowledged:
            raise Rejected(f"page {page_id} is already acknowledged by {page.acknowledged_by}")
        page.status, page.acknowledged_by = PageStatus.acknowledged, by
        self.actions.append(("acknowledge", page_id, action.actor))
        return page

    async def escalate(self, page_id: str, action: PageActionInput) -> PageState:
        page = await self.get_page(page_id)
        if page.status != PageStatus.triggered:
            raise Rejected(f"page {page_id} is {page.status.value}: nothing to escalate")
        page.step += 1
        self.actions.append(("escalate", page_id, action.actor))
        return page


LINKS = SignedLinks(LinkKey(KEY), BASE)


def app_with(fake: FakeTocsin, links: SignedLinks | None = LINKS) -> FastAPI:
    app = create_app("unit-test-token", cast(TocsinClient, fake), links=links)
    app.dependency_overrides[pages.tocsin] = lambda: fake
    return app


@pytest.fixture
def fake() -> FakeTocsin:
    tocsin = FakeTocsin(ConfigFile(EXAMPLE))
    tocsin.add("db-down")
    return tocsin


@pytest.fixture
async def http(fake: FakeTocsin) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with(fake))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def path(action: LinkAction, subject: str = "db-down", person: str = "alice") -> str:
    kind: SubjectKind = "incident" if subject.startswith("INC-") else "page"
    return LINKS.link(kind, subject, action, person).removeprefix(BASE)


def expired_path(action: LinkAction = "acknowledge") -> str:
    past = LinkGrant("page", "db-down", action, "alice", NOW - timedelta(minutes=1))
    return "/a/" + LinkKey(KEY).sign(past)


class TestConfirm:
    """A GET shows the page, what the action does and a button that POSTs: it never acts."""

    async def test_acknowledge_link(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        response = await http.get(path("acknowledge"))

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert '<form method="post">' in response.text
        assert "Acknowledge as Alice Example" in response.text
        assert "Database is down" in response.text
        assert "stops the escalation" in response.text
        assert fake.actions == []
        assert fake.pages["db-down"].status == PageStatus.triggered

    async def test_escalate_link(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        response = await http.get(path("escalate", person="bob"))

        assert response.status_code == 200
        assert "Escalate now as Bob Builder" in response.text
        assert fake.actions == []

    async def test_headers(self, http: httpx.AsyncClient) -> None:
        """Nobody caches, frames or indexes the page; no cookie is involved."""
        response = await http.get(path("acknowledge"))

        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "form-action 'self'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in response.headers

    async def test_page_moved_on(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        """A page already acknowledged shows who did it, without a button (409)."""
        page = fake.pages["db-down"]
        page.status, page.acknowledged_by = PageStatus.acknowledged, "bob"

        actions: list[LinkAction] = ["acknowledge", "escalate"]
        for action in actions:
            response = await http.get(path(action))
            assert response.status_code == 409
            assert "page db-down is already acknowledged by bob" in response.text
            assert "<form" not in response.text

    async def test_summary_escaped(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        fake.add("xss", summary="<script>alert(1)</script>")

        response = await http.get(path("acknowledge", subject="xss"))

        assert "<script>" not in response.text
        assert "&lt;script&gt;" in response.text


class TestAct:
    """The POST acts through the client as the link's person; the workflow decides."""

    async def test_acknowledge(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        response = await http.post(path("acknowledge"))

        assert response.status_code == 200
        assert "Acknowledged by alice" in response.text
        assert fake.actions == [("acknowledge", "db-down", "alice (signed link)")]

    async def test_escalate_as_bob(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        response = await http.post(path("escalate", person="bob"))

        assert response.status_code == 200
        assert "Escalated by bob" in response.text
        assert fake.actions == [("escalate", "db-down", "bob (signed link)")]

    async def test_replay_refused_with_the_workflows_reason(
        self, http: httpx.AsyncClient, fake: FakeTocsin
    ) -> None:
        """The same link POSTed again after the page moved on: 409, the refusal shown."""
        await http.post(path("acknowledge"))

        again = await http.post(path("acknowledge", person="bob"))

        assert again.status_code == 409
        assert "page db-down is already acknowledged by alice" in again.text
        assert "Nothing was changed" in again.text
        assert fake.actions == [("acknowledge", "db-down", "alice (signed link)")]

    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_open_only_shows(
        self, http: httpx.AsyncClient, fake: FakeTocsin, method: str
    ) -> None:
        response = await http.request(method, path("open"))

        assert response.status_code == 200
        assert "Database is down" in response.text
        assert "triggered, step 1 of 3" in response.text
        assert "<form" not in response.text
        assert fake.actions == []

    async def test_open_incident(self, http: httpx.AsyncClient) -> None:
        response = await http.get(path("open", subject="INC-7"))

        assert response.status_code == 200
        assert "INC-7: Checkout is down" in response.text
        assert "critical" in response.text


class TestRefused:
    """Bad links get an HTML page saying why, with the right status; nothing changes."""

    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_expired(self, http: httpx.AsyncClient, fake: FakeTocsin, method: str) -> None:
        response = await http.request(method, expired_path())

        assert response.status_code == 410
        assert "This link has expired" in response.text
        assert "tocsin page ack db-down" in response.text
        assert fake.actions == []

    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_tampered(self, http: httpx.AsyncClient, fake: FakeTocsin, method: str) -> None:
        """Bob's link with its signature on Alice's grant... and one altered character."""
        bob = path("acknowledge", person="bob")
        alice = path("acknowledge")
        forged = alice.rsplit(".", 1)[0] + "." + bob.rsplit(".", 1)[1]
        altered = alice[:-2] + ("x" if alice[-2] != "x" else "y") + alice[-1]

        for link in (forged, altered):
            response = await http.request(method, link)
            assert response.status_code == 400
            assert "This link is not valid" in response.text
        assert fake.actions == []

    async def test_wrong_key(self, fake: FakeTocsin) -> None:
        other = SignedLinks(LinkKey("another-key-0123456789abcdef-0123"), BASE)
        transport = httpx.ASGITransport(app=app_with(fake, other))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            response = await client.post(path("acknowledge"))

        assert response.status_code == 400
        assert fake.actions == []

    @pytest.mark.parametrize(
        "token",
        [
            "x",
            "l1.",
            "l1.abc.def",
            "a/b/c",
            "%00",
            "%0A",
            "l1.a%0D%0A.b",
            "%F0%9F%92%A5",
            "l1.." + "A" * 5000,
            "é" * 30,
        ],
    )
    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_garbage(
        self, http: httpx.AsyncClient, fake: FakeTocsin, token: str, method: str
    ) -> None:
        response = await http.request(method, f"/a/{token}")

        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")
        assert fake.actions == []

    async def test_unknown_page(self, http: httpx.AsyncClient) -> None:
        response = await http.post(path("acknowledge", subject="gone"))

        assert response.status_code == 404
        assert "no page &#x27;gone&#x27;" in response.text

    async def test_unknown_incident(self, http: httpx.AsyncClient) -> None:
        response = await http.get(path("open", subject="INC-404"))

        assert response.status_code == 404

    async def test_temporal_down(self, http: httpx.AsyncClient, fake: FakeTocsin) -> None:
        fake.down = True

        response = await http.post(path("acknowledge"))

        assert response.status_code == 503
        assert "Try again" in response.text
        assert fake.actions == []

    async def test_links_off(self, fake: FakeTocsin) -> None:
        """A Tocsin without TOCSIN_LINK_KEY says its links are off (404)."""
        transport = httpx.ASGITransport(app=app_with(fake, links=None))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            response = await client.post(path("acknowledge"))

        assert response.status_code == 404
        assert "TOCSIN_LINK_KEY" in response.text
        assert fake.actions == []


class TestDescribed:
    async def test_openapi_declares_signature_auth(self, http: httpx.AsyncClient) -> None:
        """Both routes are described, with no bearer scheme and HTML answers."""
        described = (await http.get("/openapi.json")).json()["paths"]["/a/{token}"]

        assert set(described) == {"get", "post"}
        for operation in described.values():
            assert operation["security"] == []
            assert "HMAC-SHA256" in operation["description"]
            for code in ("200", "400", "404", "409", "410", "503"):
                assert "text/html" in operation["responses"][code]["content"]

    async def test_other_methods(self, http: httpx.AsyncClient) -> None:
        response = await http.delete(path("acknowledge"))

        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"
