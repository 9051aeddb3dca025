"""Block Kit for incidents: the incident card, the declare modal, the usage text.

Pure functions of their arguments (STYLE rule 7): no client, no config lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from activities.adapters.slack_blocks import Block
from activities.adapters.slack_blocks.cards import (
    RESOLVE,
    ROLLBACK,
    ROLLBACK_LABELS,
    ROLLBACK_OUTCOME,
    TAKE_LEAD,
    button,
    incident_card,
    incident_headline,
)
from workflows.chat_models import IncidentCard
from workflows.incident_models import IncidentState

__all__ = [
    "CONFIRMED",
    "RESOLVE",
    "ROLLBACK",
    "ROLLBACK_OUTCOME",
    "TAKE_LEAD",
    "card",
    "declare_modal",
    "headline",
    "rollback_confirmation",
    "usage",
]

# The last part of a rollback button's value (``INC-42:roll_back:confirm``) that confirms
# running a rollback again after one succeeded.
CONFIRMED = "confirm"


# The declare modal: its callback id, and its block ids (each input's action id is the same).
DECLARE_CALLBACK = "incident_declare"
TITLE = "title"
DESCRIPTION = "description"
SEVERITY = "severity"
SERVICE = "service"
FLAGS = "flags"
CUSTOMER_IMPACT = "customer_impact"
SECURITY = "security"

# Slack allows at most 100 options in a static select.
MAX_OPTIONS = 100


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(value: str, label: str | None = None) -> dict[str, Any]:
    return {"text": _text(label or value), "value": value}


def headline(state: IncidentState) -> str:
    """``INC-42 · critical · checkout is down``."""
    return incident_headline(IncidentCard.of(state))


def card(state: IncidentState) -> list[Block]:
    """The incident card, as the workflow posts it (see ``slack_blocks.incident_card``)."""
    return incident_card(IncidentCard.of(state))


def rollback_confirmation(state: IncidentState, choice: str) -> list[Block]:
    """Asked before a second rollback: the last one succeeded; a button runs it again."""
    rollback = state.rollback
    at = rollback.succeeded_at
    when = f" at {at.astimezone(UTC):%H:%M} UTC" if at is not None else ""
    who = f" (decided by {rollback.succeeded_by})" if rollback.succeeded_by else ""
    target = f"`{state.service}`" if state.service else "The service"
    label = ROLLBACK_LABELS.get(choice, choice)
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{target} was already rolled back successfully{when}{who}. {label} again?",
            },
        },
        {
            "type": "actions",
            "block_id": f"incident_rollback_again:{state.id}",
            "elements": [
                button(ROLLBACK, f"{label} again", f"{state.id}:{choice}:{CONFIRMED}", "danger"),
            ],
        },
    ]


def declare_modal(
    severities: Sequence[str], services: Sequence[str], default: str | None = None
) -> dict[str, Any]:
    """The ``views.open`` view for declaring an incident.

    Args:
        severities: configured severity names, most severe first (at least one).
        services: configured service ids; the service field is left out when there are none.
        default: the severity selected at first (the config's default severity).
    """
    severity_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": SEVERITY,
        "options": [_option(s) for s in severities[:MAX_OPTIONS]],
    }
    if default is not None and default in severities[:MAX_OPTIONS]:
        severity_select["initial_option"] = _option(default)
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": TITLE,
            "label": _text("Title"),
            "element": {
                "type": "plain_text_input",
                "action_id": TITLE,
                "max_length": 200,
                "placeholder": _text("What is broken, for whom"),
            },
        },
        {
            "type": "input",
            "block_id": DESCRIPTION,
            "optional": True,
            "label": _text("Description"),
            "element": {"type": "plain_text_input", "action_id": DESCRIPTION, "multiline": True},
        },
        {
            "type": "input",
            "block_id": SEVERITY,
            "label": _text("Severity"),
            "element": severity_select,
        },
    ]
    if services:
        blocks.append(
            {
                "type": "input",
                "block_id": SERVICE,
                "optional": True,
                "label": _text("Service"),
                "element": {
                    "type": "static_select",
                    "action_id": SERVICE,
                    "options": [_option(s) for s in sorted(services)[:MAX_OPTIONS]],
                },
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": FLAGS,
            "optional": True,
            "label": _text("Impact"),
            "element": {
                "type": "checkboxes",
                "action_id": FLAGS,
                "options": [
                    _option(CUSTOMER_IMPACT, "Customers are affected"),
                    _option(SECURITY, "Security incident"),
                ],
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "title": _text("Declare an incident"),
        "submit": _text("Declare"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def usage() -> str:
    """What ``/incident`` understands."""
    return "\n".join(
        [
            "*Usage of /incident*",
            "`/incident` — open the declare form",
            "`/incident <title>` — declare now with the default severity",
            "In an incident channel:",
            "`/incident lead @user` — make someone the lead",
            "`/incident messenger @user` — make someone the messenger",
            "`/incident owner @user` — name who owns the resolution",
            "`/incident rollback roll_back|revert|not_now [confirm]` — decide on the rollback",
            "`/incident rollback yes|no` — did the rollback resolve it?",
            "`/incident update <text>` — post a status update (the lead or the messenger)",
            "`/incident note <text>` — add a note to the timeline",
            "`/incident summary <text>` — what is known now (also `title`, `description`)",
            "`/incident severity <level>` — change the severity",
            "`/incident resolve [fixed|rolled_back|false_positive] [summary]` — resolve",
            "`/incident followup <text or issue URL>` — add a follow-up (a GitHub issue)",
            "`/incident comms [note]` — confirm customer communication is updated",
            "`/incident help` — this text",
        ]
    )
