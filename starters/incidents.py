"""The incident side of the typed client API (used by the HTTP API, the CLI and Slack):
declarations filled in from the config, severities by name, and the verbs people use.

Errors are those of :class:`~starters.clients.incidents.IncidentWorkflowClient`
(``IncidentNotFound`` is a ``LookupError``, ``Rejected`` a ``ValueError``), plus
``LookupError`` for a name the config does not know.
"""

from __future__ import annotations

from temporalio.client import Client

from activities.ports import ConfigSource
from starters.clients.incidents import IncidentListItem, IncidentWorkflowClient
from workflows.actors import Acted
from workflows.config import TocsinConfig
from workflows.incident_models import (
    CommsConfirmation,
    DeclareAllocation,
    DeclareRequest,
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
    SeverityPolicy,
    UpdateInput,
)

INCIDENT_ID = r"^INC-[0-9]{1,9}$"

IncidentAction = (
    RoleInput
    | RollbackDecision
    | RollbackOutcome
    | UpdateInput
    | ResolveInput
    | FollowUpRequest
    | CommsConfirmation
    | IncidentEdit
    | NoteInput
)
"""What people ask of an incident: the request of each update a front door sends."""


def severity_policy(config: TocsinConfig, name: str) -> SeverityPolicy:
    """The configured severity as the workflow applies it.

    Raises:
        LookupError: no such severity (the message lists the configured ones).
    """
    severity = config.severity(name)
    if severity is None:
        names = ", ".join(s.name for s in config.severities)
        raise LookupError(f"unknown severity {name!r} (severities: {names})")
    return SeverityPolicy(
        name=severity.name,
        page=severity.page,
        announce=list(severity.announce),
        update_interval_seconds=severity.update_interval.total_seconds(),
        postmortem=severity.postmortem,
    )


def incident_responders(config: TocsinConfig, team: str, security: bool) -> list[str]:
    """Who may take a role in an incident of ``team`` without being given it: that team,
    customer support, and the security team for a security incident."""
    teams = [team, config.incidents.customer_support_team]
    if security:
        teams.append(config.incidents.security_team)
    return sorted({p for t in teams if t in config.teams for p in config.teams[t].members})


class IncidentClient:
    """Declare incidents and act on them."""

    def __init__(self, client: Client, config: ConfigSource, task_queue: str) -> None:
        self._config = config
        self._workflows = IncidentWorkflowClient(client, task_queue)

    @property
    def workflows(self) -> IncidentWorkflowClient:
        """The incidents' typed workflow client (each update as its own method)."""
        return self._workflows

    def incident_input(self, request: DeclareRequest) -> IncidentInput:
        """Fill in what the config knows: owning team, severity policy, role teams.

        Raises:
            LookupError: unknown severity, service or person.
        """
        config = self._config.current()
        if request.by not in config.people:
            raise LookupError(f"unknown person {request.by!r}")
        name = request.severity or config.incidents.default_severity or config.severities[0].name
        policy = severity_policy(config, name)
        if request.service is not None and request.service not in config.services:
            raise LookupError(f"unknown service {request.service!r}")
        team = self._owning_team(config, request)
        support = config.incidents.customer_support_team
        followups = config.incidents.followups
        return IncidentInput(
            id="",
            number=0,
            title=request.title,
            description=request.description,
            severity=policy,
            service=request.service,
            team=team,
            customer_impact=request.customer_impact,
            security=request.security,
            declared_by=request.by,
            declared_via=request.via,
            from_page=request.from_page,
            people=sorted(config.people),
            support_team=support,
            support_members=list(config.teams[support].members) if support else [],
            responders=incident_responders(config, team, request.security),
            security_team=config.incidents.security_team,
            lead_timeout_seconds=config.incidents.lead_timeout.total_seconds(),
            prompt_interval_seconds=config.incidents.prompt_interval.total_seconds(),
            history_limit=config.incidents.history_limit,
            followup_repo=self._followup_repo(config, request),
            followup_labels=list(followups.labels),
            followup_check_seconds=followups.check_interval.total_seconds(),
            followup_remind_seconds=followups.remind_after.total_seconds(),
            messenger_confirm_seconds=config.incidents.messenger_confirm_timeout.total_seconds(),
            archive=config.incidents.archive,
            team_channel=config.teams[team].slack_channel,
        )

    @staticmethod
    def _followup_repo(config: TocsinConfig, request: DeclareRequest) -> str | None:
        """Where follow-up issues go: the service's repository, else the configured default."""
        service = config.services.get(request.service or "")
        return (service.repo if service else None) or config.incidents.followups.repo

    @staticmethod
    def _owning_team(config: TocsinConfig, request: DeclareRequest) -> str:
        if request.service is not None:
            return config.services[request.service].team
        teams_of = [t for t, spec in config.teams.items() if request.by in spec.members]
        return teams_of[0] if teams_of else next(iter(config.teams))

    async def declare(
        self, request: DeclareRequest, idempotency_key: str
    ) -> tuple[IncidentState, bool]:
        """Declare (numbered without gaps), or return the incident this key already declared."""
        allocation = DeclareAllocation(
            idempotency_key=idempotency_key, incident=self.incident_input(request)
        )
        result = await self._workflows.declare(allocation)
        return await self.get(result.id), result.created

    async def list_incidents(
        self, status: IncidentStatus | None = None, severity: str | None = None, limit: int = 200
    ) -> list[IncidentListItem]:
        if severity is not None:
            severity_policy(self._config.current(), severity)
        return await self._workflows.list_incidents(status, severity, limit)

    async def get(self, incident_id: str) -> IncidentState:
        """The incident's state, raising ``IncidentNotFound`` (a LookupError) for an unknown id."""
        return await self._workflows.get_state(incident_id)

    async def assign_lead(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the incident lead."""
        return await self._workflows.assign_lead(incident_id, role)

    async def assign_messenger(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the messenger (customer communication)."""
        return await self._workflows.assign_messenger(incident_id, role)

    async def assign_resolution_owner(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the owner of the resolution."""
        return await self._workflows.assign_resolution_owner(incident_id, role)

    async def decide_rollback(self, incident_id: str, decision: RollbackDecision) -> IncidentState:
        """Roll back, revert, or not now."""
        return await self._workflows.decide_rollback(incident_id, decision)

    async def report_rollback_outcome(
        self, incident_id: str, outcome: RollbackOutcome
    ) -> IncidentState:
        """Whether the rollback resolved the incident."""
        return await self._workflows.report_rollback_outcome(incident_id, outcome)

    async def post_update(self, incident_id: str, update: UpdateInput) -> IncidentState:
        """A status update (it resets the update reminder)."""
        return await self._workflows.post_update(incident_id, update)

    async def add_note(self, incident_id: str, note: NoteInput) -> IncidentState:
        """A note for the timeline (not a status update)."""
        return await self._workflows.add_note(incident_id, note)

    async def resolve(self, incident_id: str, resolution: ResolveInput) -> IncidentState:
        """Resolve the incident (fixed, rolled back or a false positive)."""
        return await self._workflows.resolve(incident_id, resolution)

    async def add_followup(self, incident_id: str, request: FollowUpRequest) -> IncidentState:
        """A follow-up: a new GitHub issue, or a link to an existing one."""
        return await self._workflows.add_followup(incident_id, request)

    async def edit(self, incident_id: str, edit: IncidentEdit) -> IncidentState:
        """A new title, description or summary."""
        return await self._workflows.edit(incident_id, edit)

    async def confirm_customer_comms(
        self, incident_id: str, confirmation: CommsConfirmation
    ) -> IncidentState:
        """The messenger (or lead) confirms customer communication is up to date."""
        return await self._workflows.confirm_customer_comms(incident_id, confirmation)

    async def change_severity(self, incident_id: str, name: str, actor: Acted) -> IncidentState:
        """Apply the configured severity ``name`` (``LookupError`` if there is none)."""
        policy = severity_policy(self._config.current(), name)
        change = SeverityChange(severity=policy, by=actor.by, via=actor.via, admin=actor.admin)
        return await self._workflows.change_severity(incident_id, change)


__all__ = [
    "INCIDENT_ID",
    "IncidentAction",
    "IncidentClient",
    "IncidentListItem",
    "ResolveInput",
    "RoleInput",
    "RollbackDecision",
    "RollbackOutcome",
    "UpdateInput",
]
