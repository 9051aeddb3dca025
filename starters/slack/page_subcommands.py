"""``/page <subcommand> <page id> …``: a page's responder actions from Slack.

- ``/page unack <id>``: give an acknowledged page back (it escalates from step 1);
- ``/page snooze <id> <duration>``: quiet an acknowledged page (``30m``, ``2h``; ≤ ``1w``);
- ``/page reassign <id> <team|@person|email>``: to another team, or one person alone;
- ``/page responders <id> <@person|team|email> …``: ask more people to help now.

Paging stays first: a first word that is a team pages that team. Otherwise one of these
words is a subcommand only when what follows has its shape (a page id, then a duration,
one team or person, or teams and people), so ``/page snooze alerts for delivery`` still
pages delivery. Parsing is pure; naming someone unknown raises ``ValueError`` saying so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from starters.errors import InvalidRequest
from starters.page_responders import Reassignment, Responders, Snooze, snooze_length
from starters.page_targets import find_person
from starters.slack.context import SlackContext
from starters.slack.page_request import whom
from workflows.config import parse_target
from workflows.durations import parse_duration
from workflows.ids import PAGE_KEY
from workflows.models import PageActionInput, PageState

Verb = Literal["unack", "snooze", "reassign", "responders"]
USAGE: dict[Verb, str] = {
    "unack": "`/page unack <page id>`",
    "snooze": "`/page snooze <page id> <duration>` (e.g. `1h`; at most `1w`)",
    "reassign": "`/page reassign <page id> <team|@person|email>`",
    "responders": "`/page responders <page id> <@person|team|email> …`",
}
# What a refusal says the person could not do.
DOING: dict[Verb, str] = {
    "unack": "un-acknowledge",
    "snooze": "snooze",
    "reassign": "reassign",
    "responders": "add responders to",
}


@dataclass(frozen=True)
class PageSubcommand:
    """A ``/page`` that acts on page ``page_id``; ``args``: the words after the id."""

    verb: Verb
    page_id: str
    args: tuple[str, ...]


def page_subcommand(
    text: str, teams: set[str], person_for: Callable[[str], str | None]
) -> PageSubcommand | None:
    """The subcommand ``text`` is, or None when it is not one (it pages someone)."""
    words = text.split()
    if len(words) < 2 or words[0] in teams or not PAGE_KEY.match(words[1]):
        return None
    verb = next((v for v in USAGE if v == words[0]), None)
    if verb is None:
        return None
    page_id, args = words[1], tuple(words[2:])
    if _shaped(verb, args, teams, person_for):
        return PageSubcommand(verb, page_id, args)
    return None


def _shaped(
    verb: Verb, args: tuple[str, ...], teams: set[str], person_for: Callable[[str], str | None]
) -> bool:
    if verb == "unack":
        return not args
    if verb == "snooze":
        return len(args) == 1 and _duration(args[0])
    if verb == "reassign":
        return len(args) == 1 and whom(args[0], teams, person_for) is not None
    return bool(args) and all(_names(word, teams, person_for) for word in args)


def _duration(word: str) -> bool:
    try:
        parse_duration(word)
    except ValueError:
        return False
    return True


def _names(word: str, teams: set[str], person_for: Callable[[str], str | None]) -> bool:
    return whom(word, teams, person_for) is not None or _target(word)


def _target(word: str) -> bool:
    try:
        parse_target(word)
    except ValueError:
        return False
    return True


Send = Callable[[], Awaitable[PageState]]


def page_call(ctx: SlackContext, sub: PageSubcommand, person: str) -> Send:
    """The call ``sub`` makes as ``person``.

    Raises:
        ValueError: a duration over the limit, or someone not in the config (says which);
            pydantic's ``ValidationError`` (a ``ValueError``) for a request over its limits.
    """
    acted = ctx.acted(person)
    tocsin, page_id = ctx.tocsin, sub.page_id
    if sub.verb == "unack":
        action = PageActionInput(**acted)
        return lambda: tocsin.unacknowledge(page_id, action)
    if sub.verb == "snooze":
        snooze_length(sub.args[0])
        snooze = Snooze(duration=sub.args[0], **acted)
        return lambda: tocsin.snooze(page_id, snooze)
    teams = set(ctx.config.current().teams)
    if sub.verb == "reassign":
        found = whom(sub.args[0], teams, ctx.person_for)
        if found is None or found.stranger is not None:
            raise ValueError(_stranger(sub.args[0]))
        reassignment = Reassignment(team=found.team, person=found.person, **acted)
        return lambda: tocsin.reassign(page_id, reassignment)
    targets = [_responder(ctx, word, teams) for word in sub.args]
    responders = Responders(targets=list(dict.fromkeys(targets)), **acted)
    return lambda: tocsin.add_responders(page_id, responders)


def _responder(ctx: SlackContext, word: str, teams: set[str]) -> str:
    """The escalation target ``word`` names (``person:bob``, ``team:ops``…)."""
    found = whom(word, teams, ctx.person_for)
    if found is None:
        return word  # written as a target already: the client checks it
    if found.team is not None:
        return f"team:{found.team}"
    if found.person is None:
        raise ValueError(_stranger(word))
    try:
        return f"person:{find_person(ctx.config.current(), found.person)}"
    except InvalidRequest as err:
        raise ValueError(str(err)) from None


def _stranger(word: str) -> str:
    return f"{word} is not in Tocsin's config: name a team, a person (`@id`, a mention) or their e-mail."
