"""Block Kit for incidents: the incident card, the declare modal, the usage text.

Pure functions of their arguments (STYLE rule 7): no client, no config lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.incident_models import IncidentState, IncidentStatus

Block = dict[str, Any]

# Action ids of the card's buttons (``incidents.register`` listens to them).
TAKE_LEAD = "incident_take_lead"
ROLLBACK = "incident_rollback"
RESOLVE = "incident_resolve"

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

ROLLBACK_LABELS = {"roll_back": "Roll back", "revert": "Revert", "not_now": "Not now"}


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(value: str, label: str | None = None) -> dict[str, Any]:
    return {"text": _text(label or value), "value": value}


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": _text(text),
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def headline(state: IncidentState) -> str:
    """``INC-42 · critical · checkout is down``."""
    return f"{state.id} · {state.severity} · {state.title}"


def card(state: IncidentState) -> list[Block]:
    """The incident card: what it is, who leads, the rollback decision, and its buttons.

    An incident that is resolved or closed has no buttons left.
    """
    rollback = state.rollback
    if rollback.decision is None:
        decision = "not decided"
    else:
        decision = ROLLBACK_LABELS[rollback.decision]
        if rollback.decided_by:
            decision += f" (by {rollback.decided_by})"
        if rollback.running:
            decision += ", running"
    fields = [
        f"*Status:* {state.status}",
        f"*Lead:* {state.lead or 'nobody yet'}",
        f"*Messenger:* {state.messenger or 'nobody yet'}",
        f"*Rollback:* {decision}",
    ]
    if state.service:
        fields.append(f"*Service:* {state.service}")
    if state.channel:
        fields.append(f"*Channel:* {state.channel}")
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline(state)}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if state.resolution is not None:
        summary = f"*Resolved ({state.resolution})*"
        if state.resolved_by:
            summary += f" by {state.resolved_by}"
        if state.resolution_summary:
            summary += f": {state.resolution_summary}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    if state.timeline:
        last = state.timeline[-1]
        who = f"{last.by}: " if last.by else ""
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Last: {who}{last.text}"}]}
        )
    if state.status not in (IncidentStatus.resolved, IncidentStatus.closed):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"incident_actions:{state.id}",
                "elements": [
                    _button(TAKE_LEAD, "Take lead", state.id, "primary"),
                    _button(ROLLBACK, "Roll back", f"{state.id}:roll_back", "danger"),
                    _button(ROLLBACK, "Revert", f"{state.id}:revert"),
                    _button(ROLLBACK, "Not now", f"{state.id}:not_now"),
                    _button(RESOLVE, "Resolve", state.id),
                ],
            }
        )
    return blocks


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
            "`/incident update <text>` — post a status update",
            "`/incident severity <level>` — change the severity",
            "`/incident resolve [fixed|rolled_back|false_positive] [summary]` — resolve",
            "`/incident followup <text>` — not available yet",
            "`/incident help` — this text",
        ]
    )
