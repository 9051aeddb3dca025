"""What the front doors send for a page's responder actions (snooze, reassign, add
responders), and the checks against the config each passes before Temporal is asked.

A snooze's length is written as everywhere in Tocsin (``30m``, ``2h``, ``PT30M``: see
:mod:`workflows.durations`), at most a week. A reassignment names a team, or one person
by id or e-mail address; a person is notified alone, three times, each time waiting their
first team's first acknowledgement timeout (as a page of that person does). Responders
are escalation targets (``person:ID``, ``team:ID``, ``rotation:ID/LAYER``) that must
resolve in the config. Anything unknown is :class:`~starters.errors.InvalidRequest`
naming it: a 422, an exit code 2, an ephemeral that says what to type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from starters.errors import InvalidRequest
from starters.page_targets import find_person, first_ack_timeout
from workflows.actors import Acted
from workflows.config import TocsinConfig, parse_target, target_error
from workflows.durations import format_duration, parse_duration
from workflows.page_actions import MAX_SNOOZE, ReassignInput, RespondersInput, SnoozeInput

SNOOZE_HELP = (
    "How long until the page triggers again: '30m', '2h', '1d' (or ISO 8601 'PT30M'); "
    f"at most {format_duration(MAX_SNOOZE)}"
)
TARGETS_HELP = "Whom to ask: 'person:ID', 'team:ID' (its members) or 'rotation:ID/LAYER'"


def snooze_length(text: str) -> timedelta:
    """The snooze ``text`` asks for.

    Raises:
        ValueError: not a duration, not positive, or longer than a week (says which).
    """
    length = parse_duration(text)
    if length > MAX_SNOOZE:
        limit = format_duration(MAX_SNOOZE)
        raise ValueError(f"a snooze lasts at most {limit}, not {format_duration(length)}")
    return length


class Snooze(Acted):
    """Quiet an acknowledged page: it triggers again, from step 1, after ``duration``."""

    duration: str = Field(min_length=1, max_length=64, description=SNOOZE_HELP, examples=["1h"])
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("duration")
    @classmethod
    def _length(cls, value: str) -> str:
        snooze_length(value)
        return value

    def request(self) -> SnoozeInput:
        """The workflow's update."""
        seconds = snooze_length(self.duration).total_seconds()
        return SnoozeInput(seconds=seconds, note=self.note, **_actor(self))


class Reassignment(Acted):
    """Give the page to another team, or to one person; it escalates from step 1 there."""

    team: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="This team: its escalation policy from the first step",
    )
    person: str | None = Field(
        default=None,
        min_length=1,
        max_length=254,
        description="This person (an id or e-mail address) alone: notified three times",
    )
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one(self) -> Reassignment:
        if (self.team is None) == (self.person is None):
            raise ValueError("reassign to a 'team' or to a 'person'")
        return self


class Responders(Acted):
    """Ask more people to help: notified now, they may act on the page."""

    targets: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=20, description=TARGETS_HELP, examples=[["person:bob"]]
    )
    note: str | None = Field(default=None, max_length=2000)


def reassign_input(config: TocsinConfig, request: Reassignment) -> ReassignInput:
    """The workflow's update for ``request``: the person by id, their acknowledgement
    timeout (their first team's policy's first step; a team's own, for a team).

    Raises:
        InvalidRequest: an unknown team or person.
    """
    fields: dict[str, Any] = {"note": request.note, **_actor(request)}
    if request.team is not None:
        if request.team not in config.teams:
            teams = ", ".join(sorted(config.teams))
            raise InvalidRequest(f"unknown team {request.team!r} (teams: {teams})")
        timeout = first_ack_timeout(config, request.team)
        return ReassignInput(team=request.team, ack_timeout_seconds=timeout, **fields)
    person = find_person(config, request.person or "")
    team = next((t for t, spec in config.teams.items() if person in spec.members), None)
    timeout = first_ack_timeout(config, team)
    return ReassignInput(person=person, ack_timeout_seconds=timeout, **fields)


def responders_input(config: TocsinConfig, request: Responders) -> RespondersInput:
    """The workflow's update for ``request``, every target checked.

    Raises:
        InvalidRequest: the first target that is malformed or names nobody configured.
    """
    for text in request.targets:
        problem = target_problem(config, text)
        if problem is not None:
            raise InvalidRequest(problem)
    return RespondersInput(targets=list(request.targets), note=request.note, **_actor(request))


def target_problem(config: TocsinConfig, text: str) -> str | None:
    """Why the target ``text`` reaches nobody in ``config`` (naming it), or None."""
    try:
        target = parse_target(text)
    except ValueError as err:
        return str(err)
    problem = target_error(config, target)
    return f"target {text!r}: {problem}" if problem is not None else None


def _actor(request: Acted) -> dict[str, Any]:
    return {"by": request.by, "via": request.via, "admin": request.admin}
