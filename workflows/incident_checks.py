"""Which requests an incident refuses, and why: the validators of its updates.

Pure functions of the state, the incident's config and the request; each raises
``ValueError`` with the sentence the person sees (the API's 409, the CLI's exit 2).
"""

from __future__ import annotations

from datetime import UTC

from workflows.actors import Acted, require_actor
from workflows.incident_models import (
    CommsConfirmation,
    FollowUpRequest,
    IncidentEdit,
    IncidentInput,
    IncidentState,
    IncidentStatus,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    SeverityChange,
    UpdateInput,
)

OPEN = (IncidentStatus.triage, IncidentStatus.active)


def require_open(s: IncidentState) -> None:
    if s.status not in OPEN:
        raise ValueError(f"{s.id} is {s.status.value}")


def require_not_closed(s: IncidentState) -> None:
    if s.status == IncidentStatus.closed:
        raise ValueError(f"{s.id} is closed")


def require_known(config: IncidentInput, person: str) -> None:
    if config.people and person not in config.people:
        raise ValueError(f"{person!r} is not a person in Tocsin's config")


def responders(s: IncidentState, config: IncidentInput) -> set[str]:
    """Who may take a role or resolve without being asked: the incident's teams (see
    ``IncidentInput.responders``), its declarer, and whoever holds or answered a role."""
    holders = {s.declared_by, s.lead, s.messenger, s.resolution_owner}
    answered = {p.acknowledged_by for p in s.pages}
    return {*config.responders, *(p for p in holders | answered if p)}


def require_responder(s: IncidentState, config: IncidentInput, request: Acted, what: str) -> None:
    """Anyone may act on an incident declared before responders were known; otherwise a
    responder, or an admin acting for anyone."""
    if request.admin or not config.responders or request.by in responders(s, config):
        return
    raise ValueError(
        f"{request.by} may not {what}: not on the {config.team} team and not a responder "
        f"of {s.id}; the lead ({s.lead or 'none yet'}) or an admin can give them a role"
    )


def check_role(s: IncidentState, config: IncidentInput, role: RoleInput) -> None:
    """A person takes a role for themself (when a responder), or is given it by the lead
    or an admin."""
    require_actor(role)
    require_open(s)
    require_known(config, role.person)
    require_known(config, role.by)
    if role.person == role.by:
        require_responder(s, config, role, f"take a role in {s.id}")
    elif not role.admin and role.by != s.lead:
        raise ValueError(
            f"{role.by} may not give {role.person} a role in {s.id}: a person takes a role "
            f"only for themself, or is given it by the lead ({s.lead or 'none yet'}) or an admin"
        )


def check_lead(s: IncidentState, config: IncidentInput, role: RoleInput) -> None:
    check_role(s, config, role)
    if s.lead == role.person:
        raise ValueError(f"{role.person} is already the lead of {s.id}")


def check_messenger(s: IncidentState, config: IncidentInput, role: RoleInput) -> None:
    check_role(s, config, role)
    members = config.support_members
    if config.support_team and role.person not in members:
        raise ValueError(
            f"the messenger must be from {config.support_team} ({', '.join(members)}); "
            f"{role.person} is not"
        )


def check_decision(
    s: IncidentState, config: IncidentInput, decision: RollbackDecision, *, running: bool
) -> None:
    """The lead decides (anyone who may take the lead, while nobody has); one rollback at a
    time; a rollback after one that succeeded must be confirmed.

    ``running``: a rollback was asked for and the main loop has not started it yet.
    """
    require_actor(decision)
    require_open(s)
    require_known(config, decision.by)
    if s.lead is not None and decision.by != s.lead:
        raise ValueError(f"only the incident lead ({s.lead}) may decide on the rollback of {s.id}")
    require_responder(s, config, decision, f"decide on the rollback of {s.id}")
    rollback = s.rollback
    if rollback.running or rollback.requested or running:
        raise ValueError("a rollback is running: wait for its result")
    if decision.choice != "not_now" and rollback.succeeded_at is not None and not decision.confirm:
        target = s.service or "the service"
        raise ValueError(
            f"{target} was already rolled back successfully for {s.id} (at "
            f"{rollback.succeeded_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, decided by "
            f"{rollback.succeeded_by or 'someone'}): confirm to run it again"
        )


def check_outcome(s: IncidentState, config: IncidentInput, outcome: RollbackOutcome) -> None:
    require_open(s)
    require_known(config, outcome.by)
    if s.rollback.result is None:
        raise ValueError("no rollback has run yet")


def updates_status(s: IncidentState, by: str) -> bool:
    """Whether ``by``'s update is a status update: the lead's or the messenger's (anyone's
    while nobody leads); anyone else's is a note, marked as such."""
    return s.lead is None or by in (s.lead, s.messenger)


def check_update(s: IncidentState, config: IncidentInput, update: UpdateInput) -> None:
    require_actor(update)
    require_open(s)
    require_known(config, update.by)
    if not updates_status(s, update.by):
        require_responder(s, config, update, f"add a note to {s.id}")


def check_note(s: IncidentState, config: IncidentInput, note: NoteInput) -> None:
    """Anyone in the incident (who may take a role, holds or answered one) adds notes
    until it closes."""
    require_actor(note)
    require_not_closed(s)
    require_known(config, note.by)
    require_responder(s, config, note, f"add a note to {s.id}")


def check_severity(s: IncidentState, config: IncidentInput, change: SeverityChange) -> None:
    require_open(s)
    require_known(config, change.by)
    if change.severity.name == s.severity:
        raise ValueError(f"{s.id} is already {change.severity.name}")


def check_resolve(s: IncidentState, config: IncidentInput, resolution: ResolveInput) -> None:
    require_actor(resolution)
    require_open(s)
    require_known(config, resolution.by)
    if s.lead is not None and resolution.by != s.lead:
        raise ValueError(f"only the incident lead ({s.lead}) may resolve {s.id}")
    require_responder(s, config, resolution, f"resolve {s.id}")


def check_followup(s: IncidentState, config: IncidentInput, request: FollowUpRequest) -> None:
    require_not_closed(s)
    require_known(config, request.by)
    if request.assignee is not None:
        require_known(config, request.assignee)
    if (request.title is None) == (request.issue_url is None):
        raise ValueError("a follow-up needs exactly one of title or issue_url")
    if request.title is not None and not (request.repo or config.followup_repo):
        raise ValueError(
            "no repository for follow-up issues: pass repo, or set "
            "services.<service>.repo or incidents.followups.repo in tocsin.yaml"
        )


def check_comms(s: IncidentState, config: IncidentInput, confirmation: CommsConfirmation) -> None:
    require_not_closed(s)
    require_known(config, confirmation.by)
    allowed = {p for p in (s.messenger, s.lead) if p}
    if allowed and confirmation.by not in allowed:
        raise ValueError(
            f"only the messenger ({s.messenger or '—'}) or the lead ({s.lead or '—'}) "
            "may confirm customer communication"
        )


def edited_fields(s: IncidentState, edit: IncidentEdit) -> list[str]:
    """The fields ``edit`` changes (an empty description or summary clears it)."""
    wanted = {"title": edit.title, "description": edit.description, "summary": edit.summary}
    return [
        name
        for name, value in wanted.items()
        if value is not None and (value if name == "title" else value or None) != getattr(s, name)
    ]


def check_edit(s: IncidentState, config: IncidentInput, edit: IncidentEdit) -> None:
    """A responder (or an admin) edits the title, description or summary until it closes."""
    require_actor(edit)
    require_not_closed(s)
    require_known(config, edit.by)
    require_responder(s, config, edit, f"edit {s.id}")
    if not edited_fields(s, edit):
        raise ValueError(
            f"nothing to change in {s.id}: give a title, a description or a summary that "
            "differs from what it has"
        )
