"""*Incidents*: the board (triage, active, resolved, the newest closed) with the form that
declares one, and one incident: its facts, roles, rollback, follow-ups and timeline, the
forms that act on it, and its postmortem draft once resolved.

The board and the incident's facts refresh themselves; the forms sit outside the
refreshing part, so nothing typed is lost. Every action goes through the same client calls
as the API, with the actor and credential taken from the session, never from the form.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from temporalio.service import RPCError

from activities.adapters.jinja_postmortem import render_postmortem
from activities.errors import AdapterError
from activities.ports import Store
from activities.postmortem import TemplateProblem, load_template
from activities.tracker import incident_link
from starters.api import TocsinClient
from starters.checks import incident_ref
from starters.clients.incidents import IncidentListItem
from starters.console.actions import TEMPORAL_DOWN, act, tocsin
from starters.console.auth import FormSession, SignedIn, actor
from starters.console.render import done, fragment, page
from starters.console.sessions import Session
from starters.errors import TocsinError
from starters.timelines import ArchiveMissing, timeline_slice
from worker.config import ConfigFile
from workflows.actors import actor_label
from workflows.ids import incident_workflow_id
from workflows.incident_models import (
    CommsConfirmation,
    DeclareRequest,
    FollowUpRequest,
    IncidentEdit,
    IncidentState,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    StatusUpdate,
    UpdateInput,
)

BOARD_LIMIT = 200
CLOSED_SHOWN = 20
# Incident states fetched at once for the board (each is one query to its workflow).
AT_ONCE = 10
COLUMNS = ("triage", "active", "resolved", "closed")
REFUSED = "Not done"
# A declare form's one-time key: random, made when the form is shown.
FORM_KEY = r"^[A-Za-z0-9_-]{16,64}$"

Role = Literal["lead", "messenger", "owner"]
Assign = Callable[[TocsinClient, str, RoleInput], Awaitable[IncidentState]]
# Called on the instance (not ``TocsinClient.assign_lead``), so a subclass's method is used.
ROLES: dict[str, tuple[Assign, str]] = {
    "lead": (lambda c, ref, role: c.assign_lead(ref, role), "is the lead"),
    "messenger": (lambda c, ref, role: c.assign_messenger(ref, role), "is the messenger"),
    "owner": (lambda c, ref, role: c.assign_resolution_owner(ref, role), "owns the resolution"),
}
ROLLBACK_DONE = {
    "roll_back": "rolling back",
    "revert": "reverting the change",
    "not_now": "no rollback for now",
}
RESOLUTIONS = {"fixed": "fixed", "rolled_back": "rolled back", "false_positive": "false positive"}


@dataclass(frozen=True)
class Card:
    """One incident on the board: what the list says and, unless it is closed (its
    workflow has ended: a query would replay its history), its state now."""

    item: IncidentListItem
    state: IncidentState | None

    @property
    def status(self) -> str:
        return self.state.status.value if self.state is not None else self.item.status

    @property
    def last_update(self) -> StatusUpdate | None:
        updates = self.state.updates if self.state is not None else []
        return updates[-1] if updates else None


@dataclass(frozen=True)
class Board:
    columns: dict[str, list[Card]]
    closed_more: int


@dataclass(frozen=True)
class Draft:
    """The postmortem draft as the worker would render it now, or why it cannot be."""

    markdown: str | None
    problem: str | None = None
    missing: int = 0


async def board(client: TocsinClient) -> Board:
    """Every incident (the newest :data:`BOARD_LIMIT`) by status, closed ones newest first."""
    listed = await client.list_incidents(None, None, BOARD_LIMIT)
    gate = asyncio.Semaphore(AT_ONCE)

    async def card(item: IncidentListItem) -> Card:
        if item.status == "closed":
            return Card(item, None)
        async with gate:
            try:
                return Card(item, await client.get_incident(item.id))
            except (TocsinError, RPCError):
                # Gone, or its workflow does not answer: the list's word for it.
                return Card(item, None)

    cards = await asyncio.gather(*(card(i) for i in listed))
    columns: dict[str, list[Card]] = {status: [] for status in COLUMNS}
    for one in cards:
        if one.status in columns:
            columns[one.status].append(one)
    closed = columns["closed"]
    columns["closed"] = closed[:CLOSED_SHOWN]
    return Board(columns=columns, closed_more=max(len(closed) - CLOSED_SHOWN, 0))


async def postmortem_draft(request: Request, state: IncidentState) -> Draft:
    """The draft the worker renders (the configured template, the whole timeline)."""
    source = tocsin(request).config
    config = source.current()
    whole, missing = await _whole_timeline(request, state)
    try:
        template = load_template(
            config, source.path.parent if isinstance(source, ConfigFile) else None
        )
        markdown = render_postmortem(
            whole,
            config,
            incident_url=incident_link(str(request.base_url), state.id),
            template=template,
        )
    except TemplateProblem as err:
        return Draft(None, str(err))
    return Draft(markdown, missing=missing)


async def _whole_timeline(request: Request, state: IncidentState) -> tuple[IncidentState, int]:
    """The state with the entries it handed to the store in front (and how many of those
    could not be read)."""
    if not state.timeline_archived:
        return state, 0
    store: Store | None = getattr(request.app.state, "store", None)
    total = state.timeline_archived + len(state.timeline)
    try:
        read = await timeline_slice(
            store,
            incident_workflow_id(state.id),
            state.timeline,
            state.timeline_archived,
            0,
            total,
        )
    except (ArchiveMissing, AdapterError):
        return state, state.timeline_archived
    return state.model_copy(update={"timeline": read.entries}), 0


def _text(value: str | None) -> str | None:
    """What was typed, or None for nothing (or only spaces)."""
    return (value or "").strip() or None


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


async def _send(
    back: str, make: Callable[[], Awaitable[object]], success: str, refused: str = REFUSED
) -> Response:
    """Build the request and call (``make``), then back with what happened; a request the
    model refuses is a refusal like any other."""
    try:
        call = make()
    except ValidationError as err:
        return done(back, f"{refused}: {_first_error(err)}", ok=False)
    return await act(call, back, success, refused)


def _choices(client: TocsinClient) -> dict[str, Any]:
    """What the forms offer: severities, services and people from the config."""
    config = client.config.current()
    return {
        "severities": [s.name for s in config.severities],
        "default_severity": config.incidents.default_severity or config.severities[0].name,
        "services": sorted(config.services),
        "people": sorted((pid, p.name) for pid, p in config.people.items()),
    }


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/incidents")
    async def incidents(request: Request, session: SignedIn) -> Response:
        client = tocsin(request)
        return page(
            request,
            "incidents.html",
            session,
            b=await board(client),
            columns=COLUMNS,
            form_key=secrets.token_urlsafe(18),
            **_choices(client),
        )

    @routes.get("/incidents/live")
    async def incidents_live(request: Request, session: SignedIn) -> Response:
        return fragment(
            request,
            "_incidents_board.html",
            session,
            b=await board(tocsin(request)),
            columns=COLUMNS,
        )

    @routes.post("/incidents")
    async def declare(
        request: Request,
        session: FormSession,
        title: Annotated[str, Form(min_length=1, max_length=200)],
        key: Annotated[str, Form(pattern=FORM_KEY)],
        description: Annotated[str, Form(max_length=20_000)] = "",
        severity: Annotated[str, Form(max_length=32)] = "",
        service: Annotated[str, Form(max_length=64)] = "",
        customer_impact: Annotated[bool, Form()] = False,
        security: Annotated[bool, Form()] = False,
    ) -> Response:
        refused = "Not declared"
        try:
            declaration = DeclareRequest(
                title=title.strip(),
                description=_text(description),
                severity=_text(severity),
                service=_text(service),
                customer_impact=customer_impact,
                security=security,
                **actor(session).model_dump(),
            )
        except ValidationError as err:
            return done("/incidents", f"{refused}: {_first_error(err)}", ok=False)
        # The key is the form's: sent twice (a double click, a retry), it declares once.
        idempotency_key = f"console:{session.person}:{key}"
        try:
            state, created = await tocsin(request).declare_incident(declaration, idempotency_key)
        except TocsinError as err:
            return done("/incidents", f"{refused}: {err}", ok=False)
        except RPCError:
            return done("/incidents", TEMPORAL_DOWN, ok=False)
        said = f"Declared {state.id}" if created else f"{state.id} was declared already"
        return done(f"/incidents/{state.id}", said)

    @routes.get("/incidents/{incident_id}")
    async def one_incident(request: Request, incident_id: str, session: SignedIn) -> Response:
        state = await tocsin(request).get_incident(incident_id)
        finished = state.status.value in ("resolved", "closed")
        return page(
            request,
            "incident.html",
            session,
            s=state,
            label=actor_label,
            draft=await postmortem_draft(request, state) if finished else None,
            **_choices(tocsin(request)),
        )

    @routes.get("/incidents/{incident_id}/live")
    async def one_incident_live(request: Request, incident_id: str, session: SignedIn) -> Response:
        state = await tocsin(request).get_incident(incident_id)
        return fragment(request, "_incident_live.html", session, s=state, label=actor_label)

    async def give(
        request: Request, session: Session, incident_id: str, role: Role, person: str
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        assign, says = ROLES[role]
        who = person.strip() or session.person
        return await _send(
            f"/incidents/{ref}",
            lambda: assign(
                tocsin(request), ref, RoleInput(person=who, **actor(session).model_dump())
            ),
            f"{ref}: {who} {says}",
        )

    @routes.post("/incidents/{incident_id}/role")
    async def give_role(
        request: Request,
        incident_id: str,
        session: FormSession,
        role: Annotated[Role, Form()],
        person: Annotated[str, Form(min_length=1, max_length=64)],
    ) -> Response:
        return await give(request, session, incident_id, role, person)

    @routes.post("/incidents/{incident_id}/updates")
    async def post_update(
        request: Request,
        incident_id: str,
        session: FormSession,
        text: Annotated[str, Form(min_length=1, max_length=4000)],
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).post_update(
                ref, UpdateInput(text=text.strip(), **actor(session).model_dump())
            ),
            f"{ref}: update posted",
        )

    @routes.post("/incidents/{incident_id}/notes")
    async def add_note(
        request: Request,
        incident_id: str,
        session: FormSession,
        text: Annotated[str, Form(min_length=1, max_length=4000)],
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).add_note(
                ref, NoteInput(text=text.strip(), **actor(session).model_dump())
            ),
            f"{ref}: note added",
        )

    @routes.post("/incidents/{incident_id}/severity")
    async def change_severity(
        request: Request,
        incident_id: str,
        session: FormSession,
        severity: Annotated[str, Form(min_length=1, max_length=32)],
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).change_incident_severity(ref, severity, actor(session)),
            f"{ref} is now {severity}",
        )

    @routes.post("/incidents/{incident_id}/rollback")
    async def decide_rollback(
        request: Request,
        incident_id: str,
        session: FormSession,
        choice: Annotated[Literal["roll_back", "revert", "not_now"], Form()],
        confirm: Annotated[bool, Form()] = False,
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).decide_rollback(
                ref,
                RollbackDecision(choice=choice, confirm=confirm, **actor(session).model_dump()),
            ),
            f"{ref}: {ROLLBACK_DONE[choice]}",
        )

    @routes.post("/incidents/{incident_id}/rollback/outcome")
    async def rollback_outcome(
        request: Request,
        incident_id: str,
        session: FormSession,
        resolved: Annotated[Literal["yes", "no"], Form()],
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        it = resolved == "yes"
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).report_rollback_outcome(
                ref, RollbackOutcome(resolved=it, **actor(session).model_dump())
            ),
            f"{ref}: the rollback {'resolved it' if it else 'did not resolve it'}",
        )

    @routes.post("/incidents/{incident_id}/resolve")
    async def resolve(
        request: Request,
        incident_id: str,
        session: FormSession,
        resolution: Annotated[Literal["fixed", "rolled_back", "false_positive"], Form()],
        summary: Annotated[str, Form(min_length=1, max_length=4000)],
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).resolve_incident(
                ref,
                ResolveInput(
                    resolution=resolution,
                    summary=summary.strip(),
                    **actor(session).model_dump(),
                ),
            ),
            f"Resolved {ref} ({RESOLUTIONS[resolution]})",
        )

    @routes.post("/incidents/{incident_id}/followups")
    async def add_followup(
        request: Request,
        incident_id: str,
        session: FormSession,
        title: Annotated[str, Form(max_length=256)] = "",
        issue_url: Annotated[str, Form(max_length=500)] = "",
        assignee: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        back = f"/incidents/{ref}"
        new, linked = _text(title), _text(issue_url)
        if (new is None) == (linked is None):
            text = "give a title (a new issue) or the URL of an existing issue, not both"
            return done(back, f"{REFUSED}: {text}", ok=False)
        return await _send(
            back,
            lambda: tocsin(request).add_followup(
                ref,
                FollowUpRequest(
                    title=new,
                    issue_url=linked,
                    assignee=_text(assignee),
                    **actor(session).model_dump(),
                ),
            ),
            f"{ref}: follow-up added" if new else f"{ref}: issue linked as a follow-up",
        )

    @routes.post("/incidents/{incident_id}/comms")
    async def confirm_comms(
        request: Request,
        incident_id: str,
        session: FormSession,
        note: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).confirm_customer_comms(
                ref, CommsConfirmation(note=_text(note), **actor(session).model_dump())
            ),
            f"{ref}: customer communication confirmed",
        )

    @routes.post("/incidents/{incident_id}/edit")
    async def edit(
        request: Request,
        incident_id: str,
        session: FormSession,
        title: Annotated[str, Form(min_length=1, max_length=200)],
        description: Annotated[str, Form(max_length=20_000)] = "",
        summary: Annotated[str, Form(max_length=4000)] = "",
    ) -> Response:
        ref = incident_ref(incident_id)  # IncidentNotFound: the app's 404 page
        return await _send(
            f"/incidents/{ref}",
            lambda: tocsin(request).edit_incident(
                ref,
                IncidentEdit(
                    title=title.strip(),
                    description=description.strip(),
                    summary=summary.strip(),
                    **actor(session).model_dump(),
                ),
            ),
            f"{ref}: saved",
        )

    # Last: its path would otherwise also match /updates, /severity, /resolve...
    @routes.post("/incidents/{incident_id}/{role}")
    async def assign_role(
        request: Request,
        incident_id: str,
        role: Role,
        session: FormSession,
        person: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        return await give(request, session, incident_id, role, person)

    return routes
