"""``tocsin incident``: declare, list, show, edit, assign roles, roll back, update, resolve."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer

from starters.api import TocsinClient
from starters.checks import check_declaration, incident_ref, require_people, require_severity
from starters.cli_common import (
    AsOpt,
    ConfigOpt,
    JsonOpt,
    as_cli,
    cli_actor,
    client_command,
    emit,
    fail,
    settings_from,
)
from starters.cli_common import actor as _actor
from starters.cli_common import model as _model
from starters.incident_text import incident_list_text, incident_text
from workflows.config import TocsinConfig
from workflows.incident_models import (
    CommsConfirmation,
    DeclareRequest,
    FollowUpRequest,
    IncidentEdit,
    IncidentState,
    IncidentStatus,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    UpdateInput,
)

incident_app = typer.Typer(
    help="Incidents: declare, list, show, assign roles, roll back, update, resolve.",
    no_args_is_help=True,
)


IncidentArg = Annotated[str, typer.Argument(metavar="ID", help="Incident id, e.g. INC-42.")]


class RollbackChoice(StrEnum):
    roll_back = "roll_back"
    revert = "revert"
    not_now = "not_now"


class RollbackResult(StrEnum):
    resolved = "resolved"
    unresolved = "unresolved"


class Resolution(StrEnum):
    fixed = "fixed"
    rolled_back = "rolled_back"
    false_positive = "false_positive"


@incident_app.command("declare")
def incident_declare(
    title: Annotated[str, typer.Option(help="One line: what is wrong.")],
    description: Annotated[str | None, typer.Option(help="What is known so far.")] = None,
    severity: Annotated[
        str | None, typer.Option(help="A configured severity (default: the configured default).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="Affected service: its team owns the incident.")
    ] = None,
    customer_impact: Annotated[
        bool, typer.Option("--customer-impact", help="Customers are affected: page a messenger.")
    ] = False,
    security: Annotated[
        bool, typer.Option("--security", help="Security incident: private, security paged.")
    ] = False,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Repeat the command with the same key: the same incident, not a second."),
    ] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare an incident."""
    actor = _actor(as_)
    request = _model(
        lambda: DeclareRequest(
            title=title,
            description=description,
            severity=severity,
            service=service,
            customer_impact=customer_impact,
            security=security,
            **as_cli(actor),
        )
    )
    key = idempotency_key or secrets.token_hex(16)
    incident, created = client_command(
        settings_from(config=config),
        lambda c: c.declare_incident(request, key),
        check=lambda cfg: check_declaration(cfg, request),
    )
    emit(
        incident,
        as_json,
        lambda: (
            f"{'declared' if created else 'already declared'}: {incident.id}\n"
            + incident_text(incident)
        ),
    )


@incident_app.command("list")
def incident_list(
    status: Annotated[
        IncidentStatus | None, typer.Option(help="Only incidents in this status.")
    ] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List incidents, newest first."""
    client_command(
        settings_from(config=config),
        lambda c: c.list_incidents(status, severity),
        incident_list_text,
        as_json=as_json,
        check=lambda cfg: severity is None or require_severity(cfg, severity),
    )


@incident_app.command("show")
def incident_show(
    incident_id: IncidentArg, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Show an incident with its timeline."""
    _on_incident(config, incident_id, [], lambda c: c.get_incident(incident_id), as_json)


def _on_incident(
    config: Path | None,
    incident_id: str,
    people: list[str],
    call: Callable[[TocsinClient], Awaitable[IncidentState]],
    as_json: bool,
    severity: str | None = None,
) -> None:
    """One incident's command: its id, ``people`` (and ``severity``) checked before
    connecting, then ``call``; the incident as the answer."""

    def check(cfg: TocsinConfig) -> None:
        incident_ref(incident_id)
        if severity is not None:
            require_severity(cfg, severity)
        require_people(cfg, *people)

    client_command(settings_from(config=config), call, incident_text, as_json=as_json, check=check)


Role = Literal["lead", "messenger", "owner"]
RoleCall = Callable[[TocsinClient, str, RoleInput], Awaitable[IncidentState]]
ROLES: dict[Role, tuple[str, RoleCall]] = {
    "lead": ("Make PERSON the incident lead.", TocsinClient.assign_lead),
    "messenger": (
        "Make PERSON the messenger (customer communication).",
        TocsinClient.assign_messenger,
    ),
    "owner": ("Make PERSON the owner of the resolution.", TocsinClient.assign_resolution_owner),
}


def _role_command(role: Role) -> Callable[..., None]:
    doc, assign = ROLES[role]

    def command(
        incident_id: IncidentArg,
        person: Annotated[str, typer.Argument(metavar="PERSON", help="Person id.")],
        as_: AsOpt = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        actor = _actor(as_)
        body = _model(lambda: RoleInput(person=person, **as_cli(actor)))
        _on_incident(
            config, incident_id, [actor, person], lambda c: assign(c, incident_id, body), as_json
        )

    command.__doc__ = doc
    return command


for _role in ROLES:
    incident_app.command(_role)(_role_command(_role))


@incident_app.command("update")
def incident_update(
    incident_id: IncidentArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The status update.")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Post a status update (the lead's or messenger's resets the update reminder; anyone
    else's is recorded as their note)."""
    actor = _actor(as_)
    update = _model(lambda: UpdateInput(text=text, **as_cli(actor)))
    _on_incident(
        config, incident_id, [actor], lambda c: c.post_update(incident_id, update), as_json
    )


@incident_app.command("note")
def incident_note(
    incident_id: IncidentArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What you saw or did.")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a note to the timeline (not a status update; anyone in the incident)."""
    actor = _actor(as_)
    note = _model(lambda: NoteInput(text=text, **as_cli(actor)))
    _on_incident(config, incident_id, [actor], lambda c: c.add_note(incident_id, note), as_json)


@incident_app.command("edit")
def incident_edit(
    incident_id: IncidentArg,
    title: Annotated[str | None, typer.Option(help="A new title (one line).")] = None,
    description: Annotated[
        str | None, typer.Option(help="A new description (empty: none).")
    ] = None,
    summary: Annotated[
        str | None, typer.Option(help="What is known now, in a few sentences (empty: none).")
    ] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the title, the description or the summary (kept up to date while it runs)."""
    actor = _actor(as_)
    if title is None and description is None and summary is None:
        raise fail("give --title, --description or --summary")
    edit = _model(
        lambda: IncidentEdit(title=title, description=description, summary=summary, **as_cli(actor))
    )
    _on_incident(
        config, incident_id, [actor], lambda c: c.edit_incident(incident_id, edit), as_json
    )


@incident_app.command("severity")
def incident_severity(
    incident_id: IncidentArg,
    severity: Annotated[str, typer.Argument(metavar="SEVERITY", help="A configured severity.")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the severity; its policy (updates, announcements, paging) applies from now on."""
    actor = _actor(as_)
    _on_incident(
        config,
        incident_id,
        [actor],
        lambda c: c.change_incident_severity(incident_id, severity, cli_actor(actor)),
        as_json,
        severity=severity,
    )


@incident_app.command("rollback")
def incident_rollback(
    incident_id: IncidentArg,
    choice: Annotated[
        RollbackChoice | None,
        typer.Argument(help="roll_back runs the service's configured rollback."),
    ] = None,
    outcome: Annotated[
        RollbackResult | None,
        typer.Option(help="Instead of deciding: say whether the rollback resolved it."),
    ] = None,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm", help="Roll back (or revert) again although a rollback already succeeded."
        ),
    ] = False,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide on the rollback (roll_back, revert, not_now), or report its --outcome.

    The lead decides (anyone who may take the lead, while nobody has); a second rollback
    after one succeeded needs --confirm.
    """
    actor = _actor(as_)
    if (choice is None) == (outcome is None):
        raise fail("give either a CHOICE (roll_back, revert, not_now) or --outcome, not both")
    if confirm and choice is None:
        raise fail("--confirm goes with a CHOICE (roll_back or revert), not with --outcome")
    if choice is not None:
        decision = _model(
            lambda: RollbackDecision(choice=choice.value, confirm=confirm, **as_cli(actor))
        )
        _on_incident(
            config,
            incident_id,
            [actor],
            lambda c: c.decide_rollback(incident_id, decision),
            as_json,
        )
        return
    resolved = outcome == RollbackResult.resolved
    report = _model(lambda: RollbackOutcome(resolved=resolved, **as_cli(actor)))
    _on_incident(
        config,
        incident_id,
        [actor],
        lambda c: c.report_rollback_outcome(incident_id, report),
        as_json,
    )


@incident_app.command("resolve")
def incident_resolve(
    incident_id: IncidentArg,
    summary: Annotated[str, typer.Option(help="What fixed it, in a sentence.")],
    resolution: Annotated[Resolution, typer.Option(help="How it ended.")] = Resolution.fixed,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve the incident (only its lead may, once it has one)."""
    actor = _actor(as_)
    body = _model(
        lambda: ResolveInput(resolution=resolution.value, summary=summary, **as_cli(actor))
    )
    _on_incident(
        config, incident_id, [actor], lambda c: c.resolve_incident(incident_id, body), as_json
    )


@incident_app.command("followup")
def incident_followup(
    incident_id: IncidentArg,
    title: Annotated[
        str | None, typer.Argument(metavar="TITLE", help="What must be done (a new issue).")
    ] = None,
    issue_url: Annotated[
        str | None, typer.Option(help="Link an existing issue instead of opening one.")
    ] = None,
    body: Annotated[str | None, typer.Option(help="The new issue's description.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Person id who does it.")] = None,
    repo: Annotated[
        str | None, typer.Option(help="owner/name (default: the service's repository).")
    ] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a follow-up: TITLE opens a GitHub issue, --issue-url links one; the incident stays
    open until every follow-up's issue is closed."""
    actor = _actor(as_)
    if (title is None) == (issue_url is None):
        raise fail("give either a TITLE or --issue-url, not both")
    request = _model(
        lambda: FollowUpRequest(
            title=title,
            issue_url=issue_url,
            body=body,
            assignee=assignee,
            repo=repo,
            **as_cli(actor),
        )
    )
    people = [actor] + ([assignee] if assignee else [])
    _on_incident(
        config, incident_id, people, lambda c: c.add_followup(incident_id, request), as_json
    )


@incident_app.command("comms")
def incident_comms(
    incident_id: IncidentArg,
    note: Annotated[
        str | None, typer.Option(help="What was updated (status page, email…).")
    ] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Confirm customer communication is updated (the messenger, or the lead)."""
    actor = _actor(as_)
    confirmation = _model(lambda: CommsConfirmation(**as_cli(actor), note=note))
    _on_incident(
        config,
        incident_id,
        [actor],
        lambda c: c.confirm_customer_comms(incident_id, confirmation),
        as_json,
    )
