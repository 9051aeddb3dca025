"""What ``/page`` asks for: a team's on-call, or one person, and what is wrong.

``/page <team> <what is wrong>``, or Opsgenie's ``/genie alert <what is wrong> for
<team|@person|email>``: ``for`` takes a team id, a Slack mention (``<@U123|bob>``, Slack's
markup for ``@bob``), a Tocsin person id written ``@bob``, or an e-mail address (which
Slack sends as ``<mailto:bob@example.com|bob@example.com>``). A first word that is a team
wins, so ``/page delivery db down for 5 minutes`` pages delivery. A leading ``low``
(``/page low delivery printer out of toner``) makes it a low-urgency page: the team's
low-urgency policy, quieter methods, working hours (unless a team is called ``low``).

``/page`` also acts on a page (``/page snooze <id> <duration>``…): see
:mod:`starters.slack.page_subcommands` for when those words are read as one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_MAILTO = re.compile(r"<mailto:([^|<>]+)(?:\|[^<>]*)?>")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_PERSON = re.compile(r"@([a-z0-9][a-z0-9_-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class PageAsk:
    """A parsed ``/page``: ``summary`` (raw Slack text) for ``team`` or ``person`` (an id
    or e-mail). ``unknown``: the word taken as a team nobody has; ``stranger``: a Slack
    user mentioned who is not in the config."""

    summary: str
    team: str | None = None
    person: str | None = None
    unknown: str | None = None
    stranger: str | None = None
    urgency: Literal["high", "low"] = "high"


def page_request(text: str, teams: set[str], person_for: Callable[[str], str | None]) -> PageAsk:
    """What ``text`` (the command's raw text) asks for."""
    raw = text.strip()
    first, _, rest = raw.partition(" ")
    if first.lower() == "low" and first not in teams and rest.strip():
        return replace(page_request(rest, teams, person_for), urgency="low")
    if first in teams:
        return PageAsk(rest.strip(), team=first)
    summary, found, whom = raw.rpartition(" for ")
    if found and summary.strip():
        ask = _whom(whom.strip(), teams, person_for, summary.strip())
        if ask is not None:
            return ask
    return PageAsk(rest.strip(), unknown=first)


@dataclass(frozen=True)
class Whom:
    """Whom a word of a command names: a ``team``, a ``person`` (an id or e-mail), or a
    Slack user who is not in the config (``stranger``, the mention as Slack sent it)."""

    team: str | None = None
    person: str | None = None
    stranger: str | None = None


def whom(word: str, teams: set[str], person_for: Callable[[str], str | None]) -> Whom | None:
    """Whom ``word`` names (a team id, a Slack mention, ``@id`` or an e-mail), or None."""
    if word in teams:
        return Whom(team=word)
    if mention := _MENTION.fullmatch(word):
        person = person_for(mention.group(1))
        return Whom(person=person) if person else Whom(stranger=word)
    address = _address(word)
    return Whom(person=address) if address else None


def _whom(
    text: str, teams: set[str], person_for: Callable[[str], str | None], summary: str
) -> PageAsk | None:
    found = whom(text, teams, person_for)
    if found is None:
        return None
    return PageAsk(summary, team=found.team, person=found.person, stranger=found.stranger)


def _address(whom: str) -> str | None:
    """The e-mail address or ``@id`` written as ``whom``, if it is one."""
    if mailto := _MAILTO.fullmatch(whom):
        return mailto.group(1)
    if _EMAIL.fullmatch(whom):
        return whom
    named = _PERSON.fullmatch(whom)
    return named.group(1) if named else None
