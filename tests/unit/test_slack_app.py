"""The Slack app through the FastAPI app: signed requests, the loopback Slack fake as the
Web API, a loopback receiver as ``response_url``, and a stub in place of TocsinClient."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from activities.adapters.slack_blocks import commands as blocks
from activities.adapters.slack_blocks.cards import page_blocks, page_card
from activities.adapters.slack_chat import slack_client
from activities.ports import Message
from starters.api import TocsinClient
from starters.checks import NewPage
from starters.errors import InvalidRequest, Rejected
from starters.http.app import SLACK_NOT_CONFIGURED, SlackSettings, create_app
from starters.page_responders import (
    Reassignment,
    Responders,
    Snooze,
    reassign_input,
    responders_input,
)
from starters.slack.context import NOT_IN_CONFIG
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack
from worker.settings import Settings
from workflows.config import TocsinConfig
from workflows.models import (
    OnCallEntry,
    PageActionInput,
    PageCard,
    PageState,
    PageStatus,
    TimelineEntry,
)
from workflows.rotation_models import NoteRequest, ShiftState

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
API_TOKEN = "api-token"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CONFIG = TocsinConfig.model_validate(
    {
        "people": {
            "alice": {"name": "Alice", "slack": "U0ALICE"},
            "bob": {"name": "Bob", "slack": "U0BOB", "email": "bob@example.com"},
        },
        "teams": {
            "delivery": {
                "members": ["alice", "bob"],
                "rotation": "delivery",
                "escalation_policy": "default",
            }
        },
        "rotations": {
            "delivery": {
                "timezone": "America/Chicago",
                "handoff": {"weekday": "monday", "time": "10:00"},
                "shift": "1w",
                "start": "2026-01-05",
                "layers": {"primary": ["alice", "bob"]},
            }
        },
        "escalation_policies": {
            "default": {"steps": [{"targets": ["team:delivery"], "ack_timeout": "5m"}]}
        },
    }
)


class _Config:
    def current(self) -> TocsinConfig:
        return CONFIG


def _page(page_id: str = "a1b2c3d4", **changes: Any) -> PageState:
    base = PageState(
        id=page_id,
        workflow_id=f"page-{page_id}",
        team="delivery",
        summary="checkout is down",
        created_at=NOW,
        step=1,
        step_count=2,
    )
    return base.model_copy(update=changes)


class StubRotations:
    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        self.calls = calls

    async def note(self, rotation: str, request: NoteRequest) -> ShiftState:
        self.calls.append(("note", rotation, request.by, request.text))
        return ShiftState(rotation=rotation, start=NOW, end=NOW + timedelta(days=7), holders={})


@dataclass
class StubTocsin(TocsinClient):
    """TocsinClient's page methods, recorded; no Temporal behind it."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    reject: str | None = None

    def __post_init__(self) -> None:
        self._client = None  # type: ignore[assignment]
        self._config = _Config()
        self._task_queue = "unused"

    async def create_page(self, request: NewPage) -> tuple[PageState, bool]:
        self.calls.append(("create_page", request))
        return _page(team=request.team, summary=request.summary, created_by=request.by), True

    async def acknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        by = action.by
        self.calls.append(("acknowledge", page_id, action.actor))
        if self.reject:
            raise Rejected(self.reject)
        return _page(page_id, status=PageStatus.acknowledged, acknowledged_by=by)

    async def escalate(self, page_id: str, action: PageActionInput) -> PageState:
        self.calls.append(("escalate", page_id, action.actor))
        if self.reject:
            raise Rejected(self.reject)
        return _page(page_id, step=2)

    async def unacknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        self.calls.append(("unacknowledge", page_id, action.actor))
        if self.reject:
            raise Rejected(self.reject)
        return _page(page_id, step=1)

    async def snooze(self, page_id: str, request: Snooze) -> PageState:
        seconds = request.request().seconds
        self.calls.append(("snooze", page_id, request.actor, seconds))
        if self.reject:
            raise Rejected(self.reject)
        until = NOW + timedelta(seconds=seconds)
        return _page(
            page_id, status=PageStatus.acknowledged, acknowledged_by="alice", snoozed_until=until
        )

    async def reassign(self, page_id: str, request: Reassignment) -> PageState:
        """Checked against the config as Tocsin's client does."""
        update = reassign_input(CONFIG, request)
        self.calls.append(("reassign", page_id, request.actor, update.team, update.person))
        whom = f"team {update.team}" if update.team else update.person
        entry = TimelineEntry(
            at=NOW, kind="retriggered", text=f"Reassigned to {whom} by {request.actor}"
        )
        return _page(page_id, step=1, timeline=[entry])

    async def add_responders(self, page_id: str, request: Responders) -> PageState:
        """Checked against the config as Tocsin's client does."""
        update = responders_input(CONFIG, request)
        self.calls.append(("add_responders", page_id, request.actor, update.targets))
        entry = TimelineEntry(at=NOW, kind="responders", text=f"{request.actor} asked bob to help")
        return _page(page_id, timeline=[entry])

    async def rotation_call(self, call: Any) -> Any:
        """The rotation client's calls, answered by :class:`StubRotations`."""
        return await call(StubRotations(self.calls))

    async def oncall(
        self, team: str | None = None, at: datetime | None = None
    ) -> list[OnCallEntry]:
        self.calls.append(("oncall", team))
        if team not in (None, "delivery"):
            raise InvalidRequest(f"unknown team {team!r} (teams: delivery)")
        return [
            OnCallEntry(
                team="delivery",
                rotation="delivery",
                layer="primary",
                person="alice",
                name="Alice",
                start=NOW,
                end=NOW + timedelta(days=7),
            )
        ]


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.stop()


@dataclass
class Harness:
    http: httpx.AsyncClient
    tocsin: StubTocsin
    slack: FakeSlack
    receiver: Receiver

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver.port}/respond"

    async def post(
        self, form: dict[str, str], *, ts: int | None = None, secret: str = SECRET
    ) -> httpx.Response:
        body = urlencode(form)
        return await self.http.post(
            "/slack/events", content=body, headers=_signed(body, ts, secret)
        )

    async def command(self, name: str, text: str, user: str = "U0ALICE") -> httpx.Response:
        return await self.post(
            {
                "command": name,
                "text": text,
                "user_id": user,
                "user_name": "someone",
                "team_id": "T0ACME",
                "channel_id": "C0GENERAL",
                "response_url": self.response_url,
                "trigger_id": "1.2.3",
                "api_app_id": "A0TOCSIN",
            }
        )

    async def press(
        self, action: str, page_id: str, channel: str, ts: str, user: str
    ) -> httpx.Response:
        message = next(m for m in self.slack.messages if m.ts == ts)
        payload = {
            "type": "block_actions",
            "team": {"id": "T0ACME"},
            "user": {"id": user},
            "api_app_id": "A0TOCSIN",
            "trigger_id": "1.2.3",
            "response_url": self.response_url,
            "container": {"type": "message", "channel_id": channel, "message_ts": ts},
            "channel": {"id": channel},
            "message": {"ts": ts, "text": message.text, "blocks": message.blocks},
            "actions": [
                {
                    "type": "button",
                    "action_id": action,
                    "block_id": f"page:{page_id}",
                    "value": page_id,
                    "action_ts": "1700000001.000",
                }
            ],
        }
        return await self.post({"payload": json.dumps(payload)})

    async def page_dm(self, page_id: str, user: str = "U0ALICE") -> tuple[str, str]:
        """A page DM as SlackNotifier posts it; its channel and ts."""
        client = slack_client(self.slack.token, self.slack.api_url)
        assert client is not None
        dm = await client.conversations_open(users=user)
        channel = str(dm["channel"]["id"])
        message = Message("checkout is down", "5xx above 5%", page_id, "tocsin ack", "http://x/ack")
        posted = await client.chat_postMessage(
            channel=channel, text="page", blocks=page_blocks(message)
        )
        return channel, str(posted["ts"])


def _signed(body: str, ts: int | None, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    }


def _signed_bytes(body: bytes, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    }


def _buttons(message_blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The buttons of a message: (action id, label)."""
    return [
        (e["action_id"], e["text"]["text"])
        for b in message_blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def _until(check: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll (bounded) for a side effect of a listener that runs after the ack."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the listener")
        await asyncio.sleep(0.02)


@pytest.fixture
async def harness(slack: FakeSlack, receiver: Receiver) -> AsyncIterator[Harness]:
    slack.reset()
    receiver.deliveries.clear()
    tocsin = StubTocsin()
    client = slack_client(slack.token, slack.api_url)
    assert client is not None
    app = create_app(API_TOKEN, tocsin, slack=SlackSettings(signing_secret=SECRET, client=client))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as http:
            yield Harness(http, tocsin, slack, receiver)


class TestSignature:
    """Every request must carry Slack's signature over a fresh timestamp."""

    async def test_bad_signature_is_401_and_nothing_happens(self, harness: Harness) -> None:
        response = await harness.post({"command": "/oncall", "text": ""}, secret="not-the-secret")
        assert response.status_code == 401
        assert harness.tocsin.calls == []

    async def test_stale_timestamp_is_401(self, harness: Harness) -> None:
        response = await harness.post(
            {"command": "/page", "text": "delivery x", "user_id": "U0ALICE"},
            ts=int(time.time()) - 600,
        )
        assert response.status_code == 401
        await asyncio.sleep(0.1)
        assert harness.tocsin.calls == []


class TestMalformed:
    """What cannot be a Slack request gets 400 and reaches no listener, signed or not."""

    async def test_non_numeric_timestamp_is_400(self, harness: Harness) -> None:
        body = urlencode({"command": "/oncall", "text": ""})
        headers = {**_signed(body, None, SECRET), "x-slack-request-timestamp": "soon"}
        response = await harness.http.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 400
        assert "X-Slack-Request-Timestamp" in response.json()["error"]
        assert harness.tocsin.calls == []

    async def test_signed_body_that_is_not_utf8_is_400(self, harness: Harness) -> None:
        body = b"command=%2Foncall&text=\xff\xfe"
        response = await harness.http.post(
            "/slack/events", content=body, headers=_signed_bytes(body, SECRET)
        )
        assert response.status_code == 400
        assert response.json()["error"] == "the body is not UTF-8 text"
        assert harness.tocsin.calls == []

    @pytest.mark.parametrize("form", [True, False], ids=["interaction payload", "events body"])
    async def test_signed_deep_json_is_400(self, harness: Harness, form: bool) -> None:
        deep = "[" * 5000 + "]" * 5000
        body = urlencode({"payload": deep}).encode() if form else f'{{"a": {deep}}}'.encode()
        response = await harness.http.post(
            "/slack/events", content=body, headers=_signed_bytes(body, SECRET)
        )
        assert response.status_code == 400
        assert "nested more than 32 levels" in response.json()["error"]
        assert harness.tocsin.calls == []


class TestOncall:
    """``/oncall`` answers who holds each layer and until when."""

    async def test_oncall_answers_who_and_until_when(self, harness: Harness) -> None:
        response = await harness.command("/oncall", "delivery")
        assert response.status_code == 200
        answer = response.json()
        assert "`delivery` primary: *Alice* until <!date^" in answer["text"]
        assert harness.tocsin.calls == [("oncall", "delivery")]

    async def test_note_goes_to_the_persons_rotation(self, harness: Harness) -> None:
        """``/oncall note <text>`` adds a handoff note to the current shift as the mapped person."""
        response = await harness.command("/oncall", "note gitserver-0 disk at 85%")
        assert response.status_code == 200
        await _until(
            lambda: ("note", "delivery", "alice", "gitserver-0 disk at 85%") in harness.tocsin.calls
        )
        answer = await _until(lambda: harness.receiver.deliveries)
        assert "Noted on the `delivery` shift" in str(answer[-1].body)

    async def test_oncall_unknown_team_or_extra_words_answer_usage(self, harness: Harness) -> None:
        unknown = await harness.command("/oncall", "nope")
        assert "unknown team 'nope'" in unknown.json()["text"]
        assert blocks.ONCALL_USAGE in unknown.json()["text"]
        extra = await harness.command("/oncall", "what is this")
        assert extra.json()["text"] == blocks.ONCALL_USAGE


class TestPageCommand:
    """``/page`` opens a page as the Slack user's Tocsin person."""

    async def test_page_creates_a_page_as_the_mapped_person(self, harness: Harness) -> None:
        response = await harness.command("/page", "delivery checkout is down", user="U0BOB")
        assert response.status_code == 200
        delivered = await harness.receiver.wait_for(lambda d: len(d) >= 1, within=5)
        (call,) = harness.tocsin.calls
        assert call[0] == "create_page"
        assert call[1].team == "delivery"
        assert call[1].summary == "checkout is down"
        assert call[1].by == "bob"
        assert "a1b2c3d4" in delivered[0].body["text"]
        assert delivered[0].body["response_type"] == "ephemeral"

    async def test_page_reads_text_as_typed_and_the_for_form(self, harness: Harness) -> None:
        """Slack escapes ``>`` and ``&`` and sends mentions as markup; the summary keeps what
        was typed. ``/page <what> for <team>`` (Opsgenie's grammar) works too."""
        await harness.command(
            "/page", "delivery CPU &gt; 90% &amp; rising, ask <@U0BOB|bob.s>", user="U0BOB"
        )
        await harness.command("/page", "checkout is down for delivery", user="U0BOB")
        await harness.receiver.wait_for(lambda d: len(d) >= 2, within=5)
        first, second = (call[1] for call in harness.tocsin.calls)
        assert (first.team, first.summary) == ("delivery", "CPU > 90% & rising, ask @bob")
        assert (second.team, second.summary) == ("delivery", "checkout is down")

    async def test_page_a_person_for_mention_id_or_email(self, harness: Harness) -> None:
        """Opsgenie's ``/genie alert … for <user|email>``: a Slack mention, ``@id`` or an
        e-mail (Slack sends it as ``mailto:`` markup) names one person to page."""
        for whom in ("<@U0ALICE|alice>", "@alice", "<mailto:alice@example.com|alice@example.com>"):
            await harness.command("/page", f"db is slow for {whom}", user="U0BOB")
        await harness.receiver.wait_for(lambda d: len(d) >= 3, within=5)
        asked = [(c[1].team, c[1].person, c[1].summary) for c in harness.tocsin.calls]
        assert asked == [
            (None, "alice", "db is slow"),
            (None, "alice", "db is slow"),
            (None, "alice@example.com", "db is slow"),
        ]

    async def test_page_low_urgency(self, harness: Harness) -> None:
        """A leading ``low`` asks for a low-urgency page, in both grammars."""
        await harness.command("/page", "low delivery printer out of toner", user="U0BOB")
        await harness.command("/page", "low printer jammed for @alice", user="U0BOB")
        await harness.command("/page", "delivery low disk", user="U0BOB")
        await harness.receiver.wait_for(lambda d: len(d) >= 3, within=5)
        asked = [(c[1].team, c[1].person, c[1].urgency, c[1].summary) for c in harness.tocsin.calls]
        assert asked == [
            ("delivery", None, "low", "printer out of toner"),
            (None, "alice", "low", "printer jammed"),
            ("delivery", None, "high", "low disk"),
        ]

    async def test_page_a_stranger_is_refused(self, harness: Harness) -> None:
        response = await harness.command("/page", "db is slow for <@U0NOBODY|zed>", user="U0BOB")
        assert "<@U0NOBODY|zed> is not in Tocsin's config" in response.json()["text"]
        assert harness.tocsin.calls == []

    async def test_page_usage_and_unknown_team(self, harness: Harness) -> None:
        usage = await harness.command("/page", "delivery")
        assert usage.json()["text"] == blocks.PAGE_USAGE
        unknown = await harness.command("/page", "nope help me")
        assert "Unknown team `nope`" in unknown.json()["text"]
        assert harness.tocsin.calls == []

    async def test_unknown_slack_user_gets_not_in_config_and_nothing_is_done(
        self, harness: Harness
    ) -> None:
        response = await harness.command("/page", "delivery checkout is down", user="U0CAROL")
        assert response.json()["text"] == NOT_IN_CONFIG
        channel, ts = await harness.page_dm("a1b2c3d4")
        pressed = await harness.press("page_ack", "a1b2c3d4", channel, ts, user="U0CAROL")
        assert pressed.status_code == 200
        delivered = await harness.receiver.wait_for(lambda d: len(d) >= 1, within=5)
        assert delivered[0].body["text"] == NOT_IN_CONFIG
        assert delivered[0].body["response_type"] == "ephemeral"
        assert harness.tocsin.calls == []
        assert harness.slack.calls_to("chat.update") == []


class TestPageButtons:
    """Acknowledge and Escalate act as the presser and update the message in place."""

    async def test_ack_button_acknowledges_as_the_person_and_updates_in_place(
        self, harness: Harness
    ) -> None:
        channel, ts = await harness.page_dm("a1b2c3d4")
        response = await harness.press("page_ack", "a1b2c3d4", channel, ts, user="U0ALICE")
        assert response.status_code == 200
        (update,) = await _until(lambda: harness.slack.calls_to("chat.update"))
        assert harness.tocsin.calls == [("acknowledge", "a1b2c3d4", "alice (slack U0ALICE)")]
        assert update.params["channel"] == channel
        assert update.params["ts"] == ts
        message = next(m for m in harness.slack.messages if m.ts == ts)
        state = [b for b in message.blocks if b.get("block_id") == blocks.STATE_BLOCK]
        assert "Acknowledged by *Alice*" in state[0]["elements"][0]["text"]
        assert "acknowledged" in state[0]["elements"][0]["text"]
        assert _buttons(message.blocks) == [
            ("page_snooze", "Snooze 1h"),
            ("page_unack", "Un-acknowledge"),
        ]
        assert harness.receiver.deliveries == []

    async def test_snooze_button_snoozes_an_hour_and_keeps_its_buttons(
        self, harness: Harness
    ) -> None:
        channel, ts = await harness.page_dm("a1b2c3d4")
        await harness.press("page_ack", "a1b2c3d4", channel, ts, user="U0ALICE")
        await _until(lambda: harness.slack.calls_to("chat.update"))

        await harness.press("page_snooze", "a1b2c3d4", channel, ts, user="U0ALICE")

        await _until(lambda: len(harness.slack.calls_to("chat.update")) == 2)
        assert harness.tocsin.calls[-1] == ("snooze", "a1b2c3d4", "alice (slack U0ALICE)", 3600)
        message = next(m for m in harness.slack.messages if m.ts == ts)
        [state] = [b for b in message.blocks if b.get("block_id") == blocks.STATE_BLOCK]
        text = state["elements"][0]["text"]
        assert text.startswith(
            "Snoozed by *Alice* · page is *acknowledged*, triggers again <!date^"
        )
        assert text.endswith("unless resolved")
        assert [b for b, _ in _buttons(message.blocks)] == ["page_snooze", "page_unack"]

    async def test_unack_button_gives_the_page_back_with_its_first_buttons(
        self, harness: Harness
    ) -> None:
        channel, ts = await harness.page_dm("a1b2c3d4")
        await harness.press("page_ack", "a1b2c3d4", channel, ts, user="U0ALICE")
        await _until(lambda: harness.slack.calls_to("chat.update"))

        await harness.press("page_unack", "a1b2c3d4", channel, ts, user="U0ALICE")

        await _until(lambda: len(harness.slack.calls_to("chat.update")) == 2)
        assert harness.tocsin.calls[-1] == ("unacknowledge", "a1b2c3d4", "alice (slack U0ALICE)")
        message = next(m for m in harness.slack.messages if m.ts == ts)
        [state] = [b for b in message.blocks if b.get("block_id") == blocks.STATE_BLOCK]
        text = state["elements"][0]["text"]
        assert text == "Un-acknowledged by *Alice* · page is *triggered* (step 1 of 2)"
        assert [b for b, _ in _buttons(message.blocks)] == ["page_ack", "page_escalate"]

    async def test_refused_unack_says_why(self, harness: Harness) -> None:
        harness.tocsin.reject = "page a1b2c3d4 is not acknowledged"
        channel, ts = await harness.page_dm("a1b2c3d4")

        await harness.press("page_unack", "a1b2c3d4", channel, ts, user="U0BOB")

        delivered = await harness.receiver.wait_for(lambda d: len(d) >= 1, within=5)
        assert delivered[0].body["text"] == (
            "Could not un-acknowledge page `a1b2c3d4`: page a1b2c3d4 is not acknowledged"
        )
        assert delivered[0].body["response_type"] == "ephemeral"
        assert harness.slack.calls_to("chat.update") == []

    async def test_escalate_button_keeps_the_buttons(self, harness: Harness) -> None:
        channel, ts = await harness.page_dm("a1b2c3d4")
        await harness.press("page_escalate", "a1b2c3d4", channel, ts, user="U0BOB")
        await _until(lambda: harness.slack.calls_to("chat.update"))
        assert harness.tocsin.calls == [("escalate", "a1b2c3d4", "bob (slack U0BOB)")]
        message = next(m for m in harness.slack.messages if m.ts == ts)
        assert [b for b in message.blocks if b["type"] == "actions"]
        assert "Escalated by *Bob*" in json.dumps(message.blocks)

    async def test_rejected_ack_gets_an_ephemeral_explanation_only(self, harness: Harness) -> None:
        harness.tocsin.reject = "page a1b2c3d4 is resolved: cannot acknowledge"
        channel, ts = await harness.page_dm("a1b2c3d4")
        await harness.press("page_ack", "a1b2c3d4", channel, ts, user="U0ALICE")
        delivered = await harness.receiver.wait_for(lambda d: len(d) >= 1, within=5)
        body = delivered[0].body
        assert "is resolved: cannot acknowledge" in body["text"]
        assert body["response_type"] == "ephemeral"
        assert body["replace_original"] is False
        await asyncio.sleep(0.1)
        assert harness.slack.calls_to("chat.update") == []


class TestPageSubcommands:
    """``/page unack|snooze|reassign|responders <id> …`` act on a page as the Slack user;
    paging keeps the words that do not have a subcommand's shape."""

    async def answer(self, harness: Harness) -> str:
        delivered = await harness.receiver.wait_for(lambda d: len(d) >= 1, within=5)
        assert delivered[0].body["response_type"] == "ephemeral"
        return str(delivered[0].body["text"])

    async def test_snooze(self, harness: Harness) -> None:
        response = await harness.command("/page", "snooze a1b2c3d4 30m")

        assert response.status_code == 200
        answer = await self.answer(harness)
        assert harness.tocsin.calls == [("snooze", "a1b2c3d4", "alice (slack U0ALICE)", 1800)]
        assert answer.startswith("Snoozed page `a1b2c3d4`: it triggers again <!date^")

    async def test_unack(self, harness: Harness) -> None:
        await harness.command("/page", "unack a1b2c3d4", user="U0BOB")

        answer = await self.answer(harness)
        assert harness.tocsin.calls == [("unacknowledge", "a1b2c3d4", "bob (slack U0BOB)")]
        assert answer == "Un-acknowledged page `a1b2c3d4`: it is triggered again, from step 1."

    @pytest.mark.parametrize(
        ("whom", "team", "person"),
        [
            ("<@U0BOB|bob>", None, "bob"),
            ("@bob", None, "bob"),
            ("<mailto:bob@example.com|bob@example.com>", None, "bob"),
            ("delivery", "delivery", None),
        ],
    )
    async def test_reassign(
        self, harness: Harness, whom: str, team: str | None, person: str | None
    ) -> None:
        await harness.command("/page", f"reassign a1b2c3d4 {whom}")

        answer = await self.answer(harness)
        assert harness.tocsin.calls == [
            ("reassign", "a1b2c3d4", "alice (slack U0ALICE)", team, person)
        ]
        assert answer.startswith("Page `a1b2c3d4`: Reassigned to ")

    async def test_responders(self, harness: Harness) -> None:
        await harness.command("/page", "responders a1b2c3d4 <@U0BOB|bob> delivery @bob")

        answer = await self.answer(harness)
        assert harness.tocsin.calls == [
            ("add_responders", "a1b2c3d4", "alice (slack U0ALICE)", ["person:bob", "team:delivery"])
        ]
        assert answer == "Page `a1b2c3d4`: alice (slack U0ALICE) asked bob to help."

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("snooze a1b2c3d4 2w", "a snooze lasts at most 1w, not 2w"),
            ("reassign a1b2c3d4 <@U0NOBODY|zed>", "<@U0NOBODY|zed> is not in Tocsin's config"),
            ("responders a1b2c3d4 zed@example.com", "unknown person 'zed@example.com'"),
            ("snooze a1b2c3d4", "Usage: `/page snooze <page id> <duration>`"),
            ("reassign a1b2c3d4 nobody-we-know", "Usage: `/page reassign <page id>"),
        ],
    )
    async def test_bad_input_is_answered_at_once(
        self, harness: Harness, text: str, says: str
    ) -> None:
        response = await harness.command("/page", text)

        assert says in response.json()["text"]
        assert response.json()["response_type"] == "ephemeral"
        await asyncio.sleep(0.1)
        assert harness.tocsin.calls == []

    async def test_a_refusal_says_why(self, harness: Harness) -> None:
        harness.tocsin.reject = "page a1b2c3d4 is not acknowledged: acknowledge it before snoozing"

        await harness.command("/page", "snooze a1b2c3d4 1h")

        assert await self.answer(harness) == (
            "Could not snooze page `a1b2c3d4`: page a1b2c3d4 is not acknowledged: "
            "acknowledge it before snoozing"
        )

    @pytest.mark.parametrize(
        ("text", "summary"),
        [
            ("snooze alerts for delivery", "snooze alerts"),
            ("reassign db to me for delivery", "reassign db to me"),
            ("delivery unack a1b2c3d4", "unack a1b2c3d4"),
        ],
    )
    async def test_what_is_not_a_subcommand_pages(
        self, harness: Harness, text: str, summary: str
    ) -> None:
        await harness.command("/page", text)

        await self.answer(harness)
        [(verb, request)] = harness.tocsin.calls
        assert (verb, request.team, request.summary) == ("create_page", "delivery", summary)


class TestConfiguration:
    """Slack is off, and says so, until it is configured."""

    async def test_slack_not_configured_answers_503(self) -> None:
        app = create_app(API_TOKEN, StubTocsin())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as http:
                response = await http.post("/slack/events", content="command=%2Foncall")
        assert response.status_code == 503
        assert response.json()["detail"] == SLACK_NOT_CONFIGURED

    def test_slack_settings_need_both_secrets(self) -> None:
        def slack(**env: str) -> SlackSettings | None:
            return SlackSettings.from_settings(Settings.from_env(environ=env))

        assert slack(SLACK_BOT_TOKEN="xoxb-1") is None
        assert slack(SLACK_SIGNING_SECRET="s") is None
        settings = slack(
            SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", SLACK_API_URL="http://x/api"
        )
        assert settings is not None
        assert settings.signing_secret == "s"
        assert settings.client.base_url == "http://x/api/"


class TestBlocks:
    """Block Kit builders are pure functions of Tocsin's models."""

    async def test_blocks_oncall_text(self) -> None:
        entries = await StubTocsin().oncall()
        text = blocks.oncall_text(entries)
        assert text.startswith("`delivery` primary: *Alice* until <!date^")
        empty = OnCallEntry(team="t", rotation="r", layer="main", person=None, end=NOW)
        assert "_nobody_ (next shift" in blocks.oncall_text([empty])
        assert blocks.oncall_text([]).startswith("No team has a rotation")
        assert blocks.oncall_blocks(entries)[0]["text"]["type"] == "mrkdwn"

    def test_blocks_page_acted_replaces_the_state_line(self) -> None:
        original = page_blocks(Message("s", "b", "p1", "tocsin ack p1", "http://x/ack"))
        escalated = blocks.page_acted_blocks(original, _page("p1", step=2), "escalate", "Bob")
        assert [b["type"] for b in escalated] == [
            "header",
            "section",
            "context",
            "context",
            "actions",
        ]
        acked = blocks.page_acted_blocks(
            escalated, _page("p1", status=PageStatus.acknowledged), "acknowledge", "Alice"
        )
        states = [b for b in acked if b.get("block_id") == blocks.STATE_BLOCK]
        assert len(states) == 1
        assert (
            states[0]["elements"][0]["text"] == "Acknowledged by *Alice* · page is *acknowledged*"
        )
        assert [a for a, _ in _buttons(acked)] == ["page_snooze", "page_unack"]
        assert original[-1]["type"] == "actions"  # the input is not changed
        resolved = blocks.page_acted_blocks(
            acked, _page("p1", status=PageStatus.resolved), "resolve", "Alice"
        )
        assert _buttons(resolved) == []

    def test_blocks_team_card_buttons_follow_the_status(self) -> None:
        """Triggered: Acknowledge / Escalate; acknowledged: Snooze 1h / Un-acknowledge
        (each carrying the page id); resolved: none."""
        card = PageCard(page_id="p1", team="delivery", summary="s", status=PageStatus.triggered)
        acked = card.model_copy(
            update={"status": PageStatus.acknowledged, "acknowledged_by": "alice"}
        )
        resolved = card.model_copy(update={"status": PageStatus.resolved})

        assert _buttons(page_card(card)) == [
            ("page_ack", "Acknowledge"),
            ("page_escalate", "Escalate"),
        ]
        assert _buttons(page_card(acked)) == [
            ("page_snooze", "Snooze 1h"),
            ("page_unack", "Un-acknowledge"),
        ]
        assert {
            e["value"] for b in page_card(acked) if b["type"] == "actions" for e in b["elements"]
        } == {"p1"}
        assert "acknowledged by alice" in json.dumps(page_card(acked))
        assert _buttons(page_card(resolved)) == []

    def test_blocks_page_opened_text(self) -> None:
        assert "page `a1b2c3d4`" in blocks.page_opened_text(_page(), created=True)
        assert "already has page" in blocks.page_opened_text(_page(), created=False)


class TestIncidentCommand:
    """``/incident`` reaches its listener through the signed endpoint."""

    async def test_incident_command_is_wired_through_the_signed_endpoint(
        self, harness: Harness
    ) -> None:
        """/incident reaches the incident listeners through the same verified endpoint."""
        response = await harness.command("/incident", "lead <@U0ALICE|alice>")
        assert response.status_code == 200
        assert "must be used in the incident's channel" in response.text


class TestMalformedRequests:
    """A body Slack would never send gets a 4xx, never a 5xx, whether signed or not."""

    @pytest.mark.parametrize(
        "payload", ['{"type":"view_submission","view":{}}', "not json", "[]", '{"type": 3}']
    )
    async def test_signed_but_malformed_is_400_or_ignored(
        self, harness: Harness, payload: str
    ) -> None:
        """Signed garbage is refused (400) or left unhandled (404), and nothing is started."""
        response = await harness.post({"payload": payload})
        assert response.status_code in (400, 404)
        assert harness.tocsin.calls == []

    async def test_unsigned_garbage_is_401(self, harness: Harness) -> None:
        """An unparsable body without a valid signature is 401 before anything parses it."""
        response = await harness.post({"payload": "not json"}, secret="wrong")
        assert response.status_code == 401


class TestSocketMode:
    """With an app-level token Tocsin dials out to Slack: no public URL, same listeners."""

    async def test_slash_command_over_the_socket_is_acked_and_answered(
        self, slack: FakeSlack, receiver: Receiver
    ) -> None:
        """An /oncall envelope is acked on the socket by its id, the answer in the ack's payload."""
        slack.reset()
        receiver.deliveries.clear()
        tocsin = StubTocsin()
        client = slack_client(slack.token, slack.api_url)
        assert client is not None
        settings = SlackSettings(signing_secret=None, client=client, app_token=slack.app_token)
        app = create_app(API_TOKEN, tocsin, slack=settings)
        async with app.router.lifespan_context(app):
            envelope = await slack.socket_send(
                "slash_commands",
                {
                    "command": "/oncall",
                    "text": "delivery",
                    "user_id": "U0ALICE",
                    "team_id": "T0ACME",
                    "channel_id": "C0GENERAL",
                    "response_url": f"http://127.0.0.1:{receiver.port}/respond",
                    "trigger_id": "1.2.3",
                    "api_app_id": "A0TOCSIN",
                },
            )
            acks = await _until(
                lambda: [a for a in slack.socket_acks if a.get("envelope_id") == envelope]
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as http:
                over_http = await http.post("/slack/events", content="x")
        [ack] = acks
        assert ("oncall", "delivery") in tocsin.calls
        assert "*Alice*" in ack["payload"]["text"]
        assert ack["payload"]["response_type"] == "ephemeral"
        assert [c.method for c in slack.calls if c.method == "apps.connections.open"]
        assert over_http.status_code == 503
        assert "Socket Mode" in over_http.json()["detail"]

    def test_settings_take_the_app_token_without_a_signing_secret(self) -> None:
        """TOCSIN_SLACK_APP_TOKEN alone (with the bot token) is enough to run Slack."""
        env = {"SLACK_BOT_TOKEN": "xoxb-1"}
        assert SlackSettings.from_settings(Settings.from_env(environ=env)) is None
        with_app = {**env, "TOCSIN_SLACK_APP_TOKEN": "xapp-1"}
        settings = SlackSettings.from_settings(Settings.from_env(environ=with_app))
        assert settings is not None
        assert (settings.signing_secret, settings.app_token) == (None, "xapp-1")
