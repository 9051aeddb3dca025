"""REST routes for incidents: declare (or promote a page), list, show, and act on one."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Header, Query, Response, status
from pydantic import Field

from starters.clients.incidents import IncidentListItem
from starters.http.actors import ActingAs
from starters.http.auth import api_router
from starters.http.pages import Tocsin
from starters.http.timelines import Archive, read_timeline
from workflows.actors import Acted
from workflows.archive_models import TimelineEntries
from workflows.ids import incident_workflow_id
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


class NewIncident(Acted):
    """A declaration: what is wrong, how bad, which service, who declares it."""

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    severity: str | None = Field(default=None, description="default: the configured default")
    service: str | None = Field(default=None, description="its team owns the incident")
    customer_impact: bool = Field(default=False, description="a messenger is paged")
    security: bool = Field(default=False, description="private; the security team is paged")


class Promotion(Acted):
    """Declare an incident from a page (title defaults to the page's summary)."""

    severity: str | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)


class SeverityBody(Acted):
    severity: str = Field(min_length=1, max_length=32)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Retry with the same key: the same incident (200), never a second one.",
    ),
]

router = api_router("/api", "incidents")


def _created(response: Response, incident: IncidentState, created: bool) -> IncidentState:
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/incidents/{incident.id}"
    return incident


EXISTING: dict[int | str, dict[str, Any]] = {
    200: {
        "model": IncidentState,
        "description": "Declared before (same Idempotency-Key, or the page's incident): that one",
    }
}


@router.post(
    "/incidents",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentState,
    responses=EXISTING,
)
async def declare(
    body: NewIncident,
    client: Tocsin,
    response: Response,
    act: ActingAs,
    idempotency_key: IdempotencyKey = None,
) -> IncidentState:
    """Declare an incident (201). A repeated ``Idempotency-Key`` returns its incident (200)."""
    request = DeclareRequest(**act(body).model_dump())
    key = idempotency_key or secrets.token_hex(16)
    incident, created = await client.declare_incident(request, key)
    return _created(response, incident, created)


@router.post(
    "/pages/{page_id}/incident",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentState,
    responses=EXISTING,
)
async def promote(
    page_id: str, body: Promotion, client: Tocsin, response: Response, act: ActingAs
) -> IncidentState:
    """Promote a page to an incident (201); promoting it again returns that incident (200)."""
    actor = act(body)
    incident, created = await client.promote_page(page_id, actor, body.severity, body.title)
    return _created(response, incident, created)


@router.get("/incidents", response_model=list[IncidentListItem])
async def list_incidents(
    client: Tocsin,
    incident_status: Annotated[IncidentStatus | None, Query(alias="status")] = None,
    severity: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[IncidentListItem]:
    """Incidents, newest first (from Temporal visibility, which lags about a second)."""
    return await client.list_incidents(incident_status, severity, limit)


@router.get("/incidents/{incident_id}", response_model=IncidentState)
async def get_incident(incident_id: str, client: Tocsin) -> IncidentState:
    """One incident: roles, rollback, updates, role pages and the whole timeline."""
    return await client.get_incident(incident_id)


@router.patch("/incidents/{incident_id}", response_model=IncidentState)
async def edit_incident(
    incident_id: str, body: IncidentEdit, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Change the title, the description or the summary (what is known now): a field left
    out stays, an empty description or summary is cleared. A responder, until it closes."""
    return await client.edit_incident(incident_id, act(body))


@router.get("/incidents/{incident_id}/timeline", response_model=TimelineEntries)
async def get_incident_timeline(
    incident_id: str,
    client: Tocsin,
    archive: Archive,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> TimelineEntries:
    """The incident's whole timeline, oldest first, a slice at a time: an incident open
    for long keeps only its newest entries and the store the rest (``archived`` of them)."""
    state = await client.get_incident(incident_id)
    subject = incident_workflow_id(state.id)
    return await read_timeline(
        archive, subject, state.timeline, state.timeline_archived, offset, limit
    )


@router.post("/incidents/{incident_id}/lead", response_model=IncidentState)
async def assign_lead(
    incident_id: str, body: RoleInput, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Make ``person`` the incident lead (the lead page, if any, closes)."""
    return await client.assign_lead(incident_id, act(body))


@router.post("/incidents/{incident_id}/messenger", response_model=IncidentState)
async def assign_messenger(
    incident_id: str, body: RoleInput, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Make ``person`` the messenger (from customer support, when one is configured)."""
    return await client.assign_messenger(incident_id, act(body))


@router.post("/incidents/{incident_id}/owner", response_model=IncidentState)
async def assign_owner(
    incident_id: str, body: RoleInput, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Make ``person`` the resolution owner."""
    return await client.assign_resolution_owner(incident_id, act(body))


@router.post("/incidents/{incident_id}/updates", response_model=IncidentState)
async def post_update(
    incident_id: str, body: UpdateInput, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Post a status update (it resets the update reminder). From someone other than the
    lead or the messenger while there is a lead, it is recorded as their note."""
    return await client.post_update(incident_id, act(body))


@router.post("/incidents/{incident_id}/notes", response_model=IncidentState)
async def add_note(
    incident_id: str, body: NoteInput, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Add a note to the timeline (anyone in the incident, until it closes): said in the
    channel, not a status update."""
    return await client.add_note(incident_id, act(body))


@router.post("/incidents/{incident_id}/severity", response_model=IncidentState)
async def change_severity(
    incident_id: str, body: SeverityBody, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Change the severity; the new severity's policy applies from now on."""
    return await client.change_incident_severity(incident_id, body.severity, act(body))


@router.post("/incidents/{incident_id}/rollback", response_model=IncidentState)
async def decide_rollback(
    incident_id: str, body: RollbackDecision, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Roll back, revert a change, or not now; a rollback runs the service's configured one."""
    return await client.decide_rollback(incident_id, act(body))


@router.post("/incidents/{incident_id}/rollback/outcome", response_model=IncidentState)
async def rollback_outcome(
    incident_id: str, body: RollbackOutcome, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Say whether the rollback resolved it; if not, a resolution owner is asked for."""
    return await client.report_rollback_outcome(incident_id, act(body))


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentState)
async def resolve(
    incident_id: str, body: ResolveInput, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Resolve (fixed, rolled_back or false_positive); only the lead may, once there is one."""
    return await client.resolve_incident(incident_id, act(body))


@router.post("/incidents/{incident_id}/followups", response_model=IncidentState)
async def add_followup(
    incident_id: str, body: FollowUpRequest, client: Tocsin, act: ActingAs
) -> IncidentState:
    """Add a follow-up: ``title`` (with optional ``body``, ``assignee``, ``repo``) opens a GitHub
    issue for it; ``issue_url`` links an existing one. The incident stays open until every
    follow-up's issue is closed."""
    return await client.add_followup(incident_id, act(body))


@router.post("/incidents/{incident_id}/comms", response_model=IncidentState)
async def confirm_comms(
    incident_id: str, body: CommsConfirmation, client: Tocsin, act: ActingAs
) -> IncidentState:
    """The messenger (or lead) confirms customer communication is up to date."""
    return await client.confirm_customer_comms(incident_id, act(body))
