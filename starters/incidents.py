"""The incident side of the typed client API (used by the HTTP API and the CLI)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.ports import ConfigSource
from starters.updates import refusal
from workflows import search
from workflows.config import TocsinConfig
from workflows.ids import incident_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_counter import COUNTER_ID, IncidentCounterWorkflow
from workflows.incident_models import (
    CounterState,
    DeclareAllocation,
    DeclareRequest,
    IncidentInput,
    IncidentState,
    IncidentStatus,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    SeverityChange,
    SeverityPolicy,
    UpdateInput,
)

INCIDENT_ID = r"^INC-[0-9]{1,9}$"


class IncidentListItem(BaseModel):
    id: str
    title: str
    severity: str
    status: str
    lead: str | None = None
    service: str | None = None


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


class IncidentClient:
    """Declare incidents and act on them."""

    def __init__(self, client: Client, config: ConfigSource, task_queue: str) -> None:
        self._client = client
        self._config = config
        self._task_queue = task_queue

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
            from_page=request.from_page,
            people=sorted(config.people),
            support_team=support,
            support_members=list(config.teams[support].members) if support else [],
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
        incident = self.incident_input(request)
        start = WithStartWorkflowOperation(
            IncidentCounterWorkflow.run,
            CounterState(),
            id=COUNTER_ID,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=self._task_queue,
        )
        result = await self._client.execute_update_with_start_workflow(
            IncidentCounterWorkflow.declare,
            DeclareAllocation(idempotency_key=idempotency_key, incident=incident),
            start_workflow_operation=start,
        )
        return await self.get(result.id), result.created

    async def list_incidents(
        self, status: IncidentStatus | None = None, severity: str | None = None, limit: int = 200
    ) -> list[IncidentListItem]:
        clauses = [f'{search.KIND.name} = "incident"']
        if status is not None:
            clauses.append(f'{search.STATUS.name} = "{status.value}"')
        if severity is not None:
            severity_policy(self._config.current(), severity)
            clauses.append(f'{search.SEVERITY.name} = "{severity}"')
        items: list[IncidentListItem] = []
        async for execution in self._client.list_workflows(" AND ".join(clauses), limit=limit):
            attributes = execution.typed_search_attributes
            memo = await execution.memo()
            items.append(
                IncidentListItem(
                    id=execution.id.removeprefix("incident-"),
                    title=str(memo.get("title", "")),
                    severity=attributes.get(search.SEVERITY) or "",
                    status=attributes.get(search.STATUS) or "",
                    lead=attributes.get(search.LEAD),
                    service=attributes.get(search.SERVICE),
                )
            )
        # Visibility lists open incidents first, then by close time: newest first by number.
        return sorted(items, key=lambda i: int(i.id.removeprefix("INC-") or 0), reverse=True)

    async def get(self, incident_id: str) -> IncidentState:
        """The incident's state, raising :class:`LookupError` for an unknown id."""
        handle = self._client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(incident_id)
        )
        try:
            return await handle.query(IncidentWorkflow.get_state)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise LookupError(f"no incident {incident_id!r}") from None
            raise

    async def act(self, incident_id: str, verb: str, payload: BaseModel) -> IncidentState:
        """Send one of the incident's updates; a validator's refusal raises ValueError."""
        updates: dict[str, Any] = {
            "lead": IncidentWorkflow.assign_lead,
            "messenger": IncidentWorkflow.assign_messenger,
            "owner": IncidentWorkflow.assign_resolution_owner,
            "rollback": IncidentWorkflow.decide_rollback,
            "rollback_outcome": IncidentWorkflow.report_rollback_outcome,
            "update": IncidentWorkflow.post_update,
            "severity": IncidentWorkflow.change_severity,
            "resolve": IncidentWorkflow.resolve,
            "followup": IncidentWorkflow.add_followup,
            "comms": IncidentWorkflow.confirm_customer_comms,
        }
        handle = self._client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(incident_id)
        )
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise LookupError(f"no incident {incident_id!r}") from None
            raise
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise ValueError(f"{incident_id} is closed")
        try:
            state: IncidentState = await handle.execute_update(updates[verb], payload)
        except WorkflowUpdateFailedError as err:
            raise ValueError(refusal(err)) from None
        return state

    async def change_severity(self, incident_id: str, name: str, by: str) -> IncidentState:
        policy = severity_policy(self._config.current(), name)
        return await self.act(incident_id, "severity", SeverityChange(severity=policy, by=by))


__all__ = [
    "INCIDENT_ID",
    "IncidentClient",
    "IncidentListItem",
    "ResolveInput",
    "RoleInput",
    "RollbackDecision",
    "RollbackOutcome",
    "UpdateInput",
]
