"""Block Kit for the Slack listeners: pure functions of Tocsin's models, no client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from activities.adapters.slack_blocks import Block
from activities.adapters.slack_blocks.cards import actions_for
from workflows.models import OnCallEntry, PageState, PageStatus

ONCALL_USAGE = (
    "Usage: `/oncall [team]`: who is on call now, for one team or all of them; "
    "`/oncall note <text>`: a handoff note for the next shift."
)
PAGE_USAGE = (
    "Usage: `/page <team> <what is wrong>` or `/page <what is wrong> for <team|@person|email>`: "
    "page a team's on-call, or one person. On a page: `/page unack <id>`, "
    "`/page snooze <id> <duration>`, `/page reassign <id> <team|@person|email>`, "
    "`/page responders <id> <@person|team> …`."
)
STATE_BLOCK = "page_state"
_SECTION_MAX = 3000


def _when(at: datetime | None) -> str:
    """A time Slack shows in each reader's own time zone (fallback: UTC ISO)."""
    if at is None:
        return "?"
    fallback = at.strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _mrkdwn(text: str) -> Block:
    if len(text) > _SECTION_MAX:
        text = text[: _SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def oncall_text(entries: Sequence[OnCallEntry]) -> str:
    """One line per team layer: who holds it and until when."""
    if not entries:
        return "No team has a rotation: nobody is on call."
    lines = []
    for entry in entries:
        who = f"*{entry.name or entry.person}*" if entry.person else "_nobody_"
        until = f" until {_when(entry.end)}" if entry.person and entry.end else ""
        gap = f" (next shift {_when(entry.end)})" if not entry.person and entry.end else ""
        lines.append(f"`{entry.team}` {entry.layer}: {who}{until}{gap}")
    return "\n".join(lines)


def oncall_blocks(entries: Sequence[OnCallEntry]) -> list[Block]:
    """The ``/oncall`` answer."""
    return [_mrkdwn(oncall_text(entries))]


def page_opened_text(page: PageState, created: bool) -> str:
    """The ``/page`` answer: the page id, or the open page it joined."""
    if created:
        return f"Paged `{page.team}`: page `{page.id}` ({page.summary})."
    return f"`{page.team}` already has page `{page.id}` open for this ({page.summary})."


_VERBS = {
    "acknowledge": "Acknowledged",
    "escalate": "Escalated",
    "unacknowledge": "Un-acknowledged",
    "snooze": "Snoozed",
}


def page_state_text(page: PageState, verb: str, actor: str) -> str:
    """What happened and where the page stands now, e.g. ``Acknowledged by Alice``."""
    done = _VERBS.get(verb, verb.capitalize())
    text = f"{done} by *{actor}* · page is *{page.status.value}*"
    if page.status == PageStatus.triggered and page.step_count:
        text += f" (step {page.step} of {page.step_count})"
    if page.status == PageStatus.acknowledged and page.snoozed_until is not None:
        text += f", triggers again {_when(page.snoozed_until)} unless resolved"
    return text


def page_acted_blocks(
    original: Sequence[Block], page: PageState, verb: str, actor: str
) -> list[Block]:
    """The page message after a button: same content, a state line, the buttons of the
    page as it now is (Acknowledge / Escalate while triggered, Snooze / Un-acknowledge
    while acknowledged, none once resolved). A previous state line is replaced, not
    stacked.
    """
    kept: list[Block] = []
    for block in original:
        if block.get("block_id") == STATE_BLOCK or block.get("type") == "actions":
            continue
        kept.append(dict(block))
    state = {
        "type": "context",
        "block_id": STATE_BLOCK,
        "elements": [{"type": "mrkdwn", "text": page_state_text(page, verb, actor)}],
    }
    kept.append(state)
    kept.extend(actions_for(page.status, page.id))
    return kept


def page_subcommand_text(verb: str, page: PageState) -> str:
    """The answer to ``/page unack|snooze|reassign|responders``: what the page now does."""
    if verb == "unack":
        return f"Un-acknowledged page `{page.id}`: it is triggered again, from step 1."
    if verb == "snooze":
        again = _when(page.snoozed_until)
        return f"Snoozed page `{page.id}`: it triggers again {again} unless resolved."
    kind = "retriggered" if verb == "reassign" else "responders"
    last = next((e.text for e in reversed(page.timeline) if e.kind == kind), None)
    return f"Page `{page.id}`: {last or 'done'}."
