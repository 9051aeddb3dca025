"""PagerDuty's own Python client (the ``pagerduty`` package) pointed at Tocsin's base URL:
it appends ``/v2/enqueue`` as it does for PagerDuty, and reads Tocsin's answers as
PagerDuty's.

The client refuses a base URL that is not ``https://``, so here the API is served over TLS
(a certificate from a throwaway CA the client is told to trust), as it would be in front of
any such client.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pagerduty
import pytest
import trustme
import uvicorn

from starters.events import event_page_key
from starters.http.app import create_app
from tests.conftest import free_port
from tests.e2e.conftest import EVENTS_KEY, Stack

pytestmark = pytest.mark.e2e


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: pytest owns the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def tls(stack: Stack) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """The stack's API (same client, task queue and worker) on loopback over TLS: its base
    URL, and a client context that trusts it."""
    ca = trustme.CA()
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    port = free_port()
    app = create_app(stack.token, stack.tocsin)
    with ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.tempfile() as pem:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ssl_certfile=pem,
            ssl_keyfile=pem,
            log_config=None,
            access_log=False,
            # The client keeps its connection alive: do not wait out its keep-alive at exit.
            timeout_graceful_shutdown=1,
        )
        server = _Server(config)
        serving = asyncio.create_task(server.serve())
        try:
            for _ in range(250):
                if server.started:
                    break
                await asyncio.sleep(0.02)
            assert server.started, "the TLS server did not start"
            yield f"https://127.0.0.1:{port}", trusted
        finally:
            server.should_exit = True
            await serving


async def _eventually(stack: Stack, page_id: str, status: str) -> dict[str, Any]:
    """The page once its status is ``status`` (updates land through the worker)."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        response = await stack.http.get(f"/api/pages/{page_id}")
        page: dict[str, Any] = response.json() if response.status_code == 200 else {}
        if page.get("status") == status or asyncio.get_running_loop().time() > deadline:
            return page
        await asyncio.sleep(0.2)


def _client(
    tls: tuple[str, ssl.SSLContext], routing_key: str = EVENTS_KEY
) -> pagerduty.EventsApiV2Client:
    """PagerDuty's client with Tocsin as its base URL (it appends ``/v2/enqueue``)."""
    base_url, trusted = tls
    return pagerduty.EventsApiV2Client(routing_key, base_url=base_url, verify=trusted)


class TestPagerDutyClient:
    """Trigger, acknowledge and resolve through PagerDuty's client; refusals are its errors."""

    async def test_trigger_acknowledge_resolve(
        self, stack: Stack, tls: tuple[str, ssl.SSLContext]
    ) -> None:
        events = _client(tls)
        # The client is synchronous: in a thread, beside the server on this loop.
        dedup_key = await asyncio.to_thread(
            events.trigger,
            "gitserver disk 99%",
            "gitserver-0",
            dedup_key="gitserver-disk",
            severity="critical",
            links=[{"href": "https://grafana.example/d/disk", "text": "dashboard"}],
        )
        assert dedup_key == "gitserver-disk"
        page_id = event_page_key("gitserver", dedup_key)
        page = await _eventually(stack, page_id, "triggered")
        assert (page["service"], page["severity"], page["summary"]) == (
            "gitserver",
            "critical",
            "gitserver disk 99%",
        )

        assert await asyncio.to_thread(events.acknowledge, dedup_key) == dedup_key
        acknowledged = await _eventually(stack, page_id, "acknowledged")
        assert acknowledged["status"] == "acknowledged"

        assert await asyncio.to_thread(events.resolve, dedup_key) == dedup_key
        resolved = await _eventually(stack, page_id, "resolved")
        assert resolved["status"] == "resolved"
        assert resolved["resolved_by"] == "events"

    async def test_unknown_routing_key_is_the_clients_error(
        self, tls: tuple[str, ssl.SSLContext]
    ) -> None:
        events = _client(tls, routing_key="no-such-integration-key-0000000")
        with pytest.raises(pagerduty.HttpError) as raised:
            await asyncio.to_thread(events.trigger, "disk full", "gitserver-0")
        response = raised.value.response
        assert response.status_code == 400
        assert response.json()["status"] == "invalid event"
        assert response.json()["errors"] == [
            "routing_key: unknown routing key (no service or team has it)"
        ]

    async def test_too_large_is_an_invalid_event(self, tls: tuple[str, ssl.SSLContext]) -> None:
        """Over the body limit: PagerDuty's 400, which its client does not retry."""
        events = _client(tls)
        huge = {"log": "x" * (2 << 20)}
        with pytest.raises(pagerduty.HttpError) as raised:
            await asyncio.to_thread(events.trigger, "disk full", "gitserver-0", custom_details=huge)
        assert raised.value.response.status_code == 400
        assert raised.value.response.json()["status"] == "invalid event"
