"""Slack end to end: signed requests to the real API, a real dev server, the loopback Slack fake.

The worker's Slack adapters (DMs, the incident channel, cards) and the API's bolt app both
talk to :class:`FakeSlack` through slack-sdk with ``SLACK_API_URL`` pointed at it, exactly
as an install behind an Enterprise proxy would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from activities.adapters.slack_chat import slack_client
from starters.api import TocsinClient
from starters.http.app import SlackSettings, create_app
from starters.server import serve_api
from tests.e2e.conftest import borrowed_incident_counter, end_open_pages, free_port
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeChannel, FakeMessage, FakeSlack
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.incident_models import CommsConfirmation, IncidentState, IncidentStatus
from workflows.models import PageState, PageStatus

pytestmark = pytest.mark.e2e

SECRET = "e2e-signing-secret"
T = TypeVar("T")

CONFIG = """
timezone: America/Chicago
people:
  alice: {{name: Alice, slack: U0ALICE, contact: [slack, "{hook}/alice"]}}
  bob: {{name: Bob, slack: U0BOB, contact: [slack, "{hook}/bob"]}}
  carol: {{name: Carol, slack: U0CAROL, contact: ["{hook}/carol"]}}
teams:
  delivery:
    members: [alice, bob]
    rotation: delivery
    escalation_policy: delivery
    slack_channel: "#delivery-support"
rotations:
  delivery:
    timezone: America/Chicago
    handoff: {{weekday: monday, time: "10:00"}}
    shift: 1w
    start: 2020-01-06
    layers: {{eoc: [alice]}}
escalation_policies:
  delivery: {{steps: [{{targets: ["rotation:delivery/eoc"], ack_timeout: 1h}}]}}
services:
  checkout:
    team: delivery
    rollback: {{kind: command, argv: ["/bin/sh", "-c", "echo rolled back $TOCSIN_SERVICE"]}}
severities:
  - {{name: major, announce: ["#incidents"], update_interval: 30m}}
  - {{name: minor, page: false, update_interval: 1h}}
incidents: {{lead_timeout: 1h, prompt_interval: 1h}}
"""


def _signed(body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    }


@dataclass
class SlackStack:
    http: httpx.AsyncClient
    tocsin: TocsinClient
    slack: FakeSlack
    responses: Receiver

    async def post(self, form: dict[str, str]) -> httpx.Response:
        body = urlencode(form)
        response = await self.http.post("/slack/events", content=body, headers=_signed(body))
        assert response.status_code == 200, response.text
        return response

    async def command(
        self, name: str, text: str, user: str, channel: FakeChannel | None = None
    ) -> None:
        await self.post(
            {
                "command": name,
                "text": text,
                "user_id": user,
                "team_id": "T0ACME",
                "channel_id": channel.id if channel else "C0GENERAL",
                "channel_name": channel.name if channel else "general",
                "response_url": self.responses.url("respond").replace("json://", "http://"),
                "trigger_id": f"{uuid.uuid4().int % 10**9}.42.abc",
                "api_app_id": "A0TOCSIN",
            }
        )

    async def interact(self, payload: dict[str, Any]) -> None:
        base = {
            "team": {"id": "T0ACME"},
            "api_app_id": "A0TOCSIN",
            "trigger_id": "1.2.3",
            "response_url": self.responses.url("respond").replace("json://", "http://"),
        }
        await self.post({"payload": json.dumps({**base, **payload})})

    async def press(self, message: FakeMessage, action_id: str, value: str, user: str) -> None:
        """Press the button ``action_id`` whose value is ``value`` on ``message``."""
        [block] = [
            b
            for b in message.blocks
            if b["type"] == "actions"
            and any(e["action_id"] == action_id and e["value"] == value for e in b["elements"])
        ]
        await self.interact(
            {
                "type": "block_actions",
                "user": {"id": user},
                "container": {
                    "type": "message",
                    "channel_id": message.channel,
                    "message_ts": message.ts,
                },
                "channel": {"id": message.channel},
                "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                "actions": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "block_id": block["block_id"],
                        "value": value,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )

    def messages_in(self, channel: str) -> list[FakeMessage]:
        return [m for m in self.slack.messages if m.channel == channel]

    def ephemeral(self) -> list[str]:
        return [
            str(d.body.get("text"))
            for d in self.responses.deliveries
            if d.body.get("response_type") == "ephemeral"
        ]


async def eventually(check: Callable[[], Any], what: str, within: float = 20.0) -> Any:
    """Poll a side effect that trails the request (the listener acks first, then works)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def has_buttons(message: FakeMessage) -> bool:
    return any(b["type"] == "actions" for b in message.blocks)


def button_ids(message: FakeMessage) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.fixture
async def slack_stack(
    dev_env: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
) -> AsyncIterator[SlackStack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_channel("incidents")
    fake.add_channel("delivery-support")
    responses = Receiver()
    await responses.start()
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG.format(hook=receiver.url("").rstrip("/")))
    config = ConfigFile(path)
    task_queue = f"e2e-slack-{uuid.uuid4()}"
    port = free_port()
    token = secrets.token_urlsafe(16)
    tocsin = TocsinClient(dev_env.client, config, task_queue)
    client = slack_client(fake.token, fake.api_url)
    assert client is not None
    app = create_app(token, tocsin, slack=SlackSettings(signing_secret=SECRET, client=client))
    stop = asyncio.Event()
    server = asyncio.create_task(serve_api(app, "127.0.0.1", port, stop))
    async with (
        build_worker(
            dev_env.client,
            Settings(
                task_queue=task_queue,
                data_dir=tmp_path,
                slack_bot_token=SecretStr(fake.token),
                slack_api_url=fake.api_url,
            ),
            config,
            task_queue=task_queue,
        ),
        borrowed_incident_counter(dev_env.client, task_queue),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http,
    ):
        await eventually(lambda: _healthy(http), "the API to answer")
        yield SlackStack(http, tocsin, fake, responses)
        await end_open_pages(dev_env.client, task_queue)
    stop.set()
    await server
    await responses.stop()
    await fake.stop()


async def _healthy(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


def _modal_values(title: str) -> dict[str, Any]:
    return {
        "title": {"title": {"type": "plain_text_input", "value": title}},
        "description": {
            "description": {"type": "plain_text_input", "value": "5xx on every checkout"}
        },
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "major"}}},
        "service": {"service": {"type": "static_select", "selected_option": {"value": "checkout"}}},
        "flags": {"flags": {"type": "checkboxes", "selected_options": []}},
    }


class TestIncidentFromSlack:
    """An incident run from Slack alone: modal, card buttons, subcommands, all the way to archive."""

    async def test_modal_lead_rollback_update_resolve(self, slack_stack: SlackStack) -> None:
        """Every step shows in the fake's recorded calls and in the workflow's timeline."""
        s = slack_stack
        await s.command("/incident", "", user="U0BOB")
        [view] = await eventually(lambda: s.slack.views, "views.open")
        assert view["callback_id"] == "incident_declare"

        await s.interact(
            {
                "type": "view_submission",
                "user": {"id": "U0BOB"},
                "view": {
                    "id": view["id"],
                    "type": "modal",
                    "callback_id": "incident_declare",
                    "state": {"values": _modal_values("Checkout is down")},
                },
            }
        )
        created = await eventually(
            lambda: s.slack.calls_to("conversations.create"), "conversations.create"
        )
        name = str(created[0].params["name"])
        assert name.startswith("inc-")
        assert name.endswith("-checkout-is-down")
        incident_id = f"INC-{int(name.split('-')[1])}"
        channel = s.slack.channel_named(name)
        assert channel is not None
        await eventually(lambda: "U0BOB" in channel.members, "the declarer invited")

        def card() -> FakeMessage | None:
            return next(
                (
                    m
                    for m in s.messages_in(channel.id)
                    if any(b.get("block_id") == f"incident_actions:{incident_id}" for b in m.blocks)
                    or m.ts in channel.pins
                ),
                None,
            )

        first = await eventually(card, "the incident card")
        await eventually(lambda: first.ts in channel.pins, "the card to be pinned")
        assert has_buttons(first)
        await eventually(lambda: channel.topic.startswith(f"{incident_id} · major"), "the topic")
        announced = s.slack.channel_named("incidents")
        assert announced is not None
        await eventually(lambda: s.messages_in(announced.id), "the announcement in #incidents")

        await s.press(first, "incident_take_lead", incident_id, user="U0BOB")
        await self.settled(s, incident_id, lambda st: st.lead == "bob")
        await eventually(lambda: "*Lead:* bob" in str(card().blocks), "the card to show the lead")  # type: ignore[union-attr]

        current = card()
        assert current is not None
        await s.press(current, "incident_rollback", f"{incident_id}:roll_back", user="U0BOB")
        state = await self.settled(
            s, incident_id, lambda st: st.rollback.result is not None and st.rollback.result.ok
        )
        assert state.rollback.decided_by == "bob"
        await eventually(
            lambda: "Roll back (by bob), succeeded" in str(card().blocks),  # type: ignore[union-attr]
            "the card to show the rollback",
        )

        await s.command("/incident", "update Rolled back; errors falling", "U0BOB", channel)
        state = await self.settled(s, incident_id, lambda st: bool(st.updates))
        assert state.updates[-1].text == "Rolled back; errors falling"
        await eventually(
            lambda: any("Status update from bob" in m.text for m in s.messages_in(channel.id)),
            "the update in the channel",
        )

        await s.command(
            "/incident", "resolve rolled_back Error rate back to normal", "U0BOB", channel
        )
        state = await self.settled(s, incident_id, lambda st: st.archived)
        assert state.status == IncidentStatus.closed
        assert state.resolution == "rolled_back"
        final = card()
        assert final is not None
        assert final.ts == first.ts, "one card, updated in place"
        assert not has_buttons(final)
        assert channel.archived

        kinds = [e.kind for e in state.timeline]
        for kind in (
            "declared",
            "channel",
            "lead",
            "rollback-decision",
            "rollback-result",
            "update",
            "resolved",
            "archived",
        ):
            assert kind in kinds, f"{kind} missing from {kinds}"
        methods = [c.method for c in s.slack.calls]
        for method in (
            "views.open",
            "conversations.create",
            "conversations.invite",
            "conversations.setTopic",
            "pins.add",
            "chat.update",
            "conversations.archive",
        ):
            assert method in methods, f"{method} never called"
        assert methods.index("chat.update") < methods.index("conversations.archive")

    async def test_a_title_is_kept_as_typed(self, slack_stack: SlackStack) -> None:
        """Slack sends ``&`` and ``>`` escaped: the incident's title and its channel's name
        come from what was typed (no ``-amp-`` in the channel)."""
        s = slack_stack
        await s.command("/incident", "Payments &amp; refunds &gt; 5 s", user="U0ALICE")
        created = await eventually(
            lambda: [
                c
                for c in s.slack.calls_to("conversations.create")
                if "-payments-" in str(c.params["name"]) and "refunds" in str(c.params["name"])
            ],
            "the channel",
        )
        name = str(created[0].params["name"])
        assert "amp" not in name
        assert "gt" not in name.split("-")
        incident_id = f"INC-{int(name.split('-')[1])}"
        state = await self.settled(s, incident_id, lambda st: bool(st.title))
        assert state.title == "Payments & refunds > 5 s"

    async def test_subcommands_and_the_other_buttons(self, slack_stack: SlackStack) -> None:
        """Quick declare, lead/messenger by mention, severity, Not now, and Resolve (refused, then done)."""
        s = slack_stack
        await s.command("/incident", "Payments slow", user="U0ALICE")
        created = await eventually(
            lambda: [
                c
                for c in s.slack.calls_to("conversations.create")
                if str(c.params["name"]).endswith("-payments-slow")
            ],
            "the channel",
        )
        channel = s.slack.channel_named(str(created[0].params["name"]))
        assert channel is not None
        incident_id = f"INC-{int(channel.name.split('-')[1])}"
        state = await self.settled(s, incident_id, lambda st: st.severity == "major")

        # A role is taken for oneself, or given by the lead: bob takes the lead, then
        # names the messenger; alice (no role) may not give one.
        await s.command("/incident", "messenger <@U0CAROL|carol>", "U0ALICE", channel)
        await s.command("/incident", "lead <@U0BOB|bob>", "U0BOB", channel)
        await s.command("/incident", "messenger <@U0CAROL|carol>", "U0BOB", channel)
        await s.command("/incident", "severity minor", "U0BOB", channel)
        state = await self.settled(
            s,
            incident_id,
            lambda st: (st.lead, st.messenger, st.severity) == ("bob", "carol", "minor"),
        )
        await eventually(
            lambda: {"U0BOB", "U0CAROL"} <= channel.members, "the lead and messenger invited"
        )
        assert [t for t in s.ephemeral() if "alice may not give carol a role" in t]

        card = await eventually(
            lambda: next((m for m in s.messages_in(channel.id) if m.ts in channel.pins), None),
            "the pinned card",
        )
        await s.press(card, "incident_rollback", f"{incident_id}:not_now", user="U0BOB")
        await self.settled(s, incident_id, lambda st: st.rollback.decision == "not_now")

        await s.press(card, "incident_resolve", incident_id, user="U0ALICE")
        refusal = await eventually(
            lambda: [t for t in s.ephemeral() if "only the incident lead (bob)" in t],
            "Alice's refusal",
        )
        assert refusal
        assert (await s.tocsin.get_incident(incident_id)).status == IncidentStatus.active

        await s.press(card, "incident_resolve", incident_id, user="U0BOB")
        # Resolved, its channel's work done (no postmortem for minor): archived; it closes
        # once the messenger confirms customer communication.
        state = await self.settled(s, incident_id, lambda st: st.archived)
        assert (state.status, state.resolved_by) == (IncidentStatus.resolved, "bob")
        assert channel.archived
        await s.tocsin.confirm_customer_comms(incident_id, CommsConfirmation(by="carol"))
        state = await self.settled(s, incident_id, lambda st: st.status == IncidentStatus.closed)
        assert state.messenger_confirmed_by == "carol"

    async def test_oncall_answers_in_the_ack(self, slack_stack: SlackStack) -> None:
        """``/oncall delivery`` is answered in Slack's 3 s ack: Alice holds the EOC layer."""
        body = urlencode(
            {
                "command": "/oncall",
                "text": "delivery",
                "user_id": "U0CAROL",
                "team_id": "T0ACME",
                "channel_id": "C0GENERAL",
                "response_url": "http://127.0.0.1:9/unused",
                "trigger_id": "1.2.3",
            }
        )
        response = await slack_stack.http.post("/slack/events", content=body, headers=_signed(body))
        assert response.status_code == 200
        answer = response.json()
        assert answer["response_type"] == "ephemeral"
        assert "`delivery` eoc: *Alice* until" in answer["text"]

    @staticmethod
    async def settled(
        s: SlackStack, incident_id: str, check: Callable[[IncidentState], bool]
    ) -> IncidentState:
        async def probe() -> IncidentState | None:
            state = await s.tocsin.get_incident(incident_id)
            return state if check(state) else None

        result: IncidentState = await eventually(probe, f"{incident_id} to settle")
        return result


class TestPageFromSlack:
    """A page reaches its on-call by Slack DM and its team channel, and is acknowledged by button."""

    async def page(self, s: SlackStack, text: str) -> PageState:
        await s.command("/page", f"delivery {text}", user="U0BOB")

        async def opened() -> PageState | None:
            pages = await s.tocsin.list_pages(team="delivery")
            match = [p for p in pages if p.summary == text]
            return await s.tocsin.get_page(match[0].id) if match else None

        result: PageState = await eventually(opened, "the page")
        return result

    async def test_dm_with_buttons_acknowledged_in_place(self, slack_stack: SlackStack) -> None:
        """Alice's DM has the buttons; Carol may not act; Alice's press acks it and both copies update."""
        s = slack_stack
        page = await self.page(s, "Disk full on gitserver-0")
        dm = await eventually(lambda: s.slack.dms.get("U0ALICE"), "a DM to Alice")
        [message] = await eventually(lambda: s.messages_in(dm), "the page DM")
        assert has_buttons(message)
        assert page.id in str(message.blocks)
        team = s.slack.channel_named("delivery-support")
        assert team is not None
        [team_card] = await eventually(lambda: s.messages_in(team.id), "the team channel card")
        assert has_buttons(team_card)

        await s.press(team_card, "page_escalate", page.id, user="U0CAROL")
        refusal = await eventually(
            lambda: [t for t in s.ephemeral() if t.startswith("Could not escalate")],
            "Carol's refusal",
        )
        assert "'carol' may not escalate" in refusal[0]
        assert (await s.tocsin.get_page(page.id)).status == PageStatus.triggered

        await s.press(message, "page_ack", page.id, user="U0ALICE")

        async def acked() -> PageState | None:
            state = await s.tocsin.get_page(page.id)
            return state if state.status == PageStatus.acknowledged else None

        state: PageState = await eventually(acked, "the acknowledgement")
        assert state.acknowledged_by == "alice"
        held = ["page_snooze", "page_unack"]
        await eventually(lambda: button_ids(message) == held, "the DM's Snooze / Un-ack buttons")
        assert "Acknowledged by *Alice*" in str(message.blocks)
        assert [m.ts for m in s.messages_in(dm)] == [message.ts], "updated in place, not re-posted"
        await eventually(lambda: button_ids(team_card) == held, "the team card to follow")
        assert "acknowledged by alice" in str(team_card.blocks)
        assert len(s.messages_in(team.id)) == 1

    async def test_page_a_person_by_mention(self, slack_stack: SlackStack) -> None:
        """``/page <what> for @bob`` (Slack sends the mention as markup) pages Bob alone,
        by DM, though Alice is the one on call; the page is delivery's, Bob's team."""
        s = slack_stack
        await s.command("/page", "Login errors for <@U0BOB|bob>", user="U0ALICE")

        async def opened() -> PageState | None:
            pages = await s.tocsin.list_pages(team="delivery")
            match = [p for p in pages if p.summary == "Login errors"]
            page = await s.tocsin.get_page(match[0].id) if match else None
            return page if page is not None and page.notified else None

        page: PageState = await eventually(opened, "the page to Bob")
        assert [(n.person, n.method) for n in page.notified] == [("bob", "slack")]
        assert page.created_by == "alice"
        dm = await eventually(lambda: s.slack.dms.get("U0BOB"), "a DM to Bob")
        [message] = await eventually(lambda: s.messages_in(dm), "the page DM")
        assert page.id in str(message.blocks)
        assert s.slack.dms.get("U0ALICE") is None

    async def test_slack_outage_falls_back_to_the_next_method(
        self, slack_stack: SlackStack, receiver: Receiver
    ) -> None:
        """Slack answering 5xx to every retry: Alice gets the page by her next method."""
        s = slack_stack
        s.slack.server_error("conversations.open", times=3)
        page = await self.page(s, "Queue backlog growing")
        await receiver.wait_for(lambda ds: any(d.page_id == page.id for d in ds), within=30)
        [delivery] = receiver.for_page(page.id)
        assert delivery.path.endswith("/alice")
        state = await s.tocsin.get_page(page.id)
        failed = [n for n in state.notified if not n.ok]
        assert [n.method for n in failed] == ["slack"]
        assert len(s.slack.calls_to("conversations.open")) == 3, "retried, then moved on"
