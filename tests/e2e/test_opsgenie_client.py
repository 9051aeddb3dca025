"""Opsgenie's own Python SDK (``opsgenie-sdk``) with Tocsin as its host: create, note,
acknowledge and close an alert, and read each request's status, as a script written for
Opsgenie would."""

from __future__ import annotations

import asyncio
from typing import Any

import opsgenie_sdk
import pytest

from starters.events import event_page_key
from tests.e2e.conftest import EVENTS_KEY, Stack

pytestmark = pytest.mark.e2e


def _alerts(stack: Stack, key: str = EVENTS_KEY) -> opsgenie_sdk.AlertApi:
    """The SDK's alert API with Tocsin's base URL as host and the gitserver key."""
    configuration = opsgenie_sdk.Configuration()
    configuration.host = str(stack.http.base_url).rstrip("/")
    configuration.api_key["Authorization"] = key
    configuration.api_key_prefix["Authorization"] = "GenieKey"
    configuration.retry_enabled = False
    return opsgenie_sdk.AlertApi(api_client=opsgenie_sdk.ApiClient(configuration=configuration))


async def _eventually(stack: Stack, page_id: str, done: Any) -> dict[str, Any]:
    """The page once ``done(page)`` holds (signals land through the worker)."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        response = await stack.http.get(f"/api/pages/{page_id}")
        page: dict[str, Any] = response.json() if response.status_code == 200 else {}
        if (page and done(page)) or asyncio.get_running_loop().time() > deadline:
            return page
        await asyncio.sleep(0.2)


class TestOpsgenieSdk:
    async def test_create_note_acknowledge_close(self, stack: Stack) -> None:
        alerts = _alerts(stack)
        # An alias of its own: the PagerDuty client's test uses "gitserver-disk" as its
        # dedup key, which names the same page of the service on the shared dev server.
        create = opsgenie_sdk.CreateAlertPayload(
            message="gitserver disk 99%",
            alias="opsgenie-disk",
            description="/var/lib/git is full",
            tags=["disk", "prod"],
            details={"host": "git-0"},
            entity="git-0",
            source="nagios",
            priority="P1",
            note="from the old Opsgenie script",
            user="alice",
        )
        # The SDK is synchronous: in a thread, beside the server on this loop.
        created = await asyncio.to_thread(alerts.create_alert, create_alert_payload=create)
        assert created.result == "Request will be processed"
        assert created.took >= 0

        status = await asyncio.to_thread(alerts.get_request_status, created.request_id)
        assert status.data.is_success
        assert (status.data.action, status.data.status) == ("Create", "Created alert")
        page_id = status.data.alert_id
        assert page_id == event_page_key("gitserver", "opsgenie-disk")
        page = await _eventually(stack, page_id, lambda p: p["status"] == "triggered")
        assert (page["service"], page["severity"], page["urgency"]) == (
            "gitserver",
            "critical",
            "high",
        )
        assert page["summary"] == "gitserver disk 99%"
        assert "/var/lib/git is full" in page["details"]
        assert "from the old Opsgenie script (sent for alice)" in page["details"]

        note = opsgenie_sdk.AddNoteToAlertPayload(note="looking at it", user="bob")
        noted = await asyncio.to_thread(
            alerts.add_note, "opsgenie-disk", note, identifier_type="alias"
        )
        assert (
            await asyncio.to_thread(alerts.get_request_status, noted.request_id)
        ).data.is_success

        acked = await asyncio.to_thread(
            alerts.acknowledge_alert,
            page_id,
            identifier_type="id",
            acknowledge_alert_payload=opsgenie_sdk.AcknowledgeAlertPayload(user="bob"),
        )
        ack_status = await asyncio.to_thread(alerts.get_request_status, acked.request_id)
        assert (ack_status.data.status, ack_status.data.is_success) == ("Acknowledged alert", True)
        page = await _eventually(stack, page_id, lambda p: p["status"] == "acknowledged")
        # The actor is the integration whose key sent it, never the body's "user".
        assert page["acknowledged_by"] == "events:gitserver"
        texts = [entry["text"] for entry in page["timeline"]]
        assert "looking at it (sent for bob)" in texts
        assert any(t.startswith("Acknowledged by") and t.endswith("sent for bob") for t in texts)

        closed = await asyncio.to_thread(
            alerts.close_alert, "opsgenie-disk", identifier_type="alias"
        )
        page = await _eventually(stack, page_id, lambda p: p["status"] == "resolved")
        assert page["status"] == "resolved"
        close_status = await asyncio.to_thread(alerts.get_request_status, closed.request_id)
        assert (close_status.data.status, close_status.data.alias) == (
            "Closed alert",
            "opsgenie-disk",
        )

    async def test_priority_sets_urgency(self, stack: Stack) -> None:
        alerts = _alerts(stack)
        create = opsgenie_sdk.CreateAlertPayload(message="cert expires in 20 days", priority="P4")
        created = await asyncio.to_thread(alerts.create_alert, create_alert_payload=create)
        status = await asyncio.to_thread(alerts.get_request_status, created.request_id)
        page = await _eventually(stack, status.data.alert_id, lambda p: p["status"])
        assert (page["severity"], page["urgency"]) == ("info", "low")

    async def test_acting_on_an_unknown_alert_says_so(self, stack: Stack) -> None:
        """As at Opsgenie: accepted, and its request status says the alert does not exist."""
        alerts = _alerts(stack)
        closed = await asyncio.to_thread(alerts.close_alert, "never-sent", identifier_type="alias")
        status = await asyncio.to_thread(alerts.get_request_status, closed.request_id)
        assert (status.data.is_success, status.data.status) == (False, "Alert does not exist")

    async def test_a_wrong_key_is_the_sdks_401(self, stack: Stack) -> None:
        alerts = _alerts(stack, key="no-such-genie-key-000000000000000")
        create = opsgenie_sdk.CreateAlertPayload(message="disk full")
        # The SDK turns Opsgenie's 401 into its own exception, which it does not retry.
        with pytest.raises(opsgenie_sdk.exceptions.AuthenticationException) as raised:
            await asyncio.to_thread(alerts.create_alert, create_alert_payload=create)
        assert raised.value.status == 401
        assert "Could not authenticate" in raised.value.body
