"""Whom a new page reaches: a team through its policy (its low-urgency one for a
low-urgency page), or one person directly.

A person is named by id or e-mail address. Their page belongs to a team of theirs (the
first that lists them, or the one named with them) for who may act on it, and notifies
only them: again after each acknowledgement timeout, three times in all, never anyone
else (page their team for that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from starters.errors import InvalidRequest
from workflows.config import TocsinConfig
from workflows.models import InlineStep
from workflows.page_actions import person_steps

# A person page's acknowledgement timeout when their team's policy is gone.
DEFAULT_ACK_TIMEOUT = timedelta(minutes=10)


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
    return PageTarget(owner, pid, None, person_steps(pid, first_ack_timeout(config, owner)))


def first_ack_timeout(config: TocsinConfig, team: str | None) -> float:
    """Seconds of the first step of ``team``'s policy: how long each notification of a
    page to one person waits (:data:`DEFAULT_ACK_TIMEOUT` without team or policy)."""
    spec = config.teams.get(team) if team is not None else None
    policy = config.escalation_policies.get(spec.escalation_policy) if spec is not None else None
    timeout = policy.steps[0].ack_timeout if policy is not None else DEFAULT_ACK_TIMEOUT
    return timeout.total_seconds()
