"""Planted secrets never reach the log when a route fails: the app is served by real
uvicorn with the services' logging (background thread, both formats), and every route is
made to raise with secrets in its local variables, its exception and its request."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.credentials.issue import NewToken, issue
from starters.credentials.stores import credentials_of
from starters.http import (
    alert_report,
    checks,
    heartbeats,
    opsgenie,
    pages,
    reports,
    silences,
    tokens,
)
from starters.http import log as incident_log
from starters.http.app import SlackSettings, create_app
from starters.http.github import signature
from starters.http.webhooks import WebhookCredentials
from tests.conftest import serving
from tests.fakes.credentials import CountingHasher
from tests.fakes.slack import FakeSlack
from worker.config import ConfigFile
from worker.logging import configure_logging, flush_logs
from worker.settings import Settings, secret_values

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
FIRING = Path(__file__).resolve().parents[1] / "fixtures/alertmanager-0.25-firing-2-alerts.json"
PLANTED = {
    "TOCSIN_API_TOKEN": "tcn_api_9Qx2LrW7vB4mK8sD1fJ6hT3z",
    "TOCSIN_ALERTMANAGER_TOKEN": "tcn_am_Zr5Pq8Ld2Wx7Nc4Hv1Kb6Tm9",
    "TOCSIN_SMTP_PASSWORD": "smtp-Pw_4fG8kL2qR7vX1zC5nB9",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5aa11",
    "SLACK_BOT_TOKEN": "xoxb-112233445566-778899001122-AbCdEfGhIjKlMnOpQrStUvWx",
    "GITHUB_WEBHOOK_SECRET": "ghwh_Y3mN8pQ2rT6vW1xZ4bC7dF0g",
    "DEPLOY_HOOK_KEY": "rbk_Hs7Jd2Kf9Lg4Mn1Pq6Rt3Vw8",
    # The example config's Events API integration key, ${TOCSIN_GITSERVER_EVENTS_KEY}.
    "TOCSIN_GITSERVER_EVENTS_KEY": "R7c2e9f4a1b8d3e6f0a5b2c9d4e7f1a3",
}
# What the processes read to find secrets: the config's ${NAME}s and secret_env names.
CONFIG_TEXT = EXAMPLE.read_text() + "\n# rollback:\n#   secret_env: DEPLOY_HOOK_KEY\n"


class Exploding:
    """Temporal, the intake and the incident log all at once: any use raises, with secrets
    in the frame's locals, in the message and in a URL, as a real failure would carry them."""

    def __getattr__(self, name: str) -> Any:
        api_token = PLANTED["TOCSIN_API_TOKEN"]
        settings = Settings(smtp_password=SecretStr(PLANTED["TOCSIN_SMTP_PASSWORD"]))
        hook = f"https://hooks.example/deploy?token={PLANTED['DEPLOY_HOOK_KEY']}"
        raise RuntimeError(
            f"forced failure in {name} with {api_token} for {settings!r} posting to {hook} "
            f"signed {PLANTED['SLACK_SIGNING_SECRET']}"
        )


def _explode() -> Any:
    return Exploding().temporal


def _slack_headers(body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    base = f"v0:{stamp}:{body}".encode()
    digest = hmac.new(PLANTED["SLACK_SIGNING_SECRET"].encode(), base, hashlib.sha256)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    }


def _github_issue_closed() -> bytes:
    return json.dumps(
        {
            "action": "closed",
            "issue": {"number": 7, "labels": [{"name": "INC-1"}], "html_url": "https://x/7"},
            "repository": {"full_name": "acme/api"},
            "sender": {"login": "alice"},
        }
    ).encode()


def _build_app(tmp_path: Path, slack_api: str) -> FastAPI:
    config = tmp_path / "tocsin.yaml"
    # Alice known to Slack, so that /page reaches Tocsin (and fails there).
    config.write_text(
        EXAMPLE.read_text().replace(
            "alice: {name: Alice Example,", "alice: {slack: U0ALICE, name: Alice Example,"
        )
    )
    tocsin = TocsinClient(cast(Client, Exploding()), ConfigFile(config), "unit")
    slack = SlackSettings(
        signing_secret=PLANTED["SLACK_SIGNING_SECRET"],
        client=AsyncWebClient(token=PLANTED["SLACK_BOT_TOKEN"], base_url=slack_api),
    )
    app = create_app(
        PLANTED["TOCSIN_API_TOKEN"],
        tocsin,
        webhook_credentials=WebhookCredentials(PLANTED["TOCSIN_ALERTMANAGER_TOKEN"]),
        slack=slack,
        store=SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}"),
        github_webhook_secret=PLANTED["GITHUB_WEBHOOK_SECRET"],
    )
    app.dependency_overrides[pages.tocsin] = _explode
    app.dependency_overrides[incident_log.incident_log] = _explode
    app.dependency_overrides[tokens.credentials] = _explode
    app.dependency_overrides[opsgenie.request_ids] = _explode
    app.dependency_overrides[reports.kept_reports] = _explode
    app.dependency_overrides[silences.silence_desk] = _explode
    app.dependency_overrides[checks.kept_results] = _explode
    app.dependency_overrides[alert_report.sql_store] = _explode
    app.dependency_overrides[heartbeats.heartbeats] = _explode
    return app


async def _heartbeat_token(tmp_path: Path) -> str:
    """An integration token that may ping heartbeats, in the app's store (the ping route
    refuses any other token before it reaches its failing dependency)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    new = NewToken(kind="integration", name="cron", scopes=["intake:heartbeat"])
    config = ConfigFile(tmp_path / "tocsin.yaml").current()
    issued = await issue(credentials_of(store), new, config, "test", hasher=CountingHasher())
    await store.close()
    return issued.token


def _requests(heartbeat_token: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per route that reaches its failing dependency (method, path, httpx kwargs)."""
    api = {"headers": {"Authorization": f"Bearer {PLANTED['TOCSIN_API_TOKEN']}"}, "json": {}}
    am = {"Authorization": f"Bearer {PLANTED['TOCSIN_ALERTMANAGER_TOKEN']}"}
    github = _github_issue_closed()
    slack = urlencode(
        {
            "command": "/page",
            "text": "delivery db down",
            "user_id": "U0ALICE",
            "team_id": "T0ACME",
            "channel_id": "C0GENERAL",
            "response_url": "http://127.0.0.1:9/respond",
            "trigger_id": "1.2.3",
            "api_app_id": "A0TOCSIN",
        }
    )
    event = {
        "routing_key": PLANTED["TOCSIN_GITSERVER_EVENTS_KEY"],
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "h", "severity": "critical"},
    }
    special: dict[str, dict[str, Any]] = {
        "/healthz": {},
        "/webhooks/alertmanager": {"headers": am, "content": FIRING.read_bytes()},
        "/webhooks/events": {"json": event},
        "/v2/enqueue": {"json": event},
        "/webhooks/github": {
            "content": github,
            "headers": {
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": "d-1",
                "X-Hub-Signature-256": signature(PLANTED["GITHUB_WEBHOOK_SECRET"], github),
            },
        },
        "/slack/events": {"content": slack, "headers": _slack_headers(slack)},
    }
    # The Opsgenie Alert API, keyed by the same integration key as a GenieKey.
    genie = {"Authorization": f"GenieKey {PLANTED['TOCSIN_GITSERVER_EVENTS_KEY']}"}
    special["/v2/alerts"] = {"headers": genie, "json": {"message": "m"}}
    special["/v2/alerts/requests/request_id"] = {"headers": genie}
    for action in ("acknowledge", "close", "notes"):
        special[f"/v2/alerts/identifier/{action}"] = {"headers": genie, "json": {"note": "n"}}
    special["/webhooks/heartbeat/name"] = {
        "headers": {"Authorization": f"Bearer {heartbeat_token}"}
    }
    return [(method, path, special.get(path, api)) for method, path in _routes()]


def _routes() -> list[tuple[str, str]]:
    """Every route the app serves: the OpenAPI description's, plus Slack's (not described)."""
    spec = create_app("route-listing", cast(TocsinClient, None)).openapi()
    found = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, operations in spec["paths"].items()
        for method in operations
    ]
    return [*found, ("POST", "/slack/events")]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    configure_logging("console", "info")


class TestRoutesLeakNoSecret:
    """Every route made to fail leaves a traceback in the log and no planted secret."""

    @pytest.mark.parametrize("fmt", ["console", "json"])
    async def test_every_route_failing(
        self, fmt: str, tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name, value in PLANTED.items():
            monkeypatch.setenv(name, value)
        out = io.StringIO()
        settings = Settings.from_env()
        configure_logging(
            "json" if fmt == "json" else "console",
            "info",
            secrets=secret_values(settings, config_text=CONFIG_TEXT),
            background=True,
            stream=out,
        )
        statuses: dict[tuple[str, str], int] = {}
        slack = FakeSlack(token=PLANTED["SLACK_BOT_TOKEN"])
        await slack.start()
        try:
            app = _build_app(tmp_path, slack.api_url)
            beat = await _heartbeat_token(tmp_path)
            async with (
                serving(app) as base,
                httpx.AsyncClient(base_url=base, timeout=10) as http,
            ):
                for method, path, kwargs in _requests(beat):
                    response = await http.request(method, path, **kwargs)
                    statuses[(method, path)] = response.status_code
                # The Slack listener runs after its ack: wait for its failure to be logged.
                for _ in range(100):
                    flush_logs()
                    if "Failed to run listener" in out.getvalue():
                        break
                    await asyncio.sleep(0.05)
        finally:
            await slack.stop()
        flush_logs()
        text = out.getvalue()
        # Every route really failed, so there was something to leak.
        # Bolt catches the listener's failure, logs it and answers on its own terms.
        statuses.pop(("POST", "/slack/events"))
        assert {route: code for route, code in statuses.items() if code != 500} == {}
        assert text.count("Exception in ASGI application") == len(statuses)
        assert "Failed to run listener" in text
        assert "forced failure" in text
        assert "RuntimeError" in text
        leaked = {name for name, value in PLANTED.items() if value in text}
        assert leaked == set()
