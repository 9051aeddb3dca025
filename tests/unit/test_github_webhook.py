"""``POST /webhooks/github`` through ASGI: signatures, JSON and form-encoded bodies, ignored
events, the signals sent (to every incident an issue's labels name, and to those that
linked it by URL), and replayed deliveries acknowledged without a second signal."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.sql_store import SqlStore
from activities.errors import Unavailable
from starters.api import TocsinClient
from starters.http.app import create_app
from starters.http.github import signature
from worker.config import ConfigFile
from workflows.incident_models import IssueEvent

SECRET = "whsec-github-0123"
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@dataclass
class Handle:
    """A workflow handle that records signals, or fails like Temporal for a missing run
    (or, while ``unavailable`` counts down, like a Temporal that cannot be reached)."""

    client: StubTemporal
    workflow_id: str

    async def signal(self, name: str, arg: Any) -> None:
        await asyncio.sleep(0)  # a real signal is a network round trip: let others run
        if self.client.unavailable > 0:
            self.client.unavailable -= 1
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if self.workflow_id not in self.client.running:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        self.client.signals.append((self.workflow_id, name, arg))


@dataclass
class StubTemporal:
    """Just enough of ``temporalio.client.Client`` for the webhook: handles and signals."""

    running: set[str] = field(default_factory=lambda: {"incident-INC-42"})
    signals: list[tuple[str, str, Any]] = field(default_factory=list)
    unavailable: int = 0

    def get_workflow_handle(self, workflow_id: str) -> Handle:
        return Handle(self, workflow_id)


def issues_event(
    action: str = "closed",
    labels: tuple[str, ...] = ("incident", "INC-42"),
    repo: str = "acme/shop",
    number: int = 12,
) -> bytes:
    """An ``issues`` delivery as GitHub sends it (trimmed to the fields that matter)."""
    return json.dumps(
        {
            "action": action,
            "issue": {
                "number": number,
                "html_url": f"https://github.com/{repo}/issues/{number}",
                "state": "closed" if action == "closed" else "open",
                "title": "Canary the payment client",
                "labels": [{"id": n, "name": name} for n, name in enumerate(labels)],
            },
            "repository": {"full_name": repo, "html_url": f"https://github.com/{repo}"},
            "sender": {"login": "octocat", "type": "User"},
        }
    ).encode()


def delivered(*incidents: str, not_running: list[str] | None = None) -> dict[str, Any]:
    """The answer to a delivery that reached ``incidents``."""
    answer: dict[str, Any] = {
        "status": "delivered",
        "incident": incidents[0],
        "incidents": list(incidents),
    }
    if not_running:
        answer["not_running"] = not_running
    return answer


DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def signed(
    body: bytes, event: str = "issues", secret: str = SECRET, delivery: str | None = DELIVERY
) -> dict[str, str]:
    headers = {
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": signature(secret, body),
        "Content-Type": "application/json",
    }
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    return headers


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as client:
            yield client


@pytest.fixture
def temporal() -> StubTemporal:
    return StubTemporal()


def _app(tmp_path: Path, temporal: StubTemporal, store: Any = None) -> FastAPI:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = TocsinClient(cast(Client, temporal), ConfigFile(config), "unit")
    return create_app("api-token", tocsin, github_webhook_secret=SECRET, store=store)


@pytest.fixture
async def api(tmp_path: Path, temporal: StubTemporal) -> AsyncIterator[httpx.AsyncClient]:
    """The app without a store: every delivery is processed."""
    async for client in _client(_app(tmp_path, temporal)):
        yield client


def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'tocsin.db'}"


@pytest.fixture
async def deduped(tmp_path: Path, temporal: StubTemporal) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its SQL store (a SQLite file): deliveries seen before are not processed."""
    async for client in _client(_app(tmp_path, temporal, SqlStore(database(tmp_path)))):
        yield client


class TestSignature:
    """Only deliveries signed with the webhook's secret get through."""

    @pytest.mark.parametrize(
        "headers",
        [
            {"X-GitHub-Event": "issues"},
            {"X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=00"},
            signed(issues_event(), secret="another-secret"),
            signed(issues_event("reopened")),  # signed for another body
        ],
    )
    async def test_refused(
        self, api: httpx.AsyncClient, temporal: StubTemporal, headers: dict[str, str]
    ) -> None:
        """Missing or wrong signatures are 401 and nothing is signalled."""
        response = await api.post("/webhooks/github", content=issues_event(), headers=headers)

        assert response.status_code == 401
        assert temporal.signals == []

    async def test_not_configured(self, tmp_path: Path, temporal: StubTemporal) -> None:
        """Without GITHUB_WEBHOOK_SECRET the route says so with 503."""
        config = tmp_path / "tocsin.yaml"
        shutil.copy(EXAMPLE, config)
        tocsin = TocsinClient(cast(Client, temporal), ConfigFile(config), "unit")
        async for client in _client(create_app("api-token", tocsin)):
            body = issues_event()
            response = await client.post("/webhooks/github", content=body, headers=signed(body))
        assert response.status_code == 503
        assert "GITHUB_WEBHOOK_SECRET" in response.json()["detail"]
        assert temporal.signals == []

    async def test_ping(self, api: httpx.AsyncClient) -> None:
        """GitHub's ping when the webhook is added is answered 200."""
        body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
        response = await api.post("/webhooks/github", content=body, headers=signed(body, "ping"))

        assert response.status_code == 200


class TestIssuesEvents:
    """Closed and reopened follow-ups reach their incident; everything else is ignored."""

    @pytest.mark.parametrize(("action", "state"), [("closed", "closed"), ("reopened", "open")])
    async def test_signalled(
        self, api: httpx.AsyncClient, temporal: StubTemporal, action: str, state: str
    ) -> None:
        """The incident named by the INC label gets issue_changed with the issue's new state."""
        body = issues_event(action)
        response = await api.post("/webhooks/github", content=body, headers=signed(body))

        assert response.status_code == 200
        assert response.json() == delivered("INC-42")
        assert temporal.signals == [
            (
                "incident-INC-42",
                "issue_changed",
                IssueEvent(
                    repo="acme/shop",
                    number=12,
                    state=state,  # type: ignore[arg-type]  # parametrized literal
                    url="https://github.com/acme/shop/issues/12",
                    by="octocat",
                ),
            )
        ]

    @pytest.mark.parametrize(
        ("body", "event", "reason"),
        [
            (issues_event("labeled"), "issues", "action 'labeled'"),
            (issues_event(labels=("incident",)), "issues", "no INC-<n> label"),
            (issues_event(labels=("INC-1", "INC-2")), "issues", "INC-1, INC-2 are not running"),
            (issues_event(labels=("INC-99",)), "issues", "INC-99 is not a running incident"),
            (b'{"action": "opened"}', "pull_request", "pull_request events are not used"),
        ],
    )
    async def test_ignored(
        self,
        api: httpx.AsyncClient,
        temporal: StubTemporal,
        body: bytes,
        event: str,
        reason: str,
    ) -> None:
        """Events Tocsin does not track are 202 with the reason, never an error."""
        response = await api.post("/webhooks/github", content=body, headers=signed(body, event))

        assert response.status_code == 202
        assert response.json()["status"] == "ignored"
        assert reason in response.json()["reason"]
        assert temporal.signals == []

    async def test_not_an_issues_payload(self, api: httpx.AsyncClient) -> None:
        body = b'{"action": "closed"}'
        response = await api.post("/webhooks/github", content=body, headers=signed(body))

        assert response.status_code == 400


def form(payload: bytes) -> bytes:
    """The body GitHub posts when the webhook's content type is form."""
    return urlencode({"payload": payload.decode()}).encode()


def form_signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {**signed(body, secret=secret), "Content-Type": "application/x-www-form-urlencoded"}


class TestFormEncoded:
    """GitHub's form content type: the event in ``payload``, signed over the form body."""

    async def test_delivered(self, api: httpx.AsyncClient, temporal: StubTemporal) -> None:
        """The same event as JSON reaches the same incident with the same change."""
        body = form(issues_event())
        assert body.startswith(b"payload=%7B%22action%22")

        response = await api.post("/webhooks/github", content=body, headers=form_signed(body))

        assert response.status_code == 200
        assert response.json() == delivered("INC-42")
        [(workflow_id, name, change)] = temporal.signals
        assert (workflow_id, name) == ("incident-INC-42", "issue_changed")
        assert (change.repo, change.number, change.state) == ("acme/shop", 12, "closed")

    async def test_charset_parameter(self, api: httpx.AsyncClient, temporal: StubTemporal) -> None:
        body = form(issues_event())
        headers = {
            **form_signed(body),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        }

        response = await api.post("/webhooks/github", content=body, headers=headers)

        assert response.json() == delivered("INC-42")

    @pytest.mark.parametrize(
        "headers",
        [
            # signed over the JSON inside, not over the form as sent
            {**form_signed(issues_event()), "Content-Type": "application/x-www-form-urlencoded"},
            form_signed(form(issues_event()), secret="another-secret"),
        ],
        ids=["signature-of-the-json", "other-secret"],
    )
    async def test_wrong_signature(
        self, api: httpx.AsyncClient, temporal: StubTemporal, headers: dict[str, str]
    ) -> None:
        """A form body whose signature is not the form's own is 401, and nothing is sent."""
        body = form(issues_event())

        response = await api.post("/webhooks/github", content=body, headers=headers)

        assert response.status_code == 401
        assert temporal.signals == []

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            (b"", "no payload field"),
            (b"zen=hello", "no payload field"),
            (b"payload=", "payload field is empty"),
            (form(issues_event()) + b"&" + form(issues_event()), "2 payload fields"),
            (form(issues_event()) + b"&oops", "not URL-encoded name=value pairs"),
            (b"payload=%ff%fe", "not percent-encoded UTF-8"),
            (b"payload=\xff", "not UTF-8 text"),
            (b"&".join([b"x=1"] * 17), "more than 16 fields"),
            (b"payload=" + b"%5B" * 40 + b"%5D" * 40, "nested more than"),
        ],
        ids=[
            "empty",
            "no-payload",
            "empty-payload",
            "two-payloads",
            "bare-field",
            "bad-percent",
            "raw-bytes",
            "flood",
            "deep",
        ],
    )
    async def test_malformed(
        self, api: httpx.AsyncClient, temporal: StubTemporal, body: bytes, detail: str
    ) -> None:
        """A signed form that carries no single event is 400 saying what is wrong."""
        response = await api.post("/webhooks/github", content=body, headers=form_signed(body))

        assert response.status_code == 400
        assert detail in response.json()["detail"]
        assert temporal.signals == []

    async def test_payload_not_an_issues_event(self, api: httpx.AsyncClient) -> None:
        body = form(b'{"action": "closed"}')

        response = await api.post("/webhooks/github", content=body, headers=form_signed(body))

        assert response.status_code == 400
        assert response.json()["detail"] == "not a GitHub issues event"

    async def test_ping(self, api: httpx.AsyncClient) -> None:
        """GitHub's ping in a form webhook is answered too."""
        body = form(b'{"zen": "Design for failure.", "hook_id": 1}')
        headers = {**form_signed(body), "X-GitHub-Event": "ping"}

        response = await api.post("/webhooks/github", content=body, headers=headers)

        assert response.json() == {"status": "pong"}


class TestSeveralIncidents:
    """An issue labelled for two incidents reaches both; one not running stops nobody."""

    async def test_two_labels_two_incidents(
        self, api: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        temporal.running.add("incident-INC-7")
        body = issues_event(labels=("incident", "INC-42", "INC-7"))

        response = await api.post("/webhooks/github", content=body, headers=signed(body))

        assert response.status_code == 200
        assert response.json() == delivered("INC-7", "INC-42")
        assert [(w, n) for w, n, _ in temporal.signals] == [
            ("incident-INC-7", "issue_changed"),
            ("incident-INC-42", "issue_changed"),
        ]
        assert temporal.signals[0][2] == temporal.signals[1][2]

    async def test_one_not_running(self, api: httpx.AsyncClient, temporal: StubTemporal) -> None:
        """The running incident gets its signal; the answer names the one that is not running."""
        body = issues_event(labels=("INC-3", "INC-42"))

        response = await api.post("/webhooks/github", content=body, headers=signed(body))

        assert response.status_code == 200
        assert response.json() == delivered("INC-42", not_running=["INC-3"])
        assert [w for w, _, _ in temporal.signals] == ["incident-INC-42"]

    async def test_recorded_once_for_all(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """A redelivery of a two-incident event signals neither again."""
        temporal.running.add("incident-INC-7")
        body = issues_event(labels=("INC-7", "INC-42"))

        first = await post(deduped, body)
        again = await post(deduped, body)

        assert first.json() == delivered("INC-7", "INC-42")
        assert again.json() == {"status": "duplicate", "delivery": DELIVERY}
        assert len(temporal.signals) == 2

    async def test_temporal_down_after_the_first(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """Temporal lost after one signal: 503, and the redelivery reaches both incidents."""
        temporal.running.add("incident-INC-7")
        body = issues_event(labels=("INC-7", "INC-42"))
        real_signal = Handle.signal
        calls = 0

        async def flaky(handle: Handle, name: str, arg: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
            await real_signal(handle, name, arg)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Handle, "signal", flaky)
            failed = await post(deduped, body)
        redelivered = await post(deduped, body)

        assert failed.status_code == 503
        assert redelivered.json() == delivered("INC-7", "INC-42")
        assert [w for w, _, _ in temporal.signals] == [
            "incident-INC-7",
            "incident-INC-7",
            "incident-INC-42",
        ]


@dataclass
class Linked:
    client: httpx.AsyncClient
    store: SqlStore


@pytest.fixture
async def linked(tmp_path: Path, temporal: StubTemporal) -> AsyncIterator[Linked]:
    """The app with its SQL store, where incidents record the issues they link by URL."""
    store = SqlStore(database(tmp_path))
    async for client in _client(_app(tmp_path, temporal, store)):
        yield Linked(client, store)


class BrokenLinks:
    """A store that remembers deliveries but cannot read the linked issues."""

    async def remember_delivery(self, source: str, delivery_id: str, at: datetime) -> bool:
        return True

    async def forget_delivery(self, source: str, delivery_id: str) -> None:
        return None

    async def remember_followup_issue(
        self, repo: str, number: int, incident_id: str, at: datetime
    ) -> None:
        raise Unavailable("incident log (remember follow-up issue): disk I/O error")

    async def incidents_for_issue(self, repo: str, number: int) -> list[str]:
        raise Unavailable("incident log (find follow-up issue): disk I/O error")


T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class TestLinkedByUrl:
    """An issue an incident linked by URL reaches it by repository and number, label or not."""

    async def test_without_label(self, linked: Linked, temporal: StubTemporal) -> None:
        """The label was never added (or was removed): the store still names the incident."""
        await linked.store.remember_followup_issue("acme/shop", 12, "INC-42", T0)
        body = issues_event(labels=("bug",))

        response = await post(linked.client, body)

        assert response.status_code == 200
        assert response.json() == delivered("INC-42")
        [(workflow_id, _, change)] = temporal.signals
        assert workflow_id == "incident-INC-42"
        assert (change.repo, change.number, change.state) == ("acme/shop", 12, "closed")

    async def test_form_encoded(self, linked: Linked, temporal: StubTemporal) -> None:
        await linked.store.remember_followup_issue("acme/shop", 12, "INC-42", T0)
        body = form(issues_event("reopened", labels=()))

        response = await linked.client.post(
            "/webhooks/github", content=body, headers=form_signed(body)
        )

        assert response.json() == delivered("INC-42")
        assert temporal.signals[0][2].state == "open"

    async def test_repo_in_another_case(self, linked: Linked, temporal: StubTemporal) -> None:
        """A URL pasted as Acme/Shop is the repository GitHub names acme/shop."""
        await linked.store.remember_followup_issue("Acme/Shop", 12, "INC-42", T0)

        response = await post(linked.client, issues_event(labels=()))

        assert response.json() == delivered("INC-42")

    async def test_label_and_link_signal_once(self, linked: Linked, temporal: StubTemporal) -> None:
        """Labelled and linked by the same incident: one signal."""
        await linked.store.remember_followup_issue("acme/shop", 12, "INC-42", T0)

        response = await post(linked.client, issues_event(labels=("INC-42",)))

        assert response.json() == delivered("INC-42")
        assert len(temporal.signals) == 1

    async def test_labelled_for_one_linked_by_another(
        self, linked: Linked, temporal: StubTemporal
    ) -> None:
        """INC-7's own issue that INC-42 linked (its label since removed) reaches both."""
        temporal.running.add("incident-INC-7")
        await linked.store.remember_followup_issue("acme/shop", 12, "INC-42", T0)

        response = await post(linked.client, issues_event(labels=("incident", "INC-7")))

        assert response.json() == delivered("INC-7", "INC-42")

    @pytest.mark.parametrize(
        ("repo", "number"), [("acme/docs", 12), ("acme/shop", 13)], ids=["repo", "number"]
    )
    async def test_other_issue_ignored(
        self, linked: Linked, temporal: StubTemporal, repo: str, number: int
    ) -> None:
        """Another repository's issue 12, or another issue of the repository: 202 with why."""
        await linked.store.remember_followup_issue("acme/shop", 12, "INC-42", T0)

        response = await post(linked.client, issues_event(labels=(), repo=repo, number=number))

        assert response.status_code == 202
        assert response.json() == {
            "status": "ignored",
            "reason": "the issue has no INC-<n> label and no incident linked it as a follow-up",
        }
        assert temporal.signals == []

    async def test_linking_incident_not_running(
        self, linked: Linked, temporal: StubTemporal
    ) -> None:
        await linked.store.remember_followup_issue("acme/shop", 12, "INC-5", T0)

        response = await post(linked.client, issues_event(labels=()))

        assert response.status_code == 202
        assert response.json()["reason"] == "INC-5 is not a running incident"

    async def test_store_down_refuses(self, tmp_path: Path, temporal: StubTemporal) -> None:
        """Without the record of links the event is refused (503), not half delivered."""
        async for client in _client(_app(tmp_path, temporal, BrokenLinks())):
            response = await post(client, issues_event())

        assert response.status_code == 503
        assert "redeliver" in response.json()["detail"]
        assert temporal.signals == []


class BrokenDeliveryLog:
    """A store whose database is down."""

    async def remember_delivery(self, source: str, delivery_id: str, at: datetime) -> bool:
        raise Unavailable("incident log (remember delivery): OperationalError: disk I/O error")

    async def forget_delivery(self, source: str, delivery_id: str) -> None:
        raise Unavailable("incident log (forget delivery): OperationalError: disk I/O error")


async def post(client: httpx.AsyncClient, body: bytes, **headers: Any) -> httpx.Response:
    return await client.post("/webhooks/github", content=body, headers=signed(body, **headers))


class TestReplay:
    """A delivery GitHub sends again (same X-GitHub-Delivery) is acknowledged, not processed."""

    async def test_same_delivery_twice_signals_once(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """The second copy is 200 "duplicate" with its id, and nothing is signalled again."""
        first = await post(deduped, issues_event())
        second = await post(deduped, issues_event())

        assert first.json() == delivered("INC-42")
        assert second.status_code == 200
        assert second.json() == {"status": "duplicate", "delivery": DELIVERY}
        assert len(temporal.signals) == 1

    async def test_other_deliveries_are_processed(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """Deliveries with other ids (the same issue closed, reopened, closed) all count."""
        for n, action in enumerate(["closed", "reopened", "closed"]):
            response = await post(deduped, issues_event(action), delivery=f"d-{n}")
            assert response.json()["status"] == "delivered"

        assert [s[2].state for s in temporal.signals] == ["closed", "open", "closed"]

    async def test_concurrent_identical_deliveries_signal_once(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """Two copies arriving together: the store's key lets exactly one through."""
        answers = await asyncio.gather(*(post(deduped, issues_event()) for _ in range(2)))

        assert sorted(a.json()["status"] for a in answers) == ["delivered", "duplicate"]
        assert len(temporal.signals) == 1

    async def test_remembered_across_restarts(self, tmp_path: Path, temporal: StubTemporal) -> None:
        """A second app with a new store on the same database still knows the delivery."""
        async for client in _client(_app(tmp_path, temporal, SqlStore(database(tmp_path)))):
            assert (await post(client, issues_event())).json()["status"] == "delivered"
        async for client in _client(_app(tmp_path, temporal, SqlStore(database(tmp_path)))):
            again = await post(client, issues_event())

        assert again.json() == {"status": "duplicate", "delivery": DELIVERY}
        assert len(temporal.signals) == 1

    async def test_failed_signal_then_redelivery_is_processed(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """Temporal down: 503, and GitHub's redelivery of that delivery is then processed."""
        temporal.unavailable = 1
        failed = await post(deduped, issues_event())
        redelivered = await post(deduped, issues_event())

        assert failed.status_code == 503
        assert redelivered.json() == delivered("INC-42")
        assert len(temporal.signals) == 1

    async def test_unsigned_delivery_is_not_recorded(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """A refused delivery leaves no trace: the signed one with its id is still processed."""
        body = issues_event()
        forged = {**signed(body), "X-Hub-Signature-256": "sha256=" + "0" * 64}
        refused = await deduped.post("/webhooks/github", content=body, headers=forged)
        accepted = await post(deduped, body)

        assert refused.status_code == 401
        assert accepted.json()["status"] == "delivered"

    async def test_ignored_events_are_not_recorded(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """An event that reaches no incident is "ignored" each time, with the same reason."""
        for _ in range(2):
            response = await post(deduped, issues_event(labels=("INC-99",)))
            assert response.status_code == 202
            assert "INC-99 is not a running incident" in response.json()["reason"]
        temporal.running.add("incident-INC-99")

        late = await post(deduped, issues_event(labels=("INC-99",)))

        assert late.json() == delivered("INC-99")

    @pytest.mark.parametrize("delivery", [None, ""])
    async def test_without_delivery_id_every_copy_counts(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal, delivery: str | None
    ) -> None:
        """No X-GitHub-Delivery: processed as before, every time."""
        for _ in range(2):
            response = await post(deduped, issues_event(), delivery=delivery)
            assert response.json()["status"] == "delivered"

        assert len(temporal.signals) == 2

    async def test_without_store_every_copy_counts(
        self, api: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        """An app built without a store processes every delivery."""
        for _ in range(2):
            assert (await post(api, issues_event())).json()["status"] == "delivered"

        assert len(temporal.signals) == 2

    async def test_store_down_refuses(self, tmp_path: Path, temporal: StubTemporal) -> None:
        """Without the record of deliveries the event is refused (503), not processed blind."""
        async for client in _client(_app(tmp_path, temporal, BrokenDeliveryLog())):
            response = await post(client, issues_event())

        assert response.status_code == 503
        assert "redeliver" in response.json()["detail"]
        assert temporal.signals == []

    async def test_overlong_delivery_id(
        self, deduped: httpx.AsyncClient, temporal: StubTemporal
    ) -> None:
        response = await post(deduped, issues_event(), delivery="x" * 129)

        assert response.status_code == 400
        assert temporal.signals == []
