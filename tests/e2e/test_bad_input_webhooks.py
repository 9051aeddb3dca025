"""Hand-made bad input at every webhook of the real stack (uvicorn, a worker, the dev
server): each answered with the 4xx that says what was wrong, none a 5xx, nothing started."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from starters.http.github import signature
from starters.http.pagerduty import EVENTS_PATHS
from tests.e2e.conftest import EVENTS_KEY, Hardened, hardened_stack, write_config
from tests.fakes.receiver import Receiver

pytestmark = pytest.mark.e2e

DEEP = "[" * 200_000 + "]" * 200_000


@dataclass
class Case:
    """One hostile request and the status it must get."""

    name: str
    path: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _event(**changes: object) -> bytes:
    event: dict[str, object] = {
        "routing_key": EVENTS_KEY,
        "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "gitserver-0", "severity": "critical"},
    }
    event.update(changes)
    return json.dumps(event).encode()


def _alertmanager(**changes: object) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "service": "gitserver"},
        "startsAt": "2026-11-30T06:00:00Z",
        "fingerprint": "abc123",
    }
    body: dict[str, object] = {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": "firing",
        "receiver": "tocsin",
        "alerts": [alert],
    }
    body.update(changes)
    return json.dumps(body).encode()


def _cases(api: Hardened) -> list[Case]:
    bearer = {"Authorization": f"Bearer {api.token}"}

    def github(body: bytes, **headers: str) -> Case:
        return Case(
            "",
            "/webhooks/github",
            400,
            body,
            {
                "X-GitHub-Event": "issues",
                "X-Hub-Signature-256": signature(api.github_secret, body),
                **headers,
            },
        )

    def slack(body: bytes, stamp: str | None = None) -> dict[str, str]:
        now = stamp or str(int(time.time()))
        base = f"v0:{now}:".encode() + body
        digest = hmac.new(api.slack_secret.encode(), base, hashlib.sha256).hexdigest()
        return {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": now,
            "x-slack-signature": f"v0={digest}",
        }

    deep_details = "[" * 300 + "]" * 300
    cases = [
        Case("events: 200,000 brackets", "/webhooks/events", 400, DEEP.encode()),
        Case(
            "events: custom_details 300 deep",
            "/webhooks/events",
            400,
            _event().replace(
                b'"critical"}', b'"critical", "custom_details": ' + deep_details.encode() + b"}"
            ),
        ),
        Case(
            "events: NaN",
            "/webhooks/events",
            400,
            _event().replace(b'"critical"}', b'"critical", "x": NaN}'),
        ),
        Case("events: not UTF-8", "/webhooks/events", 400, b'{"routing_key": "\xff\xfe"}'),
        Case("events: empty", "/webhooks/events", 400, b""),
        Case("events: action a number", "/webhooks/events", 400, _event(event_action=5)),
        Case(
            "events: timestamp a number",
            "/webhooks/events",
            400,
            _event(payload={"summary": "s", "source": "h", "severity": "critical", "timestamp": 0}),
        ),
        # PagerDuty documents a size limit and no 413: an invalid event, in its shape.
        Case("events: 2 MiB", "/webhooks/events", 400, b" " * (2 << 20)),
        Case("v2/enqueue: 200,000 brackets", "/v2/enqueue", 400, DEEP.encode()),
        Case(
            "v2/enqueue: NaN",
            "/v2/enqueue",
            400,
            _event().replace(b'"critical"}', b'"critical", "x": NaN}'),
        ),
        Case("v2/enqueue: empty", "/v2/enqueue", 400, b""),
        Case("v2/enqueue: unknown routing key", "/v2/enqueue", 400, _event(routing_key="nope")),
        Case("v2/enqueue: 2 MiB", "/v2/enqueue", 400, b" " * (2 << 20)),
        Case("alertmanager: no credentials, deep", "/webhooks/alertmanager", 401, DEEP.encode()),
        Case("alertmanager: deep", "/webhooks/alertmanager", 400, DEEP.encode(), bearer),
        Case("alertmanager: not JSON", "/webhooks/alertmanager", 422, b"{alerts", bearer),
        Case(
            "alertmanager: no alerts",
            "/webhooks/alertmanager",
            422,
            _alertmanager(alerts=[]),
            bearer,
        ),
        Case(
            "alertmanager: truncatedAlerts a boolean",
            "/webhooks/alertmanager",
            422,
            _alertmanager(truncatedAlerts=False),
            bearer,
        ),
        Case(
            "alertmanager: version 3",
            "/webhooks/alertmanager",
            422,
            _alertmanager(version="3"),
            bearer,
        ),
        Case("github: unsigned", "/webhooks/github", 401, b"{}", {"X-GitHub-Event": "issues"}),
        github(DEEP.encode()),
        github(b'{"action": "closed", "issue": "INC-1", "repository": {"full_name": "a/b"}}'),
        github(b'{"action": "closed", "issue": {"number": "\xff"}}'),
        github(
            b'{"action": "closed", "issue": {"number": 1, "labels": [{"name": "INC-1"}]}, '
            b'"repository": {"full_name": "a/b"}}',
            **{"X-GitHub-Delivery": "d" * 500},
        ),
    ]
    for index, case in enumerate(cases):
        if not case.name:
            case.name = f"github: signed, malformed #{index}"
    form = urlencode({"command": "/page", "text": "delivery x"}).encode()
    deep_payload = urlencode({"payload": "[" * 10_000 + "]" * 10_000}).encode()
    cases += [
        Case(
            "slack: unsigned",
            "/slack/events",
            401,
            form,
            slack(form, "1") | {"x-slack-signature": "v0=00"},
        ),
        Case("slack: timestamp not a number", "/slack/events", 400, form, slack(form, "soon")),
        Case("slack: signed, not UTF-8", "/slack/events", 400, b"text=\xff", slack(b"text=\xff")),
        Case(
            "slack: signed, deep payload", "/slack/events", 400, deep_payload, slack(deep_payload)
        ),
    ]
    return cases


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Hardened]:
    monkeypatch.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
    config_path = write_config(tmp_path / "tocsin.yaml", receiver)
    async with hardened_stack(dev_env.client, config_path) as running:
        yield running


class TestWebhookBadInput:
    """Every hostile body gets its 4xx; none gets a 5xx; no workflow starts."""

    async def test_each_refused_and_nothing_started(self, api: Hardened) -> None:
        answers: dict[str, int] = {}
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            for case in _cases(api):
                response = await http.post(case.path, content=case.body, headers=case.headers)
                answers[case.name] = response.status_code
                assert response.json(), case.name  # a body that says what was wrong
                if case.path in EVENTS_PATHS:  # in PagerDuty's shape, which its clients read
                    assert response.json()["status"] == "invalid event", case.name
            # A chunked body (no Content-Length) over the limit is cut off at the limit.

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(40):
                    yield b" " * 65536

            for path in sorted(EVENTS_PATHS):
                chunked = await http.post(path, content=chunks())
                answers[f"{path}: chunked 2.5 MiB"] = chunked.status_code
                assert chunked.json()["status"] == "invalid event"
        expected = {case.name: case.status for case in _cases(api)}
        expected |= {f"{path}: chunked 2.5 MiB": 400 for path in EVENTS_PATHS}
        assert answers == expected
        await asyncio.sleep(1.5)  # visibility lags about a second
        started = [
            execution.id
            async for execution in api.client.list_workflows(f'TaskQueue = "{api.task_queue}"')
        ]
        assert started == []
