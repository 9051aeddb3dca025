"""What responders can do to a page besides acknowledge, escalate and resolve: reassign it,
add responders, snooze it, un-acknowledge it; and when an acknowledged page triggers again
by itself (the policy's ``acknowledgement_timeout``, PagerDuty's "acknowledgement timeout").

The requests, and the pure rules of who may and when (the page workflow applies them).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, model_validator

from workflows.actors import Acted
from workflows.durations import format_duration
from workflows.models import InlineStep, PageState, PageStatus
from workflows.page_rules import responder_refusal

# A snooze lasts at most a week (an acknowledgement that long is a forgotten page).
MAX_SNOOZE = timedelta(weeks=1)
# A page to one person (opened for them, or reassigned to them) notifies them this many
# times.
PERSON_NOTIFICATIONS = 3


class ReassignInput(Acted):
    """Give the page to another team (its policy from step 1) or one person. The front
    door checks the team or person against the config and gives the person's step."""

    team: str | None = Field(default=None, min_length=1, max_length=64)
    person: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    # For a person: how long each of their notifications waits for an acknowledgement.
    ack_timeout_seconds: float = Field(default=600.0, gt=0, le=MAX_SNOOZE.total_seconds())

    @model_validator(mode="after")
    def _one(self) -> ReassignInput:
        if (self.team is None) == (self.person is None):
            raise ValueError("reassign to a 'team' or to a 'person'")
        return self

    def steps(self) -> list[InlineStep] | None:
        """The steps of a page reassigned to a person (None for a team: its policy)."""
        if self.person is None:
            return None
        return person_steps(self.person, self.ack_timeout_seconds)


def person_steps(person: str, ack_timeout_seconds: float) -> list[InlineStep]:
    """The steps of a page to one person: them alone, notified ``PERSON_NOTIFICATIONS``
    times, each waiting ``ack_timeout_seconds``."""
    step = InlineStep(targets=[f"person:{person}"], ack_timeout_seconds=ack_timeout_seconds)
    return [step] * PERSON_NOTIFICATIONS


class RespondersInput(Acted):
    """Ask more people to help (``person:ID``, ``team:ID``, ``rotation:ID/LAYER``): they are
    notified now and may act on the page; the escalation goes on as it was."""

    targets: list[str] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class SnoozeInput(Acted):
    """Quiet an acknowledged page for a while; it triggers again (from step 1) then."""

    seconds: float = Field(gt=0, le=MAX_SNOOZE.total_seconds())
    note: str | None = Field(default=None, max_length=2000)

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.seconds)


def unacknowledge_refusal(state: PageState, person: str, allowed: set[str]) -> str | None:
    if state.status == PageStatus.triggered:
        return f"page {state.id} is not acknowledged"
    return responder_refusal(state, person, "un-acknowledge", allowed)


def snooze_refusal(state: PageState, person: str, allowed: set[str]) -> str | None:
    if state.status == PageStatus.triggered:
        return f"page {state.id} is not acknowledged: acknowledge it before snoozing"
    return responder_refusal(state, person, "snooze", allowed)


def mark_triggered(state: PageState) -> None:
    """Back to triggered: nobody holds the page, it escalates again."""
    state.status = PageStatus.triggered
    state.acknowledged_by = None
    state.acknowledged_at = None
    state.snoozed_until = None
    state.escalation_exhausted = False


def snoozed_text(actor: str, snooze: SnoozeInput, until: datetime) -> str:
    text = f"Snoozed by {actor} for {format_duration(snooze.duration)}"
    text += f" (triggers again at {until.isoformat(timespec='minutes')})"
    return f"{text}: {snooze.note}" if snooze.note else text


def wake_text(state: PageState, ack_retrigger_seconds: float | None) -> str:
    """Why an acknowledged page triggers again by itself."""
    if state.acknowledged_at is not None and ack_retrigger_seconds is not None:
        after = state.acknowledged_at + timedelta(seconds=ack_retrigger_seconds)
        if state.snoozed_until == after:
            waited = format_duration(timedelta(seconds=ack_retrigger_seconds))
            return f"Acknowledged {waited} ago and not resolved: triggered again"
    return "Snooze over: triggered again"


def reassigned_text(actor: str, request: ReassignInput) -> str:
    whom = f"team {request.team}" if request.team else request.person
    text = f"Reassigned to {whom} by {actor}"
    return f"{text}: {request.note}" if request.note else text
