"""Whom a new page reaches: a team through its policy (its low-urgency one for a
low-urgency page), or one person directly.

A person is named by id or e-mail address. Their page belongs to a team of theirs (the
first that lists them, or the one named with them) for who may act on it, and notifies
only them: again after each acknowledgement timeout, three times in all, never anyone
else (page their team for that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starters.errors import InvalidRequest
from workflows.config import TocsinConfig
from workflows.models import InlineStep

# How many times a person page notifies them (each after the team policy's first
# acknowledgement timeout; 10 minutes if the policy is gone).
PERSON_NOTIFICATIONS = 3


@dataclass(frozen=True)
class PageTarget:
    """What :class:`~workflows.models.PageInput` needs to reach the right people."""

    team: str
    person: str | None
    policy: str | None
    steps: list[InlineStep] | None


def find_person(config: TocsinConfig, named: str) -> str:
    """The id of the person ``named`` names (an id, or an e-mail in any case).

    Raises:
        InvalidRequest: nobody has that id or address.
    """
    if named in config.people:
        return named
    wanted = named.strip().lower()
    for pid, person in config.people.items():
        if person.email and person.email.lower() == wanted:
            return pid
    raise InvalidRequest(f"unknown person {named!r} (give a person's id or e-mail address)")


def page_target(
    config: TocsinConfig, team: str | None, person: str | None, urgency: Literal["high", "low"]
) -> PageTarget:
    """Whom a page of ``team`` or ``person`` reaches, at ``urgency``.

    Raises:
        InvalidRequest: an unknown team or person, or a person in no team with none named.
    """
    if team is not None and team not in config.teams:
        raise InvalidRequest(f"unknown team {team!r} (teams: {', '.join(sorted(config.teams))})")
    if person is None:
        if team is None:
            raise InvalidRequest("name a 'team' or a 'person' to page")
        spec = config.teams[team]
        policy = spec.low_urgency_policy if urgency == "low" else None
        return PageTarget(team, None, policy, None)
    pid = find_person(config, person)
    owner = team or next((t for t, spec in config.teams.items() if pid in spec.members), None)
    if owner is None:
        raise InvalidRequest(f"{pid} is in no team: name the team the page is for too")
    steps = config.escalation_policies.get(config.teams[owner].escalation_policy)
    timeout = steps.steps[0].ack_timeout if steps is not None else None
    seconds = timeout.total_seconds() if timeout is not None else 600.0
    step = InlineStep(targets=[f"person:{pid}"], ack_timeout_seconds=seconds)
    return PageTarget(owner, pid, None, [step] * PERSON_NOTIFICATIONS)
