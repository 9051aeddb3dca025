"""How a page's state moves: opened, acknowledged, resolved, reopened; who may act on it;
what each escalation step puts in its timeline.

Pure functions of the page contract (the workflow passes ``workflow.now()`` in), so they
are tested without a server and shared with the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from workflows.durations import format_duration
from workflows.models import (
    PageInput,
    PageState,
    PageStatus,
    ResolveStepResult,
)
from workflows.page_views import count_alerts
from workflows.policy import Position


def opened_state(page: PageInput, workflow_id: str, now: datetime) -> PageState:
    """A new page's state, before anything happened to it."""
    return PageState(
        id=page.key,
        workflow_id=workflow_id,
        team=page.team,
        summary=page.summary,
        details=page.details,
        dedup_key=page.dedup_key,
        source=page.source,
        integration=page.integration,
        created_by=page.created_by,
        created_at=now,
        service=page.service,
        severity=page.severity,
        urgency=page.urgency,
        unrouted=page.unrouted,
    )


def opening_note(page: PageInput, state: PageState) -> str:
    """``Page opened by alertmanager: … (3 alerts firing)``."""
    opener = page.created_by or page.source
    firing = count_alerts(state.alerts, "firing")
    alerts = f" ({firing} alert{'s' if firing != 1 else ''} firing)" if state.alerts else ""
    return f"Page opened by {opener}: {page.summary}{alerts}"


def start_step(
    state: PageState, position: Position, step: ResolveStepResult
) -> list[tuple[str, str]]:
    """The page moves to ``step`` at ``position``.

    Returns:
        The timeline's (kind, text): who the step reaches, which targets reached nobody.
    """
    state.policy = step.policy
    state.step = position.index + 1
    state.step_count = step.step_count
    state.round = position.round
    state.repeat = step.repeat
    names = ", ".join(r.person for r in step.recipients) or "nobody"
    round_note = f" (repeat {position.round})" if position.round else ""
    notes = [
        (
            "step",
            f"Step {state.step}/{step.step_count}{round_note}: {', '.join(step.targets)} → {names}",
        )
    ]
    notes += [
        ("warning", f"{target} reached nobody at step {state.step}")
        for target in step.unreachable_targets
    ]
    return notes


def mark_acknowledged(state: PageState, by: str, now: datetime) -> None:
    """Acknowledged by ``by``: escalation stops."""
    state.status = PageStatus.acknowledged
    state.acknowledged_by = by
    state.acknowledged_at = now


def mark_resolved(state: PageState, by: str, now: datetime) -> None:
    """Resolved by ``by`` (a person, or a source whose alerts all resolved)."""
    state.status = PageStatus.resolved
    state.resolved_by = by
    state.resolved_at = now


def mark_reopened(state: PageState, flap_window: timedelta) -> str:
    """An alert fired again within the flap window: open again (acknowledged if it was).

    Returns:
        The timeline's text for the flap.
    """
    state.flaps += 1
    was_acknowledged = state.acknowledged_by is not None
    state.status = PageStatus.acknowledged if was_acknowledged else PageStatus.triggered
    state.resolved_by = None
    state.resolved_at = None
    then = (
        f"still acknowledged by {state.acknowledged_by}" if was_acknowledged else "escalating again"
    )
    window = format_duration(flap_window)
    return f"Fired again within {window} of resolving (flap {state.flaps}): reopened, {then}"


class Noted(Protocol):
    """A request that may say why (``PageActionInput``, the responder actions)."""

    @property
    def note(self) -> str | None: ...


def with_note(text: str, action: Noted) -> str:
    return f"{text}: {action.note}" if action.note else text


def responder_refusal(state: PageState, person: str, verb: str, allowed: set[str]) -> str | None:
    """Why ``person`` may not act (``allowed``: the team's members and everyone notified)."""
    if state.status == PageStatus.resolved:
        return f"page {state.id} is already resolved"
    if person not in allowed:
        return (
            f"{person!r} may not {verb} page {state.id}: "
            f"not a member of team {state.team} and not notified"
        )
    return None


def acknowledge_refusal(state: PageState, person: str, allowed: set[str]) -> str | None:
    if state.status == PageStatus.acknowledged:
        return f"page {state.id} is already acknowledged by {state.acknowledged_by}"
    return responder_refusal(state, person, "acknowledge", allowed)


def escalate_refusal(
    state: PageState, person: str, allowed: set[str], *, escalating: bool
) -> str | None:
    """Why the page cannot be escalated now (``escalating``: a request is under way)."""
    if state.status == PageStatus.resolved:
        return f"page {state.id} is already resolved"
    if state.status != PageStatus.triggered:
        return f"page {state.id} is {state.status.value}: nothing to escalate"
    if state.escalation_exhausted:
        return f"page {state.id} has run through every escalation step"
    if escalating:
        return f"page {state.id} is already escalating"
    return responder_refusal(state, person, "escalate", allowed)
