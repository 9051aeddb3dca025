"""Pages by Slack DM, with Acknowledge and Escalate buttons (the ``slack`` contact method).

Errors map as in :mod:`activities.adapters.slack_chat`; a token problem is
:class:`NotConfigured`, so the page falls back to the person's next contact method.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from activities.adapters.slack_blocks.cards import page_blocks
from activities.adapters.slack_chat import slack_errors
from activities.errors import NotConfigured
from activities.ports import Message
from workflows.config import Person


class SlackNotifier:
    """Opens (or reuses) the DM with the person and posts the page there."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def send(self, person: Person, address: str, message: Message) -> str:
        """DM the page; return ``slack:<user id>``.

        Raises:
            NotConfigured: the person has no Slack id, or the Slack token is unusable.
        """
        if not person.slack:
            raise NotConfigured(f"{person.name} has no Slack user id (people.<id>.slack)")
        with slack_errors("conversations.open"):
            opened = await self._client.conversations_open(users=person.slack)
        with slack_errors("chat.postMessage"):
            await self._client.chat_postMessage(
                channel=str(opened["channel"]["id"]),
                # the notification and screen-reader text; the blocks are what people see
                text=f"{message.subject}\n{message.body}",
                blocks=page_blocks(message),
            )
        return f"slack:{person.slack}"
