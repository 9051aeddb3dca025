"""Block Kit for what Tocsin posts: page notifications and cards, incident cards.

Pure functions of Tocsin's models (STYLE rule 7): no client, no config lookups. The
action ids here are what the Slack listeners in ``starters/slack`` register for.
"""

from __future__ import annotations

from typing import Any

from activities.adapters.slack_blocks import Block
from activities.ports import Message
from workflows.chat_models import IncidentCard
from workflows.incident_models import IncidentStatus
from workflows.models import PageCard, PageStatus

ACK_ACTION = "page_ack"
ESCALATE_ACTION = "page_escalate"
SNOOZE_ACTION = "page_snooze"
UNACK_ACTION = "page_unack"
# How long the Snooze button quiets an acknowledged page.
SNOOZE_BUTTON = "1h"
TAKE_LEAD = "incident_take_lead"
ROLLBACK = "incident_rollback"
ROLLBACK_OUTCOME = "incident_rollback_outcome"
RESOLVE = "incident_resolve"

ROLLBACK_LABELS = {"roll_back": "Roll back", "revert": "Revert", "not_now": "Not now"}

# Block Kit limits: header text 150 chars, section text 3000 chars.
HEADER_MAX = 150
SECTION_MAX = 3000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def button(action_id: str, text: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "action_id": action_id, "text": plain(text), "value": value}
    if style is not None:
        element["style"] = style
    return element


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX)}}


def _context(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def page_actions(page_id: str) -> Block:
    """Acknowledge and Escalate; both carry the page id, so no lookup is needed."""
    return {
        "type": "actions",
        "block_id": f"page:{page_id}",
        "elements": [
            button(ACK_ACTION, "Acknowledge", page_id, "primary"),
            button(ESCALATE_ACTION, "Escalate", page_id, "danger"),
        ],
    }


def held_actions(page_id: str) -> Block:
    """An acknowledged page's buttons: Snooze 1h and Un-acknowledge (with the page id)."""
    return {
        "type": "actions",
        "block_id": f"page:{page_id}",
        "elements": [
            button(SNOOZE_ACTION, f"Snooze {SNOOZE_BUTTON}", page_id),
            button(UNACK_ACTION, "Un-acknowledge", page_id),
        ],
    }


def actions_for(status: PageStatus, page_id: str) -> list[Block]:
    """The buttons a page in ``status`` shows: to take it while triggered, to snooze or
    give it back while acknowledged, none once resolved."""
    if status == PageStatus.triggered:
        return [page_actions(page_id)]
    if status == PageStatus.acknowledged:
        return [held_actions(page_id)]
    return []


def page_blocks(message: Message) -> list[Block]:
    """A page notification (the DM): subject, body, the page id and its buttons."""
    return [
        {"type": "header", "text": plain(clip(message.subject, HEADER_MAX))},
        {
            "type": "section",
            "text": {"type": "plain_text", "text": clip(message.body or " ", SECTION_MAX)},
        },
        _context(f"Page `{message.page_id}`"),
        page_actions(message.page_id),
    ]


def card_status(card: PageCard) -> str:
    if card.status == PageStatus.acknowledged:
        return f"acknowledged by {card.acknowledged_by}"
    if card.status == PageStatus.resolved:
        return f"resolved by {card.resolved_by}" if card.resolved_by else "resolved"
    if card.step_count:
        return f"triggered, step {card.step} of {card.step_count}"
    return "triggered"


_PAGE_ICON = {
    PageStatus.triggered: ":rotating_light:",
    PageStatus.acknowledged: ":eyes:",
    PageStatus.resolved: ":white_check_mark:",
}


def page_card(card: PageCard) -> list[Block]:
    """A page in its team's channel: what, where it stands, and its buttons (see
    :func:`actions_for`)."""
    return [
        _section(f"{_PAGE_ICON[card.status]} *[{card.team}]* {card.summary}"),
        _context(f"Page `{card.page_id}` · {card_status(card)}"),
        *actions_for(card.status, card.page_id),
    ]


def incident_headline(card: IncidentCard) -> str:
    """``INC-42 · critical · checkout is down``."""
    return f"{card.id} · {card.severity} · {card.title}"


def rollback_text(card: IncidentCard) -> str:
    """``Roll back (by alice), succeeded``."""
    if card.rollback is None:
        return "not decided"
    text = ROLLBACK_LABELS[card.rollback]
    if card.rollback_by:
        text += f" (by {card.rollback_by})"
    if card.rollback_running:
        text += ", running"
    elif card.rollback_ok is not None:
        text += ", succeeded" if card.rollback_ok else ", failed"
    return text


def incident_card(card: IncidentCard) -> list[Block]:
    """The incident card: what it is, who leads, the rollback decision, and its buttons.

    A resolved or closed incident has no buttons left.
    """
    fields = [
        f"*Status:* {card.status.value}",
        f"*Lead:* {card.lead or 'nobody yet'}",
        f"*Messenger:* {card.messenger or 'nobody yet'}",
        f"*Rollback:* {rollback_text(card)}",
    ]
    if card.service:
        fields.append(f"*Service:* {card.service}")
    if card.channel and card.channel.startswith("#"):
        fields.append(f"*Channel:* {card.channel}")
    elif card.channel:
        fields.append(f"*Channel:* <#{card.channel}>")
    blocks: list[Block] = [
        _section(f"*{incident_headline(card)}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if card.resolution is not None:
        summary = f"*Resolved ({card.resolution})*"
        if card.resolved_by:
            summary += f" by {card.resolved_by}"
        if card.resolution_summary:
            summary += f": {card.resolution_summary}"
        blocks.append(_section(summary))
    if card.last:
        blocks.append(_context(clip(f"Last: {card.last}", SECTION_MAX)))
    if card.status not in (IncidentStatus.resolved, IncidentStatus.closed):
        if card.rollback_ok is not None and not card.rollback_running:
            # "Did the rollback resolve it?": answered here (again, to change the answer).
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"incident_rollback_outcome:{card.id}",
                    "elements": [
                        button(ROLLBACK_OUTCOME, "Rollback resolved it", f"{card.id}:yes"),
                        button(ROLLBACK_OUTCOME, "It did not", f"{card.id}:no"),
                    ],
                }
            )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"incident_actions:{card.id}",
                "elements": [
                    button(TAKE_LEAD, "Take lead", card.id, "primary"),
                    button(ROLLBACK, "Roll back", f"{card.id}:roll_back", "danger"),
                    button(ROLLBACK, "Revert", f"{card.id}:revert"),
                    button(ROLLBACK, "Not now", f"{card.id}:not_now"),
                    button(RESOLVE, "Resolve", card.id),
                ],
            }
        )
    return blocks
