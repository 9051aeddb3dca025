"""What ``/silence`` text asks for: set a silence on a service or team, list them, or end
one. Pure parsing against the config; a ``ValueError`` says what to type instead.

- ``/silence <service|team> <duration> <reason…>``: ``service:<id>`` or ``team:<id>``
  when a name is both;
- ``/silence list`` (``list all``: those over in the last 30 days too);
- ``/silence end <id>``.

``list`` and ``end`` are subcommands only in their own shape (``list`` alone or with
``all``, ``end`` and one id), so a service called ``end`` can still be silenced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from activities.adapters.slack_blocks.silence_commands import SILENCE_USAGE
from starters.silences import NewSilence
from starters.slack.text import typed
from workflows.config import TocsinConfig
from workflows.durations import parse_duration

Verb = Literal["help", "list", "end", "set"]
HELP = ("", "help", "?")
KINDS = ("service", "team")
# ``2h``, ``90m``, ``P1D``, ``PT30M``: a word meant as a duration, well-formed or not.
_DURATION_START = re.compile(r"^(?:\d|P\d|PT)", re.IGNORECASE)


@dataclass(frozen=True)
class SilenceAsk:
    """A parsed ``/silence``: ``new`` to set (``what`` says what it covers, for answers),
    ``silence_id`` to end, ``everything`` for ``list all``."""

    verb: Verb
    new: NewSilence | None = None
    what: str = ""
    silence_id: str = ""
    everything: bool = False


def silence_request(
    text: str, config: TocsinConfig, person_for: Callable[[str], str | None]
) -> SilenceAsk:
    """Parse ``/silence`` text (``person_for``: a mentioned Slack user's Tocsin person, for
    the reason as typed).

    Raises:
        ValueError: what is wrong and what to type instead.
    """
    words = text.split()
    if " ".join(words) in HELP:
        return SilenceAsk("help")
    if words[0] == "list" and words[1:] in ([], ["all"]):
        return SilenceAsk("list", everything=words[1:] == ["all"])
    if words[0] == "end" and len(words) == 2:
        return SilenceAsk("end", silence_id=words[1])
    kind, name = _target(words[0], config)
    if len(words) < 2 or not _duration_like(words[1]):
        raise ValueError(
            f"a silence needs an end: give a duration such as `2h` after `{words[0]}`.\n"
            f"{SILENCE_USAGE}"
        )
    reason = typed(text.split(maxsplit=2)[2], person_for).strip() if len(words) > 2 else ""
    if not reason:
        raise ValueError(f"a silence needs a reason: say why after the duration.\n{SILENCE_USAGE}")
    try:
        new = NewSilence.model_validate(
            {f"{kind}s": [name], "duration": words[1], "reason": reason}
        )
    except ValidationError as err:
        problem = err.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{field}: {message}" if field else message) from None
    return SilenceAsk("set", new=new, what=f"{kind} `{name}`")


def _target(word: str, config: TocsinConfig) -> tuple[str, str]:
    """The service or team ``word`` names: ``(kind, id)``."""
    kind, sep, name = word.partition(":")
    if sep and kind in KINDS:
        return kind, name  # named outright: the desk checks it is configured
    is_service, is_team = word in config.services, word in config.teams
    if is_service and is_team:
        raise ValueError(
            f"`{word}` is both a service and a team: write `service:{word}` or `team:{word}`."
        )
    if is_service or is_team:
        return ("service" if is_service else "team"), word
    services = ", ".join(sorted(config.services)) or "none"
    teams = ", ".join(sorted(config.teams))
    raise ValueError(
        f"`{word}` is neither a service nor a team (services: {services}; teams: {teams}).\n"
        f"{SILENCE_USAGE}"
    )


def _duration_like(word: str) -> bool:
    """Whether ``word`` is meant as a duration: one that parses, or starts like one (the
    desk's rules then say what is wrong with it)."""
    try:
        parse_duration(word)
    except ValueError:
        return _DURATION_START.match(word) is not None
    return True
