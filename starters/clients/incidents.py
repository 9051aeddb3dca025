"""The typed client of :class:`~workflows.incident.IncidentWorkflow` (and of the counter
that numbers and starts incidents): declare, the incident's updates, its signal, its state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.workflow import UpdateMethodMultiParam

from starters.errors import IncidentNotFound, Rejected
from starters.updates import answer, require_running
from workflows import search
from workflows.ids import incident_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_counter import COUNTER_ID, IncidentCounterWorkflow
from workflows.incident_models import (
    CommsConfirmation,
    CounterState,
    DeclareAllocation,
    DeclareResult,
    FollowUpRequest,
    IncidentEdit,
    IncidentState,
    IncidentStatus,
    IssueEvent,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    SeverityChange,
    UpdateInput,
)

# IncidentWorkflow.issue_changed by name, as the GitHub webhook has always sent it.
ISSUE_CHANGED = "issue_changed"

A = TypeVar("A", bound=BaseModel)


class IncidentListItem(BaseModel):
    id: str
    title: str
    severity: str
    status: str
    lead: str | None = None
    service: str | None = None


class IncidentWorkflowClient:
    """Every call Tocsin makes to incidents' workflows, by incident id (``INC-42``).

    Raises (every method that names an incident):
        IncidentNotFound: no incident has that id.
        Rejected (updates): the incident is closed, or its validator refused
            (not the lead, a rollback running…); the message says why.
    """

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def declare(self, allocation: DeclareAllocation) -> DeclareResult:
        """Number the incident and start it (without gaps), or name the incident this
        idempotency key already declared."""
        start = WithStartWorkflowOperation(
            IncidentCounterWorkflow.run,
            CounterState(),
            id=COUNTER_ID,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=self._task_queue,
        )
        return await self._client.execute_update_with_start_workflow(
            IncidentCounterWorkflow.declare, allocation, start_workflow_operation=start
        )

    async def get_state(self, incident_id: str) -> IncidentState:
        """The incident with its whole timeline."""
        query = self._handle(incident_id).query(IncidentWorkflow.get_state)
        return await answer(query, _missing(incident_id))

    async def assign_lead(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the incident lead."""
        return await self._update(incident_id, IncidentWorkflow.assign_lead, role)

    async def assign_messenger(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the messenger (customer communication)."""
        return await self._update(incident_id, IncidentWorkflow.assign_messenger, role)

    async def assign_resolution_owner(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the owner of the resolution."""
        return await self._update(incident_id, IncidentWorkflow.assign_resolution_owner, role)

    async def decide_rollback(self, incident_id: str, decision: RollbackDecision) -> IncidentState:
        """Roll back, revert, or not now."""
        return await self._update(incident_id, IncidentWorkflow.decide_rollback, decision)

    async def report_rollback_outcome(
        self, incident_id: str, outcome: RollbackOutcome
    ) -> IncidentState:
        """Whether the rollback resolved the incident."""
        return await self._update(incident_id, IncidentWorkflow.report_rollback_outcome, outcome)

    async def post_update(self, incident_id: str, update: UpdateInput) -> IncidentState:
        """A status update (it resets the update reminder)."""
        return await self._update(incident_id, IncidentWorkflow.post_update, update)

    async def add_note(self, incident_id: str, note: NoteInput) -> IncidentState:
        """A note for the timeline (not a status update)."""
        return await self._update(incident_id, IncidentWorkflow.add_note, note)

    async def change_severity(self, incident_id: str, change: SeverityChange) -> IncidentState:
        """Apply another severity's policy from now on."""
        return await self._update(incident_id, IncidentWorkflow.change_severity, change)

    async def resolve(self, incident_id: str, resolution: ResolveInput) -> IncidentState:
        """Resolve the incident (fixed, rolled back or a false positive)."""
        return await self._update(incident_id, IncidentWorkflow.resolve, resolution)

    async def edit(self, incident_id: str, edit: IncidentEdit) -> IncidentState:
        """A new title, description or summary."""
        return await self._update(incident_id, IncidentWorkflow.edit, edit)

    async def add_followup(self, incident_id: str, request: FollowUpRequest) -> IncidentState:
        """A follow-up: a new GitHub issue, or a link to an existing one."""
        return await self._update(incident_id, IncidentWorkflow.add_followup, request)

    async def confirm_customer_comms(
        self, incident_id: str, confirmation: CommsConfirmation
    ) -> IncidentState:
        """The messenger (or lead) confirms customer communication is up to date."""
        return await self._update(
            incident_id, IncidentWorkflow.confirm_customer_comms, confirmation
        )

    async def issue_changed(self, incident_id: str, event: IssueEvent) -> None:
        """A follow-up's issue was closed or reopened (the signal GitHub's webhook sends)."""
        handle = self._client.get_workflow_handle(incident_workflow_id(incident_id))
        await answer(handle.signal(ISSUE_CHANGED, event), _missing(incident_id))

    async def list_incidents(
        self, status: IncidentStatus | None, severity: str | None, limit: int
    ) -> list[IncidentListItem]:
        """Incidents newest first by number, from visibility (which lags about a second)."""
        clauses = [f'{search.KIND.name} = "incident"']
        if status is not None:
            clauses.append(f'{search.STATUS.name} = "{status.value}"')
        if severity is not None:
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

    async def _update(
        self,
        incident_id: str,
        update: UpdateMethodMultiParam[[IncidentWorkflow, A], IncidentState],
        request: A,
    ) -> IncidentState:
        handle = self._handle(incident_id)
        closed = f"{incident_id} is closed"
        await require_running(handle, _missing(incident_id), lambda _: Rejected(closed))
        # Running when asked, closed before taking the update: "workflow update was aborted
        # by closing workflow" comes back as NOT_FOUND.
        return await answer(handle.execute_update(update, request), lambda: Rejected(closed))

    def _handle(self, incident_id: str) -> WorkflowHandle[IncidentWorkflow, IncidentState]:
        return self._client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(incident_id)
        )


def _missing(incident_id: str) -> Callable[[], IncidentNotFound]:
    return lambda: IncidentNotFound(f"no incident {incident_id!r}")
