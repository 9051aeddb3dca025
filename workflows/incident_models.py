"""The incident contract: inputs, state and message payloads of IncidentWorkflow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from workflows.actors import Acted
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
    # Decided and not started yet (carried over a continue-as-new, so it still runs once).
    requested: bool = False
    running: bool = False
    result: RollbackResult | None = None
    resolved_it: bool | None = None
    prompts: int = 0
    # The last rollback that succeeded (a later decision clears ``result``, not these):
    # running one again needs a confirmation.
    succeeded_at: datetime | None = None
    succeeded_by: str | None = None


class StatusUpdate(BaseModel):
    at: datetime
    by: str
    text: str


class DeclareRequest(Acted):
    """What the declarer says; the starter adds what the config knows (owning team, policy…)."""

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    severity: str | None = None
    service: str | None = None
    customer_impact: bool = False
    security: bool = False
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
    declared_via: str | None = None
    from_page: str | None = None
    people: list[str] = Field(default_factory=list)
    # Who may take a role without being given it: the owning team, customer support and,
    # for a security incident, the security team (empty for incidents declared before).
    responders: list[str] = Field(default_factory=list)
    support_team: str | None = None
    support_members: list[str] = Field(default_factory=list)
    security_team: str | None = None
    lead_timeout_seconds: float = 300.0
    prompt_interval_seconds: float = 900.0
    # Continue as new past this many history events (0: when Temporal suggests it).
    history_limit: int = 0
    # After the incident (``incidents.followups``, ``incidents.archive``…).
    followup_repo: str | None = None
    followup_labels: list[str] = Field(default_factory=lambda: ["incident"])
    followup_check_seconds: float = 6 * 3600.0
    followup_remind_seconds: float = 7 * 86400.0
    messenger_confirm_seconds: float = 3600.0
    archive: Literal["after_postmortem", "at_close"] = "after_postmortem"
    # Where reminders go once the incident channel is archived (the team's channel).
    team_channel: str | None = None
    carried: IncidentState | None = None


class IncidentState(BaseModel):
    """An incident as people see it: roles, decisions, updates, the whole timeline."""

    id: str
    title: str
    description: str | None = None
    # What is known now, in a few sentences: kept up to date by the responders (edit).
    summary: str | None = None
    summary_by: str | None = None
    summary_at: datetime | None = None
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
    number: int = 0
    # When somebody first took the lead (time to acknowledge in the incident log).
    acknowledged_at: datetime | None = None
    followups: list[FollowUp] = Field(default_factory=list)
    postmortem_url: str | None = None
    messenger_confirmed_by: str | None = None
    messenger_confirmed_at: datetime | None = None
    # The pinned incident card in the channel, updated in place as the incident moves.
    card_ref: str | None = None
    archived: bool = False
    # The postmortem: owed (severity says so) until published, then done once its issue
    # closes (or at once when it went to a file or nowhere).
    postmortem_owed: bool = False
    postmortem_issue: IssueRef | None = None
    postmortem_done: bool = False
    messenger_confirm_due: datetime | None = None
    followup_check_due: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # The oldest entries, in the SQL store since a continue-as-new (read back by the API):
    # ``timeline[0]`` is entry number ``timeline_archived`` of the incident.
    timeline_archived: int = 0
    # Deadlines, kept in state so they survive continue-as-new.
    lead_page_due: datetime | None = None
    messenger_page_due: datetime | None = None
    rollback_prompt_due: datetime | None = None
    owner_page_due: datetime | None = None
    update_due: datetime | None = None
    severity_policy: SeverityPolicy | None = None


class CommsConfirmation(Acted):
    """The messenger confirms customer communication is up to date."""

    note: str | None = Field(default=None, max_length=2000)


class RoleInput(Acted):
    person: str = Field(min_length=1, max_length=64)


class RollbackDecision(Acted):
    choice: Literal["roll_back", "revert", "not_now"]
    confirm: bool = Field(
        default=False,
        description="Roll back (or revert) again although a rollback already succeeded.",
    )


class RollbackOutcome(Acted):
    resolved: bool


class UpdateInput(Acted):
    text: str = Field(min_length=1, max_length=4000)


class NoteInput(Acted):
    """A note for the timeline (what someone saw or did), not a status update."""

    text: str = Field(min_length=1, max_length=4000)


class IncidentEdit(Acted):
    """Change the title, the description or the summary; a field left out stays as it is,
    an empty description or summary is cleared."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    summary: str | None = Field(default=None, max_length=4000)


class SeverityChange(Acted):
    severity: SeverityPolicy


class ResolveInput(Acted):
    resolution: Literal["fixed", "rolled_back", "false_positive"]
    summary: str = Field(min_length=1, max_length=4000)


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


# -- after the incident: follow-ups, the postmortem, the incident log -------------------


class FollowUpRequest(Acted):
    """Add a follow-up: a new issue (``title``) or an existing one (``issue_url``)."""

    title: str | None = Field(default=None, min_length=1, max_length=256)
    body: str | None = Field(default=None, max_length=20_000)
    assignee: str | None = Field(default=None, max_length=64)
    repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    issue_url: str | None = Field(default=None, max_length=500)


class FollowUp(BaseModel):
    """One follow-up of an incident and the issue that tracks it."""

    number: int
    title: str
    body: str | None = None
    assignee: str | None = None
    repo: str | None = None
    added_by: str
    added_at: datetime
    # ``pending`` until its issue exists (created or linked), then the issue's state.
    state: Literal["pending", "open", "closed"] = "pending"
    issue_number: int | None = None
    issue_url: str | None = None
    closed_at: datetime | None = None
    reminders: int = 0
    etag: str | None = None
    # The last attempt to create (or link) its issue failed: tried again at the next check.
    create_failed: bool = False


class IssueSpec(BaseModel):
    """Create a follow-up (or postmortem) issue; ``key`` makes a retried create find the first."""

    key: str
    repo: str
    title: str
    body: str
    labels: list[str] = Field(default_factory=list)
    assignee: str | None = None
    # The incident it follows up: the activity adds a link to it (it knows the public URL).
    incident_id: str | None = None


class IssueRef(BaseModel):
    """An issue in a tracker and what Tocsin last knew of it."""

    repo: str
    number: int
    url: str
    state: Literal["open", "closed"] = "open"
    title: str | None = None
    etag: str | None = None


class IssueLink(BaseModel):
    """Parse an issue URL someone pasted (``https://github.com/o/r/issues/7``)."""

    url: str
    # The incident it follows up: the activity labels the issue with it and records the
    # link, so the GitHub webhook finds the incident (None: links made before this field).
    incident_id: str | None = None


class IssueCheck(BaseModel):
    """Ask for an issue's state; ``etag`` makes an unchanged answer a cheap 304."""

    repo: str
    number: int
    etag: str | None = None


class FileSpec(BaseModel):
    """Commit a file (the postmortem) to a repository; an unchanged file is not re-committed."""

    repo: str
    path: str
    branch: str = "main"
    content: str
    message: str


class IncidentRecord(BaseModel):
    """One row of the incident log: what survives Temporal's retention."""

    id: str
    number: int
    title: str
    severity: str
    status: IncidentStatus
    service: str | None = None
    team: str
    declared_by: str
    lead: str | None = None
    declared_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: Literal["fixed", "rolled_back", "false_positive"] | None = None
    resolution_summary: str | None = None
    postmortem_url: str | None = None
    followups_open: int = 0
    followups_closed: int = 0


class LogQuery(BaseModel):
    """Filter the incident log: declared at or after ``since``, of one severity."""

    since: datetime | None = None
    until: datetime | None = None
    severity: str | None = None
    service: str | None = None
    limit: int = Field(default=500, ge=1, le=10_000)


class AnnouncementMail(BaseModel):
    """Mail an incident's announcement to a severity's ``email:`` targets (addresses,
    people or teams, resolved by the activity with the config of the moment)."""

    incident_id: str
    to: list[str]
    subject: str
    body: str


class PostmortemRequest(BaseModel):
    """Render the postmortem draft of ``incident``, publish it and mail it to its recipients."""

    incident: IncidentState
    # False when re-publishing (e.g. after follow-ups changed): the recipients had it already.
    send: bool = True


class PostmortemResult(BaseModel):
    """The rendered draft, and where it went (``url`` is None when no tracker is configured)."""

    markdown: str
    url: str | None = None
    published: Literal["issue", "file"] | None = None
    # The postmortem issue, tracked until someone closes it (``publish: issue``).
    issue: IssueRef | None = None
    emailed: list[str] = Field(default_factory=list)


class IssueEvent(BaseModel):
    """A follow-up issue closed or reopened (from the GitHub ``issues`` webhook)."""

    repo: str
    number: int
    state: Literal["open", "closed"]
    url: str
    by: str | None = None


def incident_record(s: IncidentState) -> IncidentRecord:
    """The incident-log row for the incident as it stands."""
    closed = sum(1 for f in s.followups if f.state == "closed")
    return IncidentRecord(
        id=s.id,
        number=s.number,
        title=s.title,
        severity=s.severity,
        status=s.status,
        service=s.service,
        team=s.team,
        declared_by=s.declared_by,
        lead=s.lead,
        declared_at=s.declared_at,
        acknowledged_at=s.acknowledged_at,
        resolved_at=s.resolved_at,
        closed_at=s.closed_at,
        resolution=s.resolution,
        resolution_summary=s.resolution_summary,
        postmortem_url=s.postmortem_url,
        followups_open=len(s.followups) - closed,
        followups_closed=closed,
    )


IncidentInput.model_rebuild()
