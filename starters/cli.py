"""The ``tocsin`` command line: run the stack or its parts, check config, act on pages
and incidents.

Exit codes: 0 success; 1 the action was refused or Temporal could not be reached;
2 bad input (a config file error, an unknown page, incident, team, person or severity,
a bad argument).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from temporalio.service import RPCError

from starters.api import (
    IncidentVerb,
    InvalidRequest,
    NewPage,
    Rejected,
    TocsinClient,
    check_declaration,
    incident_ref,
    oncall_entries,
    require_people,
    require_severity,
)
from starters.cli_common import (
    AsOpt,
    ConfigOpt,
    JsonOpt,
    config_file,
    emit,
    fail,
    instant,
    run,
    settings_from,
    setup_logging,
)
from starters.cli_common import actor as _actor
from starters.cli_common import connect_client as _connect
from starters.cli_common import model as _model
from starters.cli_common import quiet_logs as _quiet_logs
from starters.cli_common import with_client as _with_client
from starters.cli_rotations import ical, rotation_app, shift_app
from starters.incidents import IncidentListItem
from worker.client import connect
from worker.config import ConfigError, load_config
from worker.settings import Settings
from workflows.config import TocsinConfig
from workflows.incident_models import (
    CommsConfirmation,
    DeclareRequest,
    FollowUpRequest,
    IncidentRecord,
    IncidentState,
    IncidentStatus,
    LogQuery,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    UpdateInput,
)
from workflows.models import OnCallEntry, PageListItem, PageState, PageStatus
from workflows.rotation_rules import rotation_warnings

app = typer.Typer(
    help="Tocsin: durable incident response and on-call orchestration on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Configuration files.", no_args_is_help=True)
page_app = typer.Typer(
    help="Pages: create, list, show, ack, escalate, resolve.", no_args_is_help=True
)
incident_app = typer.Typer(
    help="Incidents: declare, list, show, assign roles, roll back, update, resolve.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
app.add_typer(page_app, name="page")
app.add_typer(incident_app, name="incident")
app.add_typer(rotation_app, name="rotation")
app.add_typer(shift_app, name="shift")
app.command("ical")(ical)

NoteOpt = Annotated[str | None, typer.Option("--note", help="Why, for the timeline.")]

# -- running -----------------------------------------------------------------------------


@app.command()
def dev(
    config: ConfigOpt = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="State directory (env: TOCSIN_DATA_DIR)")
    ] = None,
    api_port: Annotated[
        int | None, typer.Option(help="API port (8080) (env: TOCSIN_API_PORT)")
    ] = None,
    temporal_port: Annotated[
        int | None, typer.Option(help="Temporal gRPC port (7233) (env: TOCSIN_TEMPORAL_PORT)")
    ] = None,
    ui_port: Annotated[
        int | None, typer.Option(help="Temporal UI port (8233) (env: TOCSIN_UI_PORT)")
    ] = None,
) -> None:
    """Run the embedded stack: Temporal dev server + UI, worker and API, all on 127.0.0.1."""
    from starters.dev import PortInUse, run_dev  # noqa: PLC0415 - keeps other commands fast to start

    settings = settings_from(
        config=config,
        data_dir=data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
    )
    setup_logging(settings, service=True)
    source = config_file(settings)
    try:
        run(run_dev(settings, source))
    except PortInUse as err:
        raise fail(str(err), 2) from None
    except (OSError, RuntimeError) as err:
        raise fail(str(err), 1) from None


@app.command()
def worker(config: ConfigOpt = None) -> None:
    """Run the worker alone against TOCSIN_TEMPORAL_ADDRESS."""
    from worker.run import run_worker  # noqa: PLC0415

    settings = settings_from(config=config)
    setup_logging(settings, service=True)
    source = config_file(settings)

    async def main() -> None:
        client = await _connect(settings)
        stop = asyncio.Event()
        _on_signals(stop)
        await run_worker(client, settings, source, stop)

    run(main())


@app.command()
def api(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (127.0.0.1) (env: TOCSIN_API_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (8080) (env: TOCSIN_API_PORT)")] = None,
) -> None:
    """Run the HTTP API alone against TOCSIN_TEMPORAL_ADDRESS (needs TOCSIN_API_TOKEN)."""
    from starters.http.app import app_from_settings  # noqa: PLC0415
    from starters.server import serve_api  # noqa: PLC0415

    settings = settings_from(config=config, api_host=host, api_port=port)
    setup_logging(settings, service=True)
    if settings.api_token is None:
        raise fail("TOCSIN_API_TOKEN is not set: the API refuses to run without a token")
    source = config_file(settings)

    async def factory() -> TocsinClient:
        return TocsinClient(await _connect(settings), source, settings.task_queue)

    token = settings.api_token.get_secret_value()

    async def main() -> None:
        stop = asyncio.Event()
        _on_signals(stop)
        app_ = app_from_settings(settings, token, factory)
        await serve_api(app_, settings.api_host, settings.api_port, stop)

    try:
        run(main())
    except OSError as err:
        raise fail(str(err), 1) from None


def _on_signals(stop: asyncio.Event) -> None:
    import signal  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


# -- config --------------------------------------------------------------------------------


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="The config file to check.")]) -> None:
    """Validate a config file: print ``ok``, or every error as ``FILE: key.path: message``.

    Rotation warnings (unreachable people, gaps) go to stderr as ``warning: …``; they do
    not fail the check.
    """
    try:
        checked = load_config(file)
    except ConfigError as err:
        for problem in err.problems:
            typer.echo(problem)
        raise typer.Exit(2) from None
    for warning in rotation_warnings(checked):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo("ok")


# -- on call -------------------------------------------------------------------------------


@app.command()
def oncall(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Instant with offset, e.g. 2026-11-23T10:00:00-06:00 (default: now).",
            callback=instant,
        ),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is on call now (or at --at), per team and layer, overrides and swaps included.

    Without Temporal (no worker running yet) the config's schedule answers, and a note on
    stderr says overrides are not included.
    """
    settings = settings_from(config=config)
    _quiet_logs(settings)
    source = config_file(settings)
    try:
        entries = oncall_entries(source.current(), team, at)
    except InvalidRequest as err:
        raise fail(str(err)) from None

    async def live() -> list[OnCallEntry]:
        client = TocsinClient(await connect(settings), source, settings.task_queue)
        return await client.oncall(team, at)

    try:
        entries = run(asyncio.wait_for(live(), LIVE_TIMEOUT))
    except (RuntimeError, RPCError, TimeoutError):
        typer.echo(
            f"note: Temporal at {settings.temporal_address} did not answer: the config's "
            "schedule is shown, without overrides or swaps",
            err=True,
        )
    except (InvalidRequest, Rejected) as err:
        raise fail(str(err)) from None
    zones = {name: r.zone for name, r in source.current().rotations.items()}
    emit(entries, as_json, lambda: _oncall_text(entries, zones))


LIVE_TIMEOUT = 10.0


def _oncall_text(entries: list[OnCallEntry], zones: dict[str, ZoneInfo]) -> str:
    """One line per layer; times in the rotation's own time zone, as its handoffs are set."""
    rows = []
    for e in entries:
        end = e.end.astimezone(zones[e.rotation]) if e.end else None
        until = f"until {end:%a %Y-%m-%d %H:%M %Z}" if end else ""
        who = f"{e.person} ({e.name})" if e.person else "nobody (rotation not started)"
        rows.append(f"{e.team:<16} {e.layer:<6} {who:<32} {until}")
    return "\n".join(rows) or "no team has a rotation"


# -- pages ----------------------------------------------------------------------------------


@page_app.command("create")
def page_create(
    team: Annotated[str, typer.Option(help="Team to page.")],
    summary: Annotated[str, typer.Option(help="One line: what is wrong.")],
    details: Annotated[str | None, typer.Option(help="More context, links.")] = None,
    dedup_key: Annotated[str | None, typer.Option(help="Same key, same open page.")] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Page a team."""
    settings = settings_from(config=config)
    try:
        request = NewPage(
            team=team,
            summary=summary,
            details=details,
            dedup_key=dedup_key,
            by=as_ or settings.user,
        )
    except ValidationError as err:
        problem = err.errors()[0]
        raise fail(
            f"--{'-'.join(str(p) for p in problem['loc']).replace('_', '-')}: {problem['msg']}"
        ) from None
    page, created = _with_client(settings, lambda c: c.create_page(request))
    emit(
        page,
        as_json,
        lambda: f"{'created' if created else 'already open'}: {page.id}\n{_page_text(page)}",
    )


@page_app.command("list")
def page_list(
    status: Annotated[PageStatus | None, typer.Option(help="Only pages in this status.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's pages.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List pages, newest first."""
    items = _with_client(settings_from(config=config), lambda c: c.list_pages(status, team))
    emit(items, as_json, lambda: _list_text(items))


def _list_text(items: list[PageListItem]) -> str:
    rows = [f"{i.id:<20} {i.status:<13} {i.team:<16} {i.summary}" for i in items]
    return "\n".join(rows) or "no pages"


@page_app.command("show")
def page_show(
    page_id: Annotated[str, typer.Argument(metavar="ID")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a page with its timeline."""
    page = _with_client(settings_from(config=config), lambda c: c.get_page(page_id))
    emit(page, as_json, lambda: _page_text(page))


def _page_text(page: PageState) -> str:
    lines = [
        f"page      {page.id}",
        f"status    {page.status.value}",
        f"team      {page.team}",
        f"summary   {page.summary}",
        f"step      {page.step}/{page.step_count}"
        + (" (exhausted)" if page.escalation_exhausted else ""),
    ]
    if page.acknowledged_by:
        lines.append(
            f"acked by  {page.acknowledged_by} at {page.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if page.resolved_by:
        lines.append(f"resolved  {page.resolved_by} at {page.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    if page.timeline:
        lines.append("timeline")
        lines += [f"  {e.at:%H:%M:%S}  {e.text}" for e in page.timeline]
    return "\n".join(lines)


def _page_action(verb: str) -> Callable[..., None]:
    def command(
        page_id: Annotated[str, typer.Argument(metavar="ID")],
        as_: AsOpt = None,
        note: NoteOpt = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        actor = _actor(as_)
        calls: dict[str, Callable[[TocsinClient], Awaitable[PageState]]] = {
            "ack": lambda c: c.acknowledge(page_id, actor, note),
            "escalate": lambda c: c.escalate(page_id, actor, note),
            "resolve": lambda c: c.resolve(page_id, actor, note),
        }
        page = _with_client(settings_from(config=config), calls[verb])
        emit(page, as_json, lambda: _page_text(page))

    command.__doc__ = {
        "ack": "Acknowledge a page: escalation stops.",
        "escalate": "Notify the next escalation step now.",
        "resolve": "Resolve a page.",
    }[verb]
    return command


for _verb in ("ack", "escalate", "resolve"):
    page_app.command(_verb)(_page_action(_verb))


# -- incidents ------------------------------------------------------------------------------

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
            by=actor,
        )
    )
    key = idempotency_key or secrets.token_hex(16)
    incident, created = _with_client(
        settings_from(config=config),
        lambda c: c.declare_incident(request, key),
        lambda cfg: check_declaration(cfg, request),
    )
    emit(
        incident,
        as_json,
        lambda: (
            f"{'declared' if created else 'already declared'}: {incident.id}\n"
            + _incident_text(incident)
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
    items = _with_client(
        settings_from(config=config),
        lambda c: c.list_incidents(status, severity),
        lambda cfg: severity is None or require_severity(cfg, severity),
    )
    emit(items, as_json, lambda: _incident_list_text(items))


def _incident_list_text(items: list[IncidentListItem]) -> str:
    rows = [
        f"{i.id:<12} {i.status:<9} {i.severity:<10} {i.lead or '-':<12} {i.title}" for i in items
    ]
    return "\n".join(rows) or "no incidents"


@incident_app.command("show")
def incident_show(
    incident_id: IncidentArg, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Show an incident with its timeline."""
    incident = _with_client(
        settings_from(config=config),
        lambda c: c.get_incident(incident_id),
        lambda _: incident_ref(incident_id),
    )
    emit(incident, as_json, lambda: _incident_text(incident))


def _incident_text(s: IncidentState) -> str:
    rollback: str = s.rollback.decision or "undecided"
    if s.rollback.running:
        rollback += " (running)"
    elif s.rollback.result is not None:
        rollback += f" → {'ok' if s.rollback.result.ok else 'failed'}: {s.rollback.result.summary}"
    if s.rollback.resolved_it is not None:
        rollback += f" ({'resolved it' if s.rollback.resolved_it else 'did not resolve it'})"
    lines = [
        f"incident  {s.id}",
        f"title     {s.title}",
        f"status    {s.status.value}",
        f"severity  {s.severity}",
        f"team      {s.team}" + (f" (service {s.service})" if s.service else ""),
        f"lead      {s.lead or '-'}",
        f"messenger {s.messenger or '-'}",
        f"owner     {s.resolution_owner or '-'}",
        f"channel   {s.channel or '-'}",
        f"rollback  {rollback}",
    ]
    if s.resolved_by:
        lines.append(f"resolved  {s.resolution} by {s.resolved_by}: {s.resolution_summary}")
    if s.postmortem_url:
        done = " (done)" if s.postmortem_done else ""
        lines.append(f"postmortem {s.postmortem_url}{done}")
    if s.followups:
        lines.append("follow-ups")
        lines += [
            f"  #{f.number} {f.state:<7} {f.title}"
            + (f" ({f.assignee})" if f.assignee else "")
            + (f"  {f.issue_url}" if f.issue_url else "")
            for f in s.followups
        ]
    # What was said in the channel repeats the timeline: leave it to --json.
    entries = [e for e in s.timeline if e.kind != "chat"]
    if entries:
        lines.append("timeline")
        lines += [
            f"  {e.at:%H:%M:%S}  {e.kind:<17} {e.text.splitlines()[0] if e.text else ''}"
            for e in entries
        ]
    return "\n".join(lines)


def _act_on_incident(
    settings: Settings,
    incident_id: str,
    people: list[str],
    action: Callable[[TocsinClient], Awaitable[IncidentState]],
    as_json: bool,
) -> None:
    def check(cfg: TocsinConfig) -> None:
        incident_ref(incident_id)
        require_people(cfg, *people)

    incident = _with_client(settings, action, check)
    emit(incident, as_json, lambda: _incident_text(incident))


Role = Literal["lead", "messenger", "owner"]
ROLES: tuple[Role, ...] = ("lead", "messenger", "owner")


def _role_command(verb: Role) -> Callable[..., None]:
    def command(
        incident_id: IncidentArg,
        person: Annotated[str, typer.Argument(metavar="PERSON", help="Person id.")],
        as_: AsOpt = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        actor = _actor(as_)
        role = _model(lambda: RoleInput(person=person, by=actor))
        _act_on_incident(
            settings_from(config=config),
            incident_id,
            [actor, person],
            lambda c: c.act_on_incident(incident_id, verb, role),
            as_json,
        )

    command.__doc__ = {
        "lead": "Make PERSON the incident lead.",
        "messenger": "Make PERSON the messenger (customer communication).",
        "owner": "Make PERSON the owner of the resolution.",
    }[verb]
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
    """Post a status update (it resets the update reminder)."""
    actor = _actor(as_)
    update = _model(lambda: UpdateInput(text=text, by=actor))
    _act_on_incident(
        settings_from(config=config),
        incident_id,
        [actor],
        lambda c: c.act_on_incident(incident_id, "update", update),
        as_json,
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
    settings = settings_from(config=config)

    def check(cfg: TocsinConfig) -> None:
        incident_ref(incident_id)
        require_severity(cfg, severity)
        require_people(cfg, actor)

    incident = _with_client(
        settings, lambda c: c.change_incident_severity(incident_id, severity, actor), check
    )
    emit(incident, as_json, lambda: _incident_text(incident))


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
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide on the rollback (roll_back, revert, not_now), or report its --outcome."""
    actor = _actor(as_)
    if (choice is None) == (outcome is None):
        raise fail("give either a CHOICE (roll_back, revert, not_now) or --outcome, not both")
    action: RollbackDecision | RollbackOutcome
    if choice is not None:
        action = _model(lambda: RollbackDecision(choice=choice.value, by=actor))
    else:
        resolved = outcome == RollbackResult.resolved
        action = _model(lambda: RollbackOutcome(resolved=resolved, by=actor))
    verb: IncidentVerb = "rollback" if choice is not None else "rollback_outcome"

    def call(c: TocsinClient) -> Awaitable[IncidentState]:
        return c.act_on_incident(incident_id, verb, action)

    _act_on_incident(settings_from(config=config), incident_id, [actor], call, as_json)


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
    body = _model(lambda: ResolveInput(resolution=resolution.value, summary=summary, by=actor))
    _act_on_incident(
        settings_from(config=config),
        incident_id,
        [actor],
        lambda c: c.act_on_incident(incident_id, "resolve", body),
        as_json,
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
            title=title, issue_url=issue_url, body=body, assignee=assignee, repo=repo, by=actor
        )
    )
    people = [actor] + ([assignee] if assignee else [])
    _act_on_incident(
        settings_from(config=config),
        incident_id,
        people,
        lambda c: c.act_on_incident(incident_id, "followup", request),
        as_json,
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
    confirmation = _model(lambda: CommsConfirmation(by=actor, note=note))
    _act_on_incident(
        settings_from(config=config),
        incident_id,
        [actor],
        lambda c: c.act_on_incident(incident_id, "comms", confirmation),
        as_json,
    )


# -- the incident log ------------------------------------------------------------------------

WhenHelp = "a duration back from now (7d, 12h) or an ISO 8601 date/time (UTC without offset)"
SinceOpt = Annotated[str, typer.Option(help=f"From: {WhenHelp}.")]
UntilOpt = Annotated[str | None, typer.Option(help="Up to (default: now); same forms as --since.")]


@app.command("log")
def incident_log(
    since: SinceOpt = "30d",
    until: UntilOpt = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 500,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of text.")] = False,
) -> None:
    """Past incidents from the incident log, newest first (the database in TOCSIN_DATABASE_URL)."""
    from starters.incident_log import LogRow, log_csv, log_text  # noqa: PLC0415

    if as_json and as_csv:
        raise fail("--json and --csv: choose one")
    start, end = _period(since, until)
    settings = settings_from()
    query = LogQuery(since=start, until=end, severity=severity, service=service, limit=limit)
    rows = [LogRow.of(r) for r in _read_log(settings, query)]
    if as_csv:
        typer.echo(log_csv(rows))
    else:
        emit(rows, as_json, lambda: log_text(rows))


@app.command("report")
def incident_report(
    since: SinceOpt = "30d", until: UntilOpt = None, as_json: JsonOpt = False
) -> None:
    """MTTA and MTTR per severity and per service over a period, from the incident log."""
    from starters.incident_log import report, report_text  # noqa: PLC0415

    start, end = _period(since, until)
    end = end or datetime.now(UTC)
    records = _read_log(settings_from(), LogQuery(since=start, until=end, limit=10_000))
    result = report(records, start, end)
    emit(result, as_json, lambda: report_text(result))


def _period(since: str, until: str | None) -> tuple[datetime, datetime | None]:
    from starters.incident_log import parse_when  # noqa: PLC0415

    now = datetime.now(UTC)
    try:
        start = parse_when(since, now)
    except ValueError as err:
        raise fail(f"--since: {err}") from None
    try:
        return start, None if until is None else parse_when(until, now)
    except ValueError as err:
        raise fail(f"--until: {err}") from None


def _read_log(settings: Settings, query: LogQuery) -> list[IncidentRecord]:
    """The incident log's rows for ``query``, read from the database directly (no Temporal)."""
    from activities.adapters.sql_store import open_store  # noqa: PLC0415
    from activities.errors import AdapterError  # noqa: PLC0415
    from worker.settings import database_url  # noqa: PLC0415

    # Only errors reach stderr: stdout stays clean for --json and --csv.
    setup_logging(settings, "error")

    async def main() -> list[IncidentRecord]:
        store = await open_store(database_url(settings))
        try:
            return await store.list_incidents(query)
        finally:
            await store.close()

    try:
        return run(main())
    except ValueError as err:
        raise fail(f"TOCSIN_DATABASE_URL: {err}") from None
    except AdapterError as err:
        raise fail(str(err), 1) from None


def main() -> None:
    """Console-script entry point.

    Ends the process with ``os._exit`` once the command is done: the Temporal client's
    Rust threads can otherwise touch the interpreter while it finalizes and abort the
    process (``Fatal Python error: PyGILState_Release``, exit 134) after the command
    succeeded — a few percent of short CLI runs (temporalio/sdk-python#300).
    """
    code: int
    try:
        app()
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
