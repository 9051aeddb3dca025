"""The incident contract: inputs, state and message payloads of IncidentWorkflow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from workflows.models import RollbackResult, TimelineEntry


class IncidentStatus(StrEnum):
    triage = "triage"
    active = "active"
    resolved = "resolved"
    closed = "closed"


class SeverityPolicy(BaseModel):
    """A severity as configured when it was applied (severity changes bring a new one)."""

    name: str
    page: bool = True
    announce: list[str] = Field(default_factory=list)
    update_interval_seconds: float = 1800.0
    postmortem: bool = False


class RolePage(BaseModel):
    """A page Tocsin opened to fill a role (lead, messenger, security, resolution owner)."""

    purpose: str
    page_id: str
    team: str
    acknowledged_by: str | None = None
    closed: bool = False


class RollbackState(BaseModel):
    decision: Literal["roll_back", "revert", "not_now"] | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    running: bool = False
    result: RollbackResult | None = None
    resolved_it: bool | None = None
    prompts: int = 0


class StatusUpdate(BaseModel):
    at: datetime
    by: str
    text: str


class DeclareRequest(BaseModel):
    """What the declarer says; the starter adds what the config knows (owning team, policy…)."""

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    severity: str | None = None
    service: str | None = None
    customer_impact: bool = False
    security: bool = False
    by: str = Field(min_length=1, max_length=64)
    from_page: str | None = None


class IncidentInput(BaseModel):
    """Everything an incident run needs; ``carried`` is set when it continues as new."""

    id: str
    number: int
    title: str
    description: str | None = None
    severity: SeverityPolicy
    service: str | None = None
    team: str
    customer_impact: bool = False
    security: bool = False
    declared_by: str
    from_page: str | None = None
    people: list[str] = Field(default_factory=list)
    support_team: str | None = None
    support_members: list[str] = Field(default_factory=list)
    security_team: str | None = None
    lead_timeout_seconds: float = 300.0
    prompt_interval_seconds: float = 900.0
    # Continue as new past this many history events (0: when Temporal suggests it).
    history_limit: int = 0
    carried: IncidentState | None = None


class IncidentState(BaseModel):
    """An incident as people see it: roles, decisions, updates, the whole timeline."""

    id: str
    title: str
    description: str | None = None
    severity: str
    status: IncidentStatus = IncidentStatus.triage
    service: str | None = None
    team: str
    customer_impact: bool = False
    security: bool = False
    private: bool = False
    declared_by: str
    declared_at: datetime
    from_page: str | None = None
    lead: str | None = None
    messenger: str | None = None
    resolution_owner: str | None = None
    channel: str | None = None
    rollback: RollbackState = Field(default_factory=RollbackState)
    updates: list[StatusUpdate] = Field(default_factory=list)
    last_update_at: datetime | None = None
    reminders: int = 0
    pages: list[RolePage] = Field(default_factory=list)
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: Literal["fixed", "rolled_back", "false_positive"] | None = None
    resolution_summary: str | None = None
    closed_at: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # Deadlines, kept in state so they survive continue-as-new.
    lead_page_due: datetime | None = None
    messenger_page_due: datetime | None = None
    rollback_prompt_due: datetime | None = None
    owner_page_due: datetime | None = None
    update_due: datetime | None = None
    severity_policy: SeverityPolicy | None = None


class RoleInput(BaseModel):
    person: str = Field(min_length=1, max_length=64)
    by: str = Field(min_length=1, max_length=64)


class RollbackDecision(BaseModel):
    choice: Literal["roll_back", "revert", "not_now"]
    by: str = Field(min_length=1, max_length=64)


class RollbackOutcome(BaseModel):
    resolved: bool
    by: str = Field(min_length=1, max_length=64)


class UpdateInput(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    by: str = Field(min_length=1, max_length=64)


class SeverityChange(BaseModel):
    severity: SeverityPolicy
    by: str = Field(min_length=1, max_length=64)


class ResolveInput(BaseModel):
    resolution: Literal["fixed", "rolled_back", "false_positive"]
    summary: str = Field(min_length=1, max_length=4000)
    by: str = Field(min_length=1, max_length=64)


class DeclareAllocation(BaseModel):
    """Ask the counter for the next incident number and to start the incident."""

    idempotency_key: str
    incident: IncidentInput


class DeclareResult(BaseModel):
    id: str
    number: int
    created: bool


class CounterState(BaseModel):
    next_number: int = 1
    keys: dict[str, int] = Field(default_factory=dict)


class ChannelRequest(BaseModel):
    incident_id: str
    name: str
    private: bool
    members: list[str]


class ChannelInvite(BaseModel):
    channel: str
    people: list[str]


class ChatPost(BaseModel):
    channel: str
    text: str


IncidentInput.model_rebuild()
