"""Slack as the ``Chat`` port, through slack-sdk's ``AsyncWebClient``.

The client is built without retry handlers: a 429 becomes :class:`RateLimited` with
Slack's ``Retry-After`` at once, and Temporal retries the activity after that delay, so
a rate limit never holds a worker slot or delays an escalation timer.

Slack's errors map to domain errors as follows (codes from api.slack.com/methods):

* HTTP 429 (or ``ratelimited``) → :class:`RateLimited`;
* HTTP 5xx, connection failures, timeouts and Slack's own ``fatal_error``,
  ``internal_error``, ``service_unavailable``, ``request_timeout`` → :class:`Unavailable`;
* token or scope problems (``invalid_auth``, ``not_authed``, ``token_revoked``,
  ``missing_scope``, …) → :class:`NotConfigured`: the install is wrong, a retry will not
  help, and a page should fall back to the person's next contact method;
* ``channel_not_found``, ``user_not_found``, ``message_not_found``, ``no_such_subteam`` →
  :class:`NotFound`;
* any other ``ok: false`` (``not_in_channel``, ``is_archived``, ``invalid_name_*``, …) →
  :class:`Rejected`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from activities.adapters.slack_blocks import Block
from activities.adapters.slack_blocks.cards import incident_card, page_card
from activities.errors import NotConfigured, NotFound, RateLimited, Rejected, Unavailable
from activities.ports import Card
from workflows.chat_models import IncidentCard
from workflows.config import Person

MAX_NAME = 80
# Beyond this many ``-N`` suffixes something is wrong (a loop, not a busy workspace).
MAX_SUFFIX = 50
DEFAULT_RETRY_AFTER = 30.0

_UNAVAILABLE = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
_NOT_CONFIGURED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
_NOT_FOUND = frozenset(
    {
        "channel_not_found",
        "user_not_found",
        "users_not_found",
        "message_not_found",
        "no_such_subteam",
    }
)
_INVALID = re.compile(r"[^a-z0-9_-]+")


def slack_client(token: str | None, base_url: str | None = None) -> AsyncWebClient | None:
    """The Web API client for the bot ``token`` (``SLACK_BOT_TOKEN``), or None without one.

    ``base_url`` (``SLACK_API_URL``) overrides Slack's (Enterprise proxies, the test fake);
    it gets the trailing slash slack-sdk needs to join method names onto it.
    """
    if not token:
        return None
    url = base_url or AsyncWebClient.BASE_URL
    if not url.endswith("/"):
        url += "/"
    return AsyncWebClient(token=token, base_url=url, retry_handlers=[])


@contextmanager
def slack_errors(method: str, tolerate: frozenset[str] = frozenset()) -> Iterator[None]:
    """Turn what slack-sdk and aiohttp raise during ``method`` into domain errors.

    Args:
        method: the Web API method, for the error message.
        tolerate: ``ok: false`` codes that mean "already done"; they are swallowed, so
            the caller sees its response variable unassigned.
    """
    try:
        yield
    except SlackApiError as err:
        if _code(err) in tolerate:
            return
        raise _api_error(method, err) from None
    except (TimeoutError, aiohttp.ClientError, SlackClientError) as err:
        raise Unavailable(f"slack {method}: {type(err).__name__}: {err}") from None


def _code(err: SlackApiError) -> str:
    data = err.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _api_error(method: str, err: SlackApiError) -> Exception:
    status = err.response.status_code
    code = _code(err)
    if status == 429 or code == "ratelimited":
        header = err.response.headers.get("Retry-After")
        retry_after = float(header) if header else DEFAULT_RETRY_AFTER
        return RateLimited(f"slack {method}: rate limited", retry_after)
    if status >= 500 or code in _UNAVAILABLE:
        return Unavailable(f"slack {method}: HTTP {status} {code}".rstrip())
    message = f"slack {method}: {code or f'HTTP {status}'}"
    if code in _NOT_CONFIGURED:
        return NotConfigured(message)
    if code in _NOT_FOUND:
        return NotFound(message)
    return Rejected(message)


def blocks_for(card: Card | None) -> list[Block] | None:
    if card is None:
        return None
    return incident_card(card) if isinstance(card, IncidentCard) else page_card(card)


def channel_name(name: str) -> str:
    """Slack's channel name rules: no ``#``, lowercase, ``a-z0-9_-``, at most 80 chars.

    Raises:
        Rejected: nothing usable is left of ``name``.
    """
    cleaned = _INVALID.sub("-", name.removeprefix("#").lower()).strip("-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:MAX_NAME].rstrip("-")
    if not cleaned:
        raise Rejected(f"no usable Slack channel name in {name!r}")
    return cleaned


class SlackChat:
    """Incident channels in a Slack workspace; channel references are Slack ids."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._ids: dict[str, str] = {}

    async def create_channel(self, name: str, private: bool) -> str:
        """Create the channel; a taken name gets ``-2``, ``-3``… so every incident has one.

        Not idempotent: an activity retried after a create whose answer was lost makes a
        second, suffixed channel, which is better than sharing another incident's.
        """
        base = channel_name(name)
        for n in range(1, MAX_SUFFIX + 1):
            suffix = "" if n == 1 else f"-{n}"
            candidate = base[: MAX_NAME - len(suffix)].rstrip("-") + suffix
            response = None
            with slack_errors("conversations.create", tolerate=frozenset({"name_taken"})):
                response = await self._client.conversations_create(
                    name=candidate, is_private=private
                )
            if response is None:
                continue
            channel_id = str(response["channel"]["id"])
            self._ids[candidate] = channel_id
            return channel_id
        raise Rejected(f"slack conversations.create: {base!r} and {MAX_SUFFIX - 1} suffixes taken")

    async def invite(self, channel: str, people: list[Person]) -> None:
        """Invite those with a Slack id; people already in the channel are not an error."""
        users = sorted({p.slack for p in people if p.slack})
        if not users:
            return
        channel_id = await self.resolve(channel)
        # force: invite the others even when some are already members
        with slack_errors("conversations.invite", tolerate=frozenset({"already_in_channel"})):
            await self._client.conversations_invite(channel=channel_id, users=users, force=True)

    async def post(self, channel: str, text: str, card: Card | None = None) -> str:
        """Post to a channel id or ``#name``; return ``<channel id>/<ts>`` for updates and pins.

        ``text`` is the notification and screen-reader text; the card's blocks are what
        people see.
        """
        channel_id = await self.resolve(channel)
        with slack_errors("chat.postMessage"):
            response = await self._client.chat_postMessage(
                channel=channel_id, text=text, blocks=blocks_for(card)
            )
        return f"{response['channel']}/{response['ts']}"

    async def update(self, channel: str, ref: str, text: str, card: Card | None = None) -> None:
        """Replace a message this app posted (its ``ref`` from :meth:`post`) in place."""
        channel_id, ts = await self._message(channel, ref)
        with slack_errors("chat.update"):
            await self._client.chat_update(
                channel=channel_id, ts=ts, text=text, blocks=blocks_for(card) or []
            )

    async def set_topic(self, channel: str, topic: str) -> None:
        channel_id = await self.resolve(channel)
        with slack_errors("conversations.setTopic"):
            await self._client.conversations_setTopic(channel=channel_id, topic=topic[:250])

    async def pin(self, channel: str, ref: str) -> None:
        """Pin a message; pinning it twice is not an error."""
        channel_id, ts = await self._message(channel, ref)
        with slack_errors("pins.add", tolerate=frozenset({"already_pinned"})):
            await self._client.pins_add(channel=channel_id, timestamp=ts)

    async def _message(self, channel: str, ref: str) -> tuple[str, str]:
        """The channel id and ``ts`` of a message reference (``C123/1700.01`` or a bare ts)."""
        if "/" in ref:
            channel_id, ts = ref.split("/", 1)
            return channel_id, ts
        return await self.resolve(channel), ref

    async def archive(self, channel: str) -> None:
        """Archive the channel; archiving it twice is not an error."""
        channel_id = await self.resolve(channel)
        with slack_errors("conversations.archive", tolerate=frozenset({"already_archived"})):
            await self._client.conversations_archive(channel=channel_id)

    async def set_usergroup(self, usergroup: str, people: list[Person]) -> None:
        """Make a user group's members exactly these people (those with a Slack id).

        Raises:
            Rejected: nobody has a Slack id (Slack refuses an empty group).
        """
        users = sorted({p.slack for p in people if p.slack})
        if not users:
            raise Rejected(f"user group {usergroup}: nobody with a Slack id to put in it")
        with slack_errors("usergroups.users.update"):
            await self._client.usergroups_users_update(usergroup=usergroup, users=users)

    async def resolve(self, channel: str) -> str:
        """A channel id for ``channel``: ids pass through, ``#name`` is looked up once.

        Raises:
            NotFound: no channel (public or private, not archived) has that name.
        """
        if not channel.startswith("#"):
            return channel
        name = channel[1:]
        if name not in self._ids:
            await self._load_channels()
        if name not in self._ids:
            raise NotFound(f"slack: no channel named {channel}")
        return self._ids[name]

    async def _load_channels(self) -> None:
        cursor: str | None = None
        while True:
            with slack_errors("conversations.list"):
                response = await self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=cursor,
                )
            for found in response["channels"]:
                self._ids[str(found["name"])] = str(found["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return
