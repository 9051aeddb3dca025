"""``/silence`` through the FastAPI app: signed slash commands, a loopback receiver as
``response_url``, silences kept in memory and the signals to held pages recorded instead
of sent to Temporal. The setter is the Slack user's Tocsin person; refusals read as the
API's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activities.adapters.slack_blocks.silence_commands import (
    SILENCE_USAGE,
    silence_list_text,
    silence_set_text,
)
from activities.adapters.slack_chat import slack_client
from starters.http.app import SlackSettings, create_app
from starters.slack.context import NOT_IN_CONFIG
from tests.fakes.receiver import Receiver
from tests.fakes.silences import MemorySilences
from tests.fakes.slack import FakeSlack
from tests.unit.test_silences_http import Signals
from tests.unit.test_slack_app import API_TOKEN, CONFIG, SECRET, Harness, StubTocsin
from tests.unit.test_slack_app import receiver as receiver  # noqa: PLC0414  # a fixture
from tests.unit.test_slack_app import slack as slack  # noqa: PLC0414  # a fixture
from workflows.config import TocsinConfig
from workflows.silence_models import Silence

# The Slack app tests' people and team, with services; "delivery" is a service too.
SILENCE_CONFIG = TocsinConfig.model_validate(
    {
        **CONFIG.model_dump(mode="json", exclude={"services", "silences", "maintenance"}),
        "services": {
            "web": {"team": "delivery"},
            "delivery": {"team": "delivery"},
        },
        "teams": {
            "delivery": {"members": ["alice", "bob"], "escalation_policy": "default"},
            "ops": {"members": ["bob"], "escalation_policy": "default"},
        },
        "rotations": {},
        "silences": {"max_duration": "1d"},
    }
)


class _SilenceConfig:
    def current(self) -> TocsinConfig:
        return SILENCE_CONFIG


@dataclass
class SilenceTocsin(StubTocsin):
    """The Slack app tests' stub client over this module's config, its Temporal recording
    signals."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._config = _SilenceConfig()
        self._client = Signals()  # type: ignore[assignment]

    @property
    def signals(self) -> Signals:
        sent: Signals = self._client  # type: ignore[assignment]
        return sent


@dataclass
class Silencing:
    harness: Harness
    silences: MemorySilences

    async def command(self, text: str, user: str = "U0ALICE") -> httpx.Response:
        return await self.harness.command("/silence", text, user=user)

    async def answer(self) -> dict[str, Any]:
        """The one answer sent to the command's ``response_url``."""
        delivered = await self.harness.receiver.wait_for(lambda d: len(d) >= 1, within=5)
        body: dict[str, Any] = delivered[0].body
        return body


@pytest.fixture(scope="module")
async def served(slack: FakeSlack, receiver: Receiver) -> AsyncIterator[Silencing]:
    """One app for the module (building one is most of a test's time); see :func:`silencing`."""
    tocsin = SilenceTocsin()
    silences = MemorySilences()
    client = slack_client(slack.token, slack.api_url)
    assert client is not None
    app = create_app(
        API_TOKEN,
        tocsin,
        slack=SlackSettings(signing_secret=SECRET, client=client),
        store=silences,  # type: ignore[arg-type]  # keeps silences only, as silences_of allows
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as http:
            yield Silencing(Harness(http, tocsin, slack, receiver), silences)


@pytest.fixture
async def silencing(served: Silencing) -> Silencing:
    """The module's app with no silences, no holds, no signals and no answers yet."""
    served.harness.slack.reset()
    served.harness.receiver.deliveries.clear()
    served.silences.silences.clear()
    served.silences.holds.clear()
    served.harness.tocsin.signals.sent.clear()  # type: ignore[attr-defined]
    return served


def _only(silences: MemorySilences) -> Silence:
    [silence] = silences.silences.values()
    return silence


class TestSet:
    """``/silence <service|team> <duration> <reason>`` sets a silence as the Slack user."""

    async def test_a_service_for_two_hours_said_in_the_channel(self, silencing: Silencing) -> None:
        before = datetime.now(UTC)
        response = await silencing.command("web 2h deploying the new db &amp; <@U0BOB|bob>")

        assert response.status_code == 200
        answer = await silencing.answer()
        silence = _only(silencing.silences)
        assert silence.services == ["web"]
        assert silence.teams == []
        assert silence.reason == "deploying the new db & @bob"
        assert (silence.created_by, silence.created_via) == ("alice", "slack U0ALICE")
        assert (
            before + timedelta(hours=2) <= silence.ends_at <= datetime.now(UTC) + timedelta(hours=2)
        )
        assert answer["response_type"] == "in_channel"
        assert answer["text"].startswith(
            f"alice silenced service `web` until <!date^{int(silence.ends_at.timestamp())}^"
        )
        assert f"(silence `{silence.id}`): deploying the new db &amp; @bob" in answer["text"]
        assert f"`/silence end {silence.id}` ends it early" in answer["text"]

    async def test_a_team(self, silencing: Silencing) -> None:
        await silencing.command("ops 30m rack move", user="U0BOB")

        await silencing.answer()
        silence = _only(silencing.silences)
        assert (silence.teams, silence.services, silence.created_by) == (["ops"], [], "bob")

    @pytest.mark.parametrize(
        ("word", "services", "teams"),
        [("service:delivery", ["delivery"], []), ("team:delivery", [], ["delivery"])],
    )
    async def test_a_name_both_service_and_team_is_named_outright(
        self, silencing: Silencing, word: str, services: list[str], teams: list[str]
    ) -> None:
        await silencing.command(f"{word} 1h migration")

        await silencing.answer()
        silence = _only(silencing.silences)
        assert (silence.services, silence.teams) == (services, teams)


class TestRefusals:
    """Bad input is answered at once, ephemeral, and sets nothing; the desk's refusals
    read as the API's 422s."""

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            (
                "nope 1h x",
                "`nope` is neither a service nor a team (services: delivery, web; teams: delivery, ops).",
            ),
            (
                "delivery 1h x",
                "`delivery` is both a service and a team: write `service:delivery` or `team:delivery`.",
            ),
            (
                "web deploying the db",
                "a silence needs an end: give a duration such as `2h` after `web`.",
            ),
            ("web 2h", "a silence needs a reason"),
            ("web 2x deploy", "duration: invalid duration '2x'"),
            ("web 0m deploy", "duration: duration must be greater than zero"),
            ("list everything", "`list` is neither a service nor a team"),
        ],
    )
    async def test_answered_in_the_ack(self, silencing: Silencing, text: str, says: str) -> None:
        response = await silencing.command(text)

        assert response.json()["response_type"] == "ephemeral"
        assert says in response.json()["text"]
        assert silencing.silences.silences == {}

    async def test_longer_than_the_maximum_reads_as_the_api(self, silencing: Silencing) -> None:
        await silencing.command("web 2d deploy")

        answer = await silencing.answer()
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] == (
            "Could not silence service `web`: a silence may last at most 1d "
            "(silences.max_duration); this one would last 2d"
        )
        assert silencing.silences.silences == {}

    async def test_an_unknown_service_named_outright(self, silencing: Silencing) -> None:
        await silencing.command("service:nope 1h x")

        answer = await silencing.answer()
        assert (
            answer["text"] == "Could not silence service `nope`: services: unknown service 'nope'"
        )

    async def test_a_slack_user_not_in_the_config_sets_nothing(self, silencing: Silencing) -> None:
        for text in ("web 1h deploy", "list", "end abc"):
            response = await silencing.command(text, user="U0CAROL")
            assert response.json()["text"] == NOT_IN_CONFIG
        assert silencing.silences.silences == {}

    @pytest.mark.parametrize("text", ["", "help"])
    async def test_usage(self, silencing: Silencing, text: str) -> None:
        response = await silencing.command(text)

        assert response.json() == {"text": SILENCE_USAGE, "response_type": "ephemeral"}


class TestListAndEnd:
    """``/silence list`` shows what is in force; ``/silence end <id>`` ends one as the
    Slack user and tells the pages it held."""

    async def silence(self, silencing: Silencing, text: str) -> Silence:
        await silencing.command(text)
        await silencing.answer()
        silencing.harness.receiver.deliveries.clear()
        return max(silencing.silences.silences.values(), key=lambda s: s.created_at)

    async def test_list(self, silencing: Silencing) -> None:
        web = await self.silence(silencing, "web 2h deploying")
        ops = await self.silence(silencing, "ops 1h rack move")

        await silencing.command("list", user="U0BOB")

        answer = await silencing.answer()
        assert answer["response_type"] == "ephemeral"
        lines = answer["text"].splitlines()
        assert [line.split()[0] for line in lines] == [f"`{ops.id}`", f"`{web.id}`"]
        assert lines[1].startswith(f"`{web.id}` service `web` until <!date^")
        assert lines[1].endswith(", set by alice: deploying")

    async def test_list_when_there_are_none(self, silencing: Silencing) -> None:
        await silencing.command("list")

        assert (await silencing.answer())["text"] == "No silence is in force or set."

    async def test_end_tells_the_held_pages_and_the_channel(self, silencing: Silencing) -> None:
        web = await self.silence(silencing, "web 2h deploying")
        await silencing.silences.hold_page(web.id, "page-web-1", datetime.now(UTC))

        await silencing.command(f"end {web.id}", user="U0BOB")

        answer = await silencing.answer()
        ended = silencing.silences.silences[web.id]
        assert ended.ended_by == "bob"
        sent = silencing.harness.tocsin.signals.sent  # type: ignore[attr-defined]
        assert [(page, name) for page, name, _ in sent] == [("page-web-1", "recheck_silence")]
        assert answer["response_type"] == "in_channel"
        assert answer["text"] == (
            f"bob ended silence `{web.id}` (service `web`): the pages it held page now if "
            "their alerts still fire."
        )
        silencing.harness.receiver.deliveries.clear()
        await silencing.command("list all")
        listed = (await silencing.answer())["text"]
        assert listed.startswith(f"`{web.id}` service `web` ended <!date^")
        assert "by bob, set by alice: deploying" in listed

    async def test_end_refusals_read_as_the_api(self, silencing: Silencing) -> None:
        web = await self.silence(silencing, "web 2h deploying")
        # It ran out at its end (ending one ended by hand again is not refused: see HTTP).
        past = web.created_at - timedelta(hours=3)
        silencing.silences.silences[web.id] = web.model_copy(
            update={"starts_at": past, "ends_at": past + timedelta(hours=2)}
        )

        await silencing.command(f"end {web.id}")
        again = await silencing.answer()
        silencing.harness.receiver.deliveries.clear()
        await silencing.command("end nope")
        unknown = await silencing.answer()

        assert again["response_type"] == "ephemeral"
        assert again["text"].startswith(
            f"Could not end silence `{web.id}`: silence {web.id} is over already (at "
        )
        assert unknown["text"] == "Could not end silence `nope`: no silence 'nope'"


class TestWithoutAStore:
    async def test_says_so_and_does_nothing(self, slack: FakeSlack, receiver: Receiver) -> None:
        client = slack_client(slack.token, slack.api_url)
        assert client is not None
        app = create_app(
            API_TOKEN, SilenceTocsin(), slack=SlackSettings(signing_secret=SECRET, client=client)
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as http:
                harness = Harness(http, SilenceTocsin(), slack, receiver)
                response = await harness.command("/silence", "web 1h deploy")
        assert response.json()["text"].startswith(
            "Silences are not available here: silences are kept in the incident log database"
        )


class TestTexts:
    """The answers' text, without Slack."""

    def test_a_silence_that_begins_later_says_from_when(self) -> None:
        now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        later = Silence(
            id="abcd1234",
            matchers=['alertname=~"Disk.*"'],
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=3),
            reason="disks <swap>",
            created_by="alice",
            created_at=now,
        )

        assert silence_set_text(later, now).startswith(
            'alice silenced `alertname=~"Disk.*"` from <!date^1772445600^{date_short_pretty} {time}|2026-03-02 10:00 UTC> until <!date^'
        )
        assert "disks &lt;swap&gt;" in silence_set_text(later, now)
        assert silence_list_text([later], now, everything=False).startswith(
            '`abcd1234` `alertname=~"Disk.*"` from <!date^'
        )
