"""The Slack adapters over real HTTP, through slack-sdk, against the loopback Slack fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from activities.adapters.console_chat import ConsoleChat
from activities.adapters.slack_blocks.cards import page_blocks
from activities.adapters.slack_chat import SlackChat, channel_name, slack_client
from activities.adapters.slack_notify import SlackNotifier
from activities.errors import NotConfigured, NotFound, RateLimited, Rejected, Unavailable
from activities.ports import Message
from tests.fakes.slack import FakeSlack
from worker.build import build_notifiers, default_chat
from worker.settings import Settings
from workflows.config import Person
from workflows.models import PageCard, PageStatus

ALICE = Person(name="Alice", slack="U0ALICE")
BOB = Person(name="Bob", slack="U0BOB")
NOBODY = Person(name="No Slack")

MANIFEST = Path(__file__).parents[2] / "slack-app-manifest.yaml"

PAGE = Message(
    subject="[P1] checkout is down",
    body="Error rate 42% on checkout for 5 minutes.",
    page_id="page-7f3a",
    ack_command="tocsin ack page-7f3a",
    ack_url="https://tocsin.example.com/ack/page-7f3a",
)


@pytest.fixture(scope="module")
async def slack_server() -> AsyncIterator[FakeSlack]:
    """One fake Slack for the module: uvicorn takes a moment to stop."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake_slack(slack_server: FakeSlack) -> FakeSlack:
    """The fake workspace, fresh and with no calls recorded."""
    slack_server.reset()
    return slack_server


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    made = slack_client(fake_slack.token, fake_slack.api_url)
    assert made is not None
    return made


@pytest.fixture
def chat(client: AsyncWebClient) -> SlackChat:
    return SlackChat(client)


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """``action_id`` → ``value`` of every button in the blocks."""
    return {
        element["action_id"]: element["value"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    }


class TestSlackClient:
    def test_no_token_means_no_slack(self) -> None:
        """Without SLACK_BOT_TOKEN there is no client, so Slack stays off."""
        assert slack_client(None, "http://127.0.0.1:1/api/") is None

    def test_api_url_gets_its_trailing_slash(self) -> None:
        """SLACK_API_URL without a trailing slash still joins method names correctly."""
        made = slack_client("xoxb-1", "http://proxy/api")
        assert made is not None
        assert made.base_url == "http://proxy/api/"

    def test_sdk_retries_nothing_by_itself(self) -> None:
        """The client has no retry handlers: Temporal owns retries."""
        made = slack_client("xoxb-1")
        assert made is not None
        assert made.retry_handlers == []
        assert made.base_url == "https://slack.com/api/"

    async def test_token_reaches_slack(self, client: AsyncWebClient, fake_slack: FakeSlack) -> None:
        """auth.test answers as the bot: the token and base URL are wired through."""
        response = await client.auth_test()
        assert response["user_id"] == FakeSlack.bot_user


class TestChannelName:
    def test_slack_rules(self) -> None:
        """Names lose their '#', become lowercase and keep only a-z, 0-9, '-' and '_'."""
        assert channel_name("#INC-42 Checkout: 500s!") == "inc-42-checkout-500s"

    def test_at_most_80_characters(self) -> None:
        """A long title is cut to Slack's 80-character limit."""
        assert len(channel_name("inc-" + "x" * 200)) == 80

    def test_nothing_usable(self) -> None:
        """A name with no usable character is refused rather than sent to Slack."""
        with pytest.raises(Rejected):
            channel_name("#!!!")


class TestCreateChannel:
    async def test_creates_and_returns_the_id(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """The channel appears in the workspace under its cleaned name; its id comes back."""
        channel_id = await chat.create_channel("#INC-1 Checkout down", private=False)
        created = fake_slack.channels[channel_id]
        assert created.name == "inc-1-checkout-down"
        assert not created.is_private

    async def test_private(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """private=True makes a private channel (is_private on conversations.create)."""
        channel_id = await chat.create_channel("inc-2-security", private=True)
        assert fake_slack.channels[channel_id].is_private

    async def test_name_taken_gets_a_suffix(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """Two incidents with the same title both get channels: -2, then -3."""
        first = await chat.create_channel("inc-checkout", private=False)
        second = await chat.create_channel("inc-checkout", private=False)
        third = await chat.create_channel("inc-checkout", private=False)
        names = [fake_slack.channels[c].name for c in (first, second, third)]
        assert names == ["inc-checkout", "inc-checkout-2", "inc-checkout-3"]

    async def test_suffix_keeps_80_characters(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """A suffixed name stays within Slack's limit by shortening the title."""
        long = "inc-" + "y" * 90
        await chat.create_channel(long, private=False)
        second = await chat.create_channel(long, private=False)
        name = fake_slack.channels[second].name
        assert len(name) == 80
        assert name.endswith("-2")


class TestInvite:
    async def test_invites_people_with_slack_ids(
        self, chat: SlackChat, fake_slack: FakeSlack
    ) -> None:
        """People with a Slack id join; people without one are skipped, not an error."""
        channel_id = await chat.create_channel("inc-3", private=False)
        await chat.invite(channel_id, [ALICE, NOBODY, BOB])
        assert {"U0ALICE", "U0BOB"} <= fake_slack.channels[channel_id].members
        assert fake_slack.calls_to("conversations.invite")[0].params["users"] == "U0ALICE,U0BOB"

    async def test_already_in_channel_is_fine(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """Inviting someone already there (a retried activity) succeeds."""
        channel_id = await chat.create_channel("inc-4", private=False)
        await chat.invite(channel_id, [ALICE])
        await chat.invite(channel_id, [ALICE])
        await chat.invite(channel_id, [ALICE, BOB])
        assert {"U0ALICE", "U0BOB"} <= fake_slack.channels[channel_id].members

    async def test_nobody_to_invite_calls_nothing(
        self, chat: SlackChat, fake_slack: FakeSlack
    ) -> None:
        """With no Slack ids at all, Slack is not called."""
        await chat.invite("C0NOPE", [NOBODY])
        assert fake_slack.calls_to("conversations.invite") == []


class TestPost:
    async def test_post_to_id_returns_channel_and_ts(
        self, chat: SlackChat, fake_slack: FakeSlack
    ) -> None:
        """A message posted to a channel id lands there; its reference is ``<channel>/<ts>``."""
        channel_id = await chat.create_channel("inc-5", private=False)
        ref = await chat.post(channel_id, "Rolling back")
        assert [(m.channel, m.ts, m.text) for m in fake_slack.messages] == [
            (channel_id, ref.split("/")[1], "Rolling back")
        ]
        assert ref.split("/")[0] == channel_id

    async def test_card_is_blocks_and_is_updated_in_place(
        self, chat: SlackChat, fake_slack: FakeSlack
    ) -> None:
        """A card becomes Block Kit; update replaces that message (blocks too), no new post."""
        fake_slack.add_channel("delivery-support")
        card = PageCard(
            page_id="p1", team="delivery", summary="Disk full", status=PageStatus.triggered
        )
        ref = await chat.post("#delivery-support", "Disk full", card)
        [message] = fake_slack.messages
        actions = [b for b in message.blocks if b["type"] == "actions"]
        assert [e["action_id"] for e in actions[0]["elements"]] == ["page_ack", "page_escalate"]
        acked = card.model_copy(
            update={"status": PageStatus.acknowledged, "acknowledged_by": "alice"}
        )
        await chat.update("#delivery-support", ref, "Disk full (acknowledged)", acked)
        [message] = fake_slack.messages
        assert message.text == "Disk full (acknowledged)"
        actions = [b for b in message.blocks if b["type"] == "actions"]
        assert [e["action_id"] for e in actions[0]["elements"]] == ["page_snooze", "page_unack"]
        assert "acknowledged by alice" in str(message.blocks)

    async def test_post_to_name_through_pages(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """#name is found through several pages of conversations.list, then cached."""
        for n in range(450):
            fake_slack.add_channel(f"team-{n:03d}")
        wanted = fake_slack.add_channel("delivery-support")
        await chat.post("#delivery-support", "first")
        await chat.post("#delivery-support", "second")
        listed = fake_slack.calls_to("conversations.list")
        assert ["cursor" in call.params for call in listed] == [False, True, True]
        assert [m.channel for m in fake_slack.messages] == [wanted.id, wanted.id]

    async def test_unknown_name(self, chat: SlackChat) -> None:
        """A #name no channel has is NotFound."""
        with pytest.raises(NotFound, match="#no-such-channel"):
            await chat.post("#no-such-channel", "hello")

    async def test_topic_pin_archive(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """Topic set, summary pinned and channel archived, each idempotent where Slack is not."""
        channel_id = await chat.create_channel("inc-6", private=False)
        ref = await chat.post(channel_id, "Summary")
        ts = ref.split("/")[1]
        await chat.set_topic(channel_id, "SEV1 · lead: Alice")
        await chat.pin(channel_id, ref)
        await chat.pin(channel_id, ref)
        await chat.archive(channel_id)
        await chat.archive(channel_id)
        channel = fake_slack.channels[channel_id]
        assert (channel.topic, channel.pins, channel.archived) == ("SEV1 · lead: Alice", [ts], True)

    async def test_usergroup_follows_rotation(self, chat: SlackChat, fake_slack: FakeSlack) -> None:
        """A user group becomes exactly the people given who have a Slack id."""
        await chat.set_usergroup("S0DELIVERY", [BOB, NOBODY, ALICE])
        assert fake_slack.usergroups["S0DELIVERY"] == ["U0ALICE", "U0BOB"]


class TestErrors:
    async def test_rate_limit_carries_retry_after(
        self, chat: SlackChat, fake_slack: FakeSlack
    ) -> None:
        """A 429 is RateLimited with Slack's Retry-After, and the SDK does not retry it."""
        fake_slack.rate_limit("chat.postMessage", retry_after=17)
        channel_id = await chat.create_channel("inc-7", private=False)
        with pytest.raises(RateLimited) as raised:
            await chat.post(channel_id, "hello")
        assert raised.value.retry_after == 17
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
        assert fake_slack.messages == []

    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            ("not_in_channel", Rejected),
            ("is_archived", Rejected),
            ("channel_not_found", NotFound),
            ("missing_scope", NotConfigured),
            ("fatal_error", Unavailable),
        ],
    )
    async def test_ok_false_is_mapped(
        self, chat: SlackChat, fake_slack: FakeSlack, error: str, expected: type[Exception]
    ) -> None:
        """Each ok:false code becomes the domain error that decides retrying, and names the code."""
        fake_slack.error("chat.postMessage", error)
        with pytest.raises(expected, match=error):
            await chat.post("C0ANY", "hello")

    async def test_server_error_is_unavailable(
        self, chat: SlackChat, fake_slack: FakeSlack
    ) -> None:
        """A 500 from Slack is Unavailable (worth retrying), with one call made."""
        fake_slack.server_error("conversations.create")
        with pytest.raises(Unavailable, match="500"):
            await chat.create_channel("inc-8", private=False)
        assert len(fake_slack.calls_to("conversations.create")) == 1

    async def test_unreachable_is_unavailable(self) -> None:
        """Nothing listening at SLACK_API_URL is Unavailable, not a crash."""
        made = slack_client("xoxb-1", "http://127.0.0.1:9/")
        assert made is not None
        with pytest.raises(Unavailable):
            await SlackChat(made).post("C0ANY", "hello")

    async def test_wrong_token_is_not_configured(self, fake_slack: FakeSlack) -> None:
        """A wrong bot token is NotConfigured: the install is wrong, retrying cannot help."""
        made = slack_client("xoxb-wrong", fake_slack.api_url)
        assert made is not None
        with pytest.raises(NotConfigured, match="invalid_auth"):
            await SlackChat(made).create_channel("inc-9", private=False)
        assert fake_slack.channels == {}


class TestPageBlocks:
    def test_buttons_carry_the_page_id(self) -> None:
        """Acknowledge and Escalate buttons both carry the page id as their value."""
        assert _buttons(page_blocks(PAGE)) == {
            "page_ack": "page-7f3a",
            "page_escalate": "page-7f3a",
        }

    def test_shows_subject_body_and_page(self) -> None:
        """The subject heads the message; the body and the page id are shown."""
        blocks = page_blocks(PAGE)
        assert blocks[0]["text"]["text"] == PAGE.subject
        assert blocks[1]["text"]["text"] == PAGE.body
        assert "page-7f3a" in blocks[2]["elements"][0]["text"]

    def test_long_subject_fits_a_header(self) -> None:
        """A subject longer than Slack's 150-character header limit is clipped."""
        long = Message("x" * 400, "b", "p-1", "tocsin ack p-1", "https://t/ack/p-1")
        assert len(page_blocks(long)[0]["text"]["text"]) == 150


class TestSlackNotifier:
    async def test_dm_with_buttons(self, client: AsyncWebClient, fake_slack: FakeSlack) -> None:
        """The page is DM'd to the person's Slack id with both buttons and the page id."""
        delivered = await SlackNotifier(client).send(ALICE, "slack", PAGE)
        assert delivered == "slack:U0ALICE"
        (message,) = fake_slack.messages
        assert message.channel == fake_slack.dms["U0ALICE"]
        assert PAGE.subject in message.text
        assert PAGE.body in message.text
        assert _buttons(message.blocks) == {
            "page_ack": "page-7f3a",
            "page_escalate": "page-7f3a",
        }

    async def test_no_slack_id(self, client: AsyncWebClient, fake_slack: FakeSlack) -> None:
        """A person without a Slack id is NotConfigured, so the next contact method is tried."""
        with pytest.raises(NotConfigured, match="No Slack"):
            await SlackNotifier(client).send(NOBODY, "slack", PAGE)
        assert fake_slack.calls == []

    async def test_slack_down(self, client: AsyncWebClient, fake_slack: FakeSlack) -> None:
        """A Slack outage while posting is Unavailable."""
        fake_slack.server_error("chat.postMessage")
        with pytest.raises(Unavailable):
            await SlackNotifier(client).send(ALICE, "slack", PAGE)

    async def test_rate_limited(self, client: AsyncWebClient, fake_slack: FakeSlack) -> None:
        """A rate-limited DM is RateLimited with Slack's Retry-After."""
        fake_slack.rate_limit("conversations.open", retry_after=3)
        with pytest.raises(RateLimited) as raised:
            await SlackNotifier(client).send(ALICE, "slack", PAGE)
        assert raised.value.retry_after == 3


class TestManifest:
    def test_commands_point_at_the_bolt_endpoint(self) -> None:
        """/incident, /oncall, /page and /silence are declared, all on /slack/events,
        mentions escaped."""
        manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
        commands = manifest["features"]["slash_commands"]
        assert [c["command"] for c in commands] == ["/incident", "/oncall", "/page", "/silence"]
        assert {c["url"] for c in commands} == {"https://tocsin.example.com/slack/events"}
        assert all(c["should_escape"] for c in commands)
        interactivity = manifest["settings"]["interactivity"]
        assert interactivity["request_url"] == "https://tocsin.example.com/slack/events"

    def test_exactly_the_scopes_used(self) -> None:
        """The bot asks for the scopes the adapters' methods need, and nothing more."""
        manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
        assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
            "channels:manage",
            "channels:read",
            "chat:write",
            "commands",
            "groups:read",
            "groups:write",
            "im:history",
            "im:write",
            "pins:write",
            "usergroups:write",
        ]


class TestWiring:
    async def test_slack_env_turns_on_slack_notifications_and_chat(
        self, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With SLACK_BOT_TOKEN and SLACK_API_URL set, `slack` contacts and incident chat use Slack."""
        monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
        monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
        settings = Settings.from_env()
        notifiers = build_notifiers(settings)
        assert isinstance(notifiers["slack"], SlackNotifier)
        assert isinstance(default_chat(settings), SlackChat)

    def test_without_slack_env_the_console_is_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No token: no `slack` notifier (that contact method falls through) and console chat."""
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        settings = Settings.from_env()
        assert "slack" not in build_notifiers(settings)
        assert isinstance(default_chat(settings), ConsoleChat)
