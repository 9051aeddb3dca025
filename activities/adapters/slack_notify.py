"""Pages by Slack DM, with Acknowledge and Escalate buttons (the ``slack`` contact method).

Each DM carries its delivery key in Slack message metadata, so whether an attempt that was
cut off (the worker died) reached the person can be read from the DM's history.

Errors map as in :mod:`activities.adapters.slack_chat`; a token problem is
:class:`NotConfigured`, so the page falls back to the person's next contact method.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from activities.adapters.slack_blocks.cards import page_blocks
from activities.adapters.slack_chat import slack_errors
from activities.errors import NotConfigured
from activities.ports import Message
from workflows.config import Person

# The metadata event type of a page DM; its payload holds the delivery key and the page.
EVENT_TYPE = "tocsin_page_notification"
# History is read from this long before the first attempt began: Slack's clock and the
# worker's may differ.
CLOCK_SKEW = timedelta(minutes=5)
# conversations.history pages read at most: a DM gets few messages in the minutes
# between a cut-off attempt and its retry.
HISTORY_LIMIT = 200
HISTORY_PAGES = 5


def page_metadata(message: Message) -> dict[str, Any] | None:
    """Slack message metadata naming the delivery (None without a delivery key)."""
    if message.delivery_key is None:
        return None
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {"delivery_key": message.delivery_key, "page_id": message.page_id},
    }


def carries(posted: Any, key: str) -> bool:
    """Whether a message of ``conversations.history`` carries delivery ``key``."""
    if not isinstance(posted, dict):
        return False
    metadata = posted.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("delivery_key") == key


class SlackNotifier:
    """Opens (or reuses) the DM with the person and posts the page there."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def send(self, person: Person, address: str, message: Message) -> str:
        """DM the page; return ``slack:<user id>``.

        Raises:
            NotConfigured: the person has no Slack id, or the Slack token is unusable.
        """
        channel = await self._dm(person)
        with slack_errors("chat.postMessage"):
            await self._client.chat_postMessage(
                channel=channel,
                # the notification and screen-reader text; the blocks are what people see
                text=f"{message.subject}\n{message.body}",
                blocks=page_blocks(message),
                metadata=page_metadata(message),
            )
        return f"slack:{person.slack}"

    async def find_delivery(
        self, person: Person, address: str, message: Message, since: datetime
    ) -> str | None:
        """``slack:<user id>`` when the person's DM has a message carrying the delivery key
        of ``message`` posted since ``since``; None when it has none.

        Reads ``conversations.history`` (the ``im:history`` scope) with its metadata.

        Raises:
            NotConfigured: the person has no Slack id, or the Slack token is unusable.
            Rejected: the token lacks ``im:history`` (``missing_scope``).
        """
        key = message.delivery_key
        if key is None:
            return None
        channel = await self._dm(person)
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            with slack_errors("conversations.history"):
                history = await self._client.conversations_history(
                    channel=channel,
                    oldest=f"{(since - CLOCK_SKEW).timestamp():.6f}",
                    inclusive=True,
                    include_all_metadata=True,
                    limit=HISTORY_LIMIT,
                    cursor=cursor,
                )
            if any(carries(posted, key) for posted in history.get("messages") or []):
                return f"slack:{person.slack}"
            cursor = (history.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None

    async def _dm(self, person: Person) -> str:
        """The id of the app's DM with ``person``."""
        if not person.slack:
            raise NotConfigured(f"{person.name} has no Slack user id (people.<id>.slack)")
        with slack_errors("conversations.open"):
            opened = await self._client.conversations_open(users=person.slack)
        return str(opened["channel"]["id"])
