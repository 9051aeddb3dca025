"""``/incident <subcommand> …`` in an incident's channel: each subcommand's arguments
parsed into the typed call to make (a ``ValueError`` says what to type instead).

Pure parsing over :class:`~starters.slack.context.SlackContext`: the listener in
:mod:`starters.slack.incidents` acknowledges Slack first, then makes the call.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Literal, cast, get_args

from starters.slack.context import SlackContext
from starters.slack.text import typed
from workflows.incident_models import (
    CommsConfirmation,
    FollowUpRequest,
    IncidentEdit,
    IncidentState,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    UpdateInput,
)

Resolution = Literal["fixed", "rolled_back", "false_positive"]
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
RollbackChoice = Literal["roll_back", "revert", "not_now"]
ROLLBACK_CHOICES: tuple[str, ...] = get_args(RollbackChoice)
# Answers to "did the rollback resolve it? (yes / no)", and the CLI's words for them.
OUTCOMES = {"yes": True, "resolved": True, "no": False, "unresolved": False}
ROLLBACK_USAGE = (
    "Usage: `/incident rollback roll_back|revert|not_now` (add `confirm` to roll back again "
    "after a rollback succeeded), or `/incident rollback yes|no`: did it resolve it?"
)
DEFAULT_SUMMARY = "Resolved from Slack"
FOLLOWUP_USAGE = (
    "Usage: `/incident followup <what must be done>` or `/incident followup <issue URL>`"
)

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
# Slack escapes a pasted link as <https://…> or <https://…|label>.
_LINK = re.compile(r"^<?(https?://[^\s|>]+)(?:\|[^>]*)?>?$")


def mentioned_user(text: str) -> str | None:
    """The Slack user id of an escaped mention (``<@U123|alice>`` or ``<@U123>``)."""
    match = _MENTION.match(text.strip())
    return match.group(1) if match else None


# A subcommand's arguments, parsed (ValueError says what to type): the typed call to make,
# given the incident's id.
Send = Callable[[str], Awaitable[IncidentState]]
Parse = Callable[[SlackContext, str, str, str], Send]


def _role(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    """``lead @user``, ``messenger @user`` or ``owner @user`` (of the resolution)."""
    slack_user = mentioned_user(rest)
    if slack_user is None:
        raise ValueError(f"Usage: `/incident {sub} @user`")
    target = ctx.person_for(slack_user)
    if target is None:
        raise ValueError(f"<@{slack_user}> is not in Tocsin's config, so cannot be {sub}.")
    role = RoleInput(person=target, **ctx.acted(person))
    assign = {
        "lead": ctx.tocsin.assign_lead,
        "messenger": ctx.tocsin.assign_messenger,
        "owner": ctx.tocsin.assign_resolution_owner,
    }[sub]
    return lambda incident_id: assign(incident_id, role)


def _rollback(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    """``rollback roll_back|revert|not_now [confirm]`` decides; ``rollback yes|no`` says
    whether the rollback resolved it."""
    words = rest.lower().split()
    if len(words) == 1 and words[0] in OUTCOMES:
        outcome = RollbackOutcome(resolved=OUTCOMES[words[0]], **ctx.acted(person))
        return lambda incident_id: ctx.tocsin.report_rollback_outcome(incident_id, outcome)
    confirm = words[1:] == ["confirm"]
    if not words or words[0] not in ROLLBACK_CHOICES or (len(words) > 1 and not confirm):
        raise ValueError(ROLLBACK_USAGE)
    choice = cast(RollbackChoice, words[0])
    decision = RollbackDecision(choice=choice, confirm=confirm, **ctx.acted(person))
    return lambda incident_id: ctx.tocsin.decide_rollback(incident_id, decision)


def _severity(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    if not rest or " " in rest:
        names = ", ".join(s.name for s in ctx.config.current().severities)
        raise ValueError(f"Usage: `/incident severity <level>` (levels: {names})")
    return lambda incident_id: ctx.tocsin.change_incident_severity(
        incident_id, rest, ctx.actor(person)
    )


def _update(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    if not rest:
        raise ValueError("Usage: `/incident update <text>`")
    update = UpdateInput(text=typed(rest, ctx.person_for), **ctx.acted(person))
    return lambda incident_id: ctx.tocsin.post_update(incident_id, update)


def _note(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    if not rest:
        raise ValueError("Usage: `/incident note <text>`")
    note = NoteInput(text=typed(rest, ctx.person_for), **ctx.acted(person))
    return lambda incident_id: ctx.tocsin.add_note(incident_id, note)


def _followup(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    """``followup <text>`` opens an issue; ``followup <issue URL>`` links one."""
    if not rest:
        raise ValueError(FOLLOWUP_USAGE)
    link = _LINK.match(rest)
    if link is not None:
        request = FollowUpRequest(issue_url=link.group(1), **ctx.acted(person))
    else:
        request = FollowUpRequest(title=typed(rest, ctx.person_for)[:256], **ctx.acted(person))
    return lambda incident_id: ctx.tocsin.add_followup(incident_id, request)


def _comms(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    note = typed(rest, ctx.person_for) or None
    confirmation = CommsConfirmation(**ctx.acted(person), note=note)
    return lambda incident_id: ctx.tocsin.confirm_customer_comms(incident_id, confirmation)


def _resolve(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    """``resolve [fixed|rolled_back|false_positive] [summary]``."""
    first, _, summary = rest.partition(" ")
    resolution: Resolution = "fixed"
    if first.lower() in RESOLUTIONS:
        resolution = cast(Resolution, first.lower())
    else:
        summary = rest
    summary = typed(summary, ctx.person_for).strip()
    request = ResolveInput(
        resolution=resolution, summary=summary or DEFAULT_SUMMARY, **ctx.acted(person)
    )
    return lambda incident_id: ctx.tocsin.resolve_incident(incident_id, request)


def _edit(ctx: SlackContext, sub: str, rest: str, person: str) -> Send:
    """``title <text>``, ``description <text>`` or ``summary <text>``."""
    text = typed(rest, ctx.person_for).strip()
    if not text:
        raise ValueError(f"Usage: `/incident {sub} <text>`")
    edit = IncidentEdit.model_validate({sub: text, **ctx.acted(person)})
    return lambda incident_id: ctx.tocsin.edit_incident(incident_id, edit)


# Subcommands that only make sense in an incident's channel, each with its parser.
IN_CHANNEL: dict[str, Parse] = {
    "lead": _role,
    "messenger": _role,
    "owner": _role,
    "rollback": _rollback,
    "update": _update,
    "note": _note,
    "severity": _severity,
    "resolve": _resolve,
    "followup": _followup,
    "comms": _comms,
    "title": _edit,
    "description": _edit,
    "summary": _edit,
}
