"""The incident side of the typed client API: ids, people and severities checked against
the config first, then sent to the incident's workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client

from activities.ports import ConfigSource
from starters.checks import (
    check_declaration,
    incident_ref,
    lookup_message,
    require_people,
    require_severity,
)
from starters.clients.incidents import IncidentListItem
from starters.errors import IncidentNotFound, InvalidRequest
from starters.incidents import IncidentAction, IncidentClient
from workflows.actors import Acted
from workflows.incident_models import (
    CommsConfirmation,
    DeclareRequest,
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
    UpdateInput,
)

LIST_LIMIT = 200

A = TypeVar("A", bound=IncidentAction)
Verb = Callable[[IncidentClient, str, A], Awaitable[IncidentState]]


class IncidentApi:
    """Incidents as :class:`~starters.api.TocsinClient` offers them to every front door.

    Raises (every method that acts on an incident):
        IncidentNotFound: no such incident (or not an id of the form ``INC-42``).
        InvalidRequest: an unknown person or severity.
        Rejected: the incident refused (closed, not the lead, a rollback running…).
    """

    _client: Client
    _config: ConfigSource
    _task_queue: str

    @property
    def incidents(self) -> IncidentClient:
        """The incident client itself (it raises ``LookupError``/``ValueError``).

        Front doors use the methods below, which check input against the config first
        and raise :mod:`starters.errors`.
        """
        return IncidentClient(self._client, self._config, self._task_queue)

    async def declare_incident(
        self, request: DeclareRequest, idempotency_key: str
    ) -> tuple[IncidentState, bool]:
        """Declare an incident, or return the one this idempotency key already declared.

        Returns:
            The incident, and whether this call declared it.
        """
        check_declaration(self._config.current(), request)
        try:
            return await self.incidents.declare(request, idempotency_key)
        except LookupError as err:
            raise InvalidRequest(lookup_message(err)) from None

    async def list_incidents(
        self,
        status: IncidentStatus | None = None,
        severity: str | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[IncidentListItem]:
        """Incidents, newest first, from Temporal visibility (which lags about a second)."""
        if severity is not None:
            require_severity(self._config.current(), severity)
        return await self.incidents.list_incidents(status, severity, limit)

    async def get_incident(self, incident_id: str) -> IncidentState:
        """The incident with its whole timeline."""
        ref = incident_ref(incident_id)
        try:
            return await self.incidents.get(ref)
        except LookupError:
            raise IncidentNotFound(f"no incident {incident_id!r}") from None

    async def assign_lead(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the incident lead (the lead page, if any, closes)."""
        return await self._send(incident_id, role, IncidentClient.assign_lead)

    async def assign_messenger(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the messenger (customer communication)."""
        return await self._send(incident_id, role, IncidentClient.assign_messenger)

    async def assign_resolution_owner(self, incident_id: str, role: RoleInput) -> IncidentState:
        """Make ``role.person`` the owner of the resolution."""
        return await self._send(incident_id, role, IncidentClient.assign_resolution_owner)

    async def decide_rollback(self, incident_id: str, decision: RollbackDecision) -> IncidentState:
        """Roll back (the service's configured rollback), revert a change, or not now."""
        return await self._send(incident_id, decision, IncidentClient.decide_rollback)

    async def report_rollback_outcome(
        self, incident_id: str, outcome: RollbackOutcome
    ) -> IncidentState:
        """Whether the rollback resolved it; if not, a resolution owner is asked for."""
        return await self._send(incident_id, outcome, IncidentClient.report_rollback_outcome)

    async def post_update(self, incident_id: str, update: UpdateInput) -> IncidentState:
        """A status update (it resets the update reminder)."""
        return await self._send(incident_id, update, IncidentClient.post_update)

    async def add_note(self, incident_id: str, note: NoteInput) -> IncidentState:
        """A note for the timeline from anyone in the incident (not a status update)."""
        return await self._send(incident_id, note, IncidentClient.add_note)

    async def resolve_incident(self, incident_id: str, resolution: ResolveInput) -> IncidentState:
        """Resolve (fixed, rolled_back or false_positive); only the lead may, once there is one."""
        return await self._send(incident_id, resolution, IncidentClient.resolve)

    async def add_followup(self, incident_id: str, request: FollowUpRequest) -> IncidentState:
        """A follow-up issue to open (``title``) or link (``issue_url``)."""
        return await self._send(incident_id, request, IncidentClient.add_followup)

    async def confirm_customer_comms(
        self, incident_id: str, confirmation: CommsConfirmation
    ) -> IncidentState:
        """The messenger (or lead) confirms customer communication is up to date."""
        return await self._send(incident_id, confirmation, IncidentClient.confirm_customer_comms)

    async def edit_incident(self, incident_id: str, edit: IncidentEdit) -> IncidentState:
        """A new title, description or summary (a responder, until it closes)."""
        return await self._send(incident_id, edit, IncidentClient.edit)

    async def change_incident_severity(
        self, incident_id: str, severity: str, actor: Acted
    ) -> IncidentState:
        """Apply another severity's policy (updates, announcements, paging) from now on."""
        ref = incident_ref(incident_id)
        config = self._config.current()
        require_severity(config, severity)
        require_people(config, actor.by)
        return await self.incidents.change_severity(ref, severity, actor)

    async def issue_changed(self, incident_id: str, event: IssueEvent) -> None:
        """A follow-up's GitHub issue was closed or reopened.

        Raises:
            IncidentNotFound: no incident of that id is running.
        """
        await self.incidents.workflows.issue_changed(incident_id, event)

    async def _send(self, incident_id: str, action: A, verb: Verb[A]) -> IncidentState:
        ref = self._checked(incident_id, action)
        return await verb(self.incidents, ref, action)

    def _checked(self, incident_id: str, action: IncidentAction) -> str:
        """The incident's id as ``INC-42``, once every person ``action`` names is known."""
        ref = incident_ref(incident_id)
        people = [action.by] + ([action.person] if isinstance(action, RoleInput) else [])
        if isinstance(action, FollowUpRequest) and action.assignee:
            people.append(action.assignee)
        require_people(self._config.current(), *people)
        return ref
