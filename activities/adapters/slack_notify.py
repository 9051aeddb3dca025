"""Pages by Slack DM, with Acknowledge and Escalate buttons (the ``slack`` contact method).

Errors map as in :mod:`activities.adapters.slack_chat`; a token problem is
:class:`NotConfigured`, so the page falls back to the person's next contact method.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from activities.adapters.slack_chat import slack_errors
from activities.errors import NotConfigured
from activities.ports import Message
from workflows.config import Person

ACK_ACTION = "page_ack"
ESCALATE_ACTION = "page_escalate"

# Block Kit limits: header text 150 chars, section text 3000 chars.
_HEADER_MAX = 150
_SECTION_MAX = 3000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_blocks(message: Message) -> list[dict[str, Any]]:
    """Block Kit for a page: subject, body, the page id, Acknowledge and Escalate buttons.

    Both buttons carry the page id as their ``value``, so the interactivity handler
    knows which page workflow to update without any lookup.
    """
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(message.subject, _HEADER_MAX)},
        },
        {
            "type": "section",
            "text": {"type": "plain_text", "text": _clip(message.body or " ", _SECTION_MAX)},
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Page `{message.page_id}`"}],
        },
        {
            "type": "actions",
            "block_id": f"page:{message.page_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACK_ACTION,
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "style": "primary",
                    "value": message.page_id,
                },
                {
                    "type": "button",
                    "action_id": ESCALATE_ACTION,
                    "text": {"type": "plain_text", "text": "Escalate"},
                    "style": "danger",
                    "value": message.page_id,
                },
            ],
        },
    ]


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
