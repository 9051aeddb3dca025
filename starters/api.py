"""The typed client API every front door uses (HTTP, CLI, later Slack): one place that
talks to Temporal as a client, so validation and error mapping are the same everywhere.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.ports import ConfigSource
from starters.checks import (
    IncidentAction,
    IncidentVerb,
    NewPage,
    check_declaration,
    incident_ref,
    lookup_message,
    require_people,
    require_severity,
)
from starters.errors import IncidentNotFound, InvalidRequest, PageNotFound, Rejected
from starters.incidents import IncidentClient, IncidentListItem
from starters.intake import AlertIntake
from starters.rotations import BadInput, RotationClient
from starters.updates import refusal
from workflows import search
from workflows.ids import page_key, page_workflow_id
from workflows.incident_models import (
    DeclareRequest,
    FollowUpRequest,
    IncidentState,
    IncidentStatus,
    RoleInput,
)
from workflows.models import (
    AlertList,
    AlertQuery,
    OnCallEntry,
    PageActionInput,
    PageInput,
    PageListItem,
    PageState,
    PageStatus,
)
from workflows.page import PageWorkflow
from workflows.page_views import initial_search_attributes, page_summary

LIST_LIMIT = 200


T = TypeVar("T")


class TocsinClient:
    """Pages and incidents (and, later, rotations) as seen from outside the workers."""

    def __init__(self, client: Client, config: ConfigSource, task_queue: str) -> None:
        self._client = client
        self._config = config
        self._task_queue = task_queue

    @property
    def temporal(self) -> Client:
        return self._client

    @property
    def config(self) -> ConfigSource:
        """The configuration this client checks requests against."""
        return self._config

    @property
    def intake(self) -> AlertIntake:
        """Alert sources' way in (Alertmanager, Events API)."""
        return AlertIntake(self._client, self._config, self._task_queue)

    @property
    def incidents(self) -> IncidentClient:
        """The incident client itself (it raises ``LookupError``/``ValueError``).

        Front doors use the ``*_incident`` methods below, which check input against the
        config first and raise this module's typed errors.
        """
        return IncidentClient(self._client, self._config, self._task_queue)

    async def create_page(self, request: NewPage) -> tuple[PageState, bool]:
        """Open a page, or return the open one with the same dedup key.

        Returns:
            The page, and whether this call created it.

        Raises:
            InvalidRequest: the team is not configured.
        """
        config = self._config.current()
        team = config.teams.get(request.team)
        if team is None:
            raise InvalidRequest(
                f"unknown team {request.team!r} (teams: {', '.join(sorted(config.teams))})"
            )
        key = request.dedup_key or secrets.token_hex(4)
        workflow_id = page_workflow_id(key)
        page = PageInput(
            key=key,
            team=request.team,
            summary=request.summary,
            details=request.details,
            dedup_key=request.dedup_key,
            created_by=request.by,
            team_members=list(team.members),
        )
        try:
            await self._client.start_workflow(
                PageWorkflow.run,
                page,
                id=workflow_id,
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=initial_search_attributes(request.team),
                static_summary=page_summary(request.team, request.summary),
                static_details=request.details,
                memo={"summary": request.summary, "team": request.team},
            )
        except WorkflowAlreadyStartedError:
            return await self.get_page(key), False
        state = PageState(
            id=key,
            workflow_id=workflow_id,
            team=request.team,
            summary=request.summary,
            details=request.details,
            dedup_key=request.dedup_key,
            created_by=request.by,
            created_at=datetime.now(UTC),
        )
        return state, True

    async def list_pages(
        self, status: PageStatus | None = None, team: str | None = None, limit: int = LIST_LIMIT
    ) -> list[PageListItem]:
        """Pages newest first, filtered by status and team."""
        clauses = [f'{search.KIND.name} = "page"']
        if status is not None:
            clauses.append(f'{search.STATUS.name} = "{status.value}"')
        if team is not None:
            if team not in self._config.current().teams:
                raise InvalidRequest(f"unknown team {team!r}")
            clauses.append(f'{search.TEAM.name} = "{team}"')
        items: list[PageListItem] = []
        async for execution in self._client.list_workflows(" AND ".join(clauses), limit=limit):
            memo = await execution.memo()
            attributes = execution.typed_search_attributes
            items.append(
                PageListItem(
                    id=page_key(execution.id),
                    status=attributes.get(search.STATUS) or "unknown",
                    team=attributes.get(search.TEAM) or str(memo.get("team", "")),
                    summary=str(memo.get("summary", "")),
                    created_at=execution.start_time,
                )
            )
        return items

    async def get_page(self, page_id: str) -> PageState:
        """The page's live state, timeline included.

        Raises:
            PageNotFound: no such page.
        """
        handle = self._handle(page_id)
        try:
            return await handle.query(PageWorkflow.get_state)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise PageNotFound(f"no page {page_id!r}") from None
            raise

    async def get_alerts(self, page_id: str, offset: int = 0, limit: int = 500) -> AlertList:
        """A slice of the page's alerts (``get_page`` shows at most 100).

        Raises:
            PageNotFound: no such page.
        """
        try:
            return await self._handle(page_id).query(
                PageWorkflow.get_alerts, AlertQuery(offset=offset, limit=limit)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise PageNotFound(f"no page {page_id!r}") from None
            raise

    async def acknowledge(self, page_id: str, by: str, note: str | None = None) -> PageState:
        """Acknowledge: stops the escalation."""
        return await self._act(page_id, "acknowledge", PageActionInput(by=by, note=note))

    async def escalate(self, page_id: str, by: str, note: str | None = None) -> PageState:
        """Notify the next escalation step now."""
        return await self._act(page_id, "escalate", PageActionInput(by=by, note=note))

    async def resolve(self, page_id: str, by: str, note: str | None = None) -> PageState:
        """Close the page."""
        return await self._act(page_id, "resolve", PageActionInput(by=by, note=note))

    @property
    def rotations(self) -> RotationClient:
        """The rotation client itself (it raises ``LookupError``/``ValueError``)."""
        return RotationClient(self._client, self._config)

    async def oncall(
        self, team: str | None = None, at: datetime | None = None
    ) -> list[OnCallEntry]:
        """Who holds each layer of each team's rotation at ``at`` (default: now), with the
        rotations' overrides and swaps applied.

        Raises:
            InvalidRequest: unknown team, or a naive ``at``.
        """
        return await self.rotation_call(lambda r: r.oncall(team, at))

    async def rotation_call(self, call: Callable[[RotationClient], Awaitable[T]]) -> T:
        """Run ``call`` on the rotation client, with this module's typed errors.

        Raises:
            InvalidRequest: unknown rotation, team or person; a bad time range.
            Rejected: the rotation refused (its validator: overlapping swap, past end…).
        """
        try:
            return await call(self.rotations)
        except (LookupError, BadInput) as err:
            raise InvalidRequest(
                lookup_message(err) if isinstance(err, LookupError) else str(err)
            ) from None
        except ValueError as err:
            raise Rejected(str(err)) from None

    async def declare_incident(
        self, request: DeclareRequest, idempotency_key: str
    ) -> tuple[IncidentState, bool]:
        """Declare an incident, or return the one this idempotency key already declared.

        Returns:
            The incident, and whether this call declared it.

        Raises:
            InvalidRequest: unknown person, severity or service.
        """
        check_declaration(self._config.current(), request)
        try:
            return await self.incidents.declare(request, idempotency_key)
        except LookupError as err:
            raise InvalidRequest(lookup_message(err)) from None

    async def promote_page(
        self, page_id: str, by: str, severity: str | None = None, title: str | None = None
    ) -> tuple[IncidentState, bool]:
        """Declare an incident from a page: its summary, details and service carry over.

        The page id is the idempotency key, so promoting a page twice returns one incident.

        Raises:
            PageNotFound: no such page.
            InvalidRequest: unknown person or severity.
        """
        require_people(self._config.current(), by)
        page = await self.get_page(page_id)
        summary = title or page.summary
        request = DeclareRequest(
            title=summary if len(summary) <= 200 else summary[:199] + "…",
            description=page.details,
            severity=severity,
            service=page.service if page.service in self._config.current().services else None,
            by=by,
            from_page=page.id,
        )
        return await self.declare_incident(request, f"page:{page.id}")

    async def list_incidents(
        self,
        status: IncidentStatus | None = None,
        severity: str | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[IncidentListItem]:
        """Incidents, newest first, from Temporal visibility (which lags about a second).

        Raises:
            InvalidRequest: unknown severity.
        """
        if severity is not None:
            require_severity(self._config.current(), severity)
        return await self.incidents.list_incidents(status, severity, limit)

    async def get_incident(self, incident_id: str) -> IncidentState:
        """The incident with its whole timeline.

        Raises:
            IncidentNotFound: no such incident.
        """
        ref = incident_ref(incident_id)
        try:
            return await self.incidents.get(ref)
        except LookupError:
            raise IncidentNotFound(f"no incident {incident_id!r}") from None

    async def act_on_incident(
        self, incident_id: str, verb: IncidentVerb, action: IncidentAction
    ) -> IncidentState:
        """Assign a role, decide or report on the rollback, post an update, or resolve.

        Raises:
            IncidentNotFound: no such incident.
            InvalidRequest: an unknown person.
            Rejected: the incident refused (closed, not the lead, a rollback running…).
        """
        ref = incident_ref(incident_id)
        people = [action.by] + ([action.person] if isinstance(action, RoleInput) else [])
        if isinstance(action, FollowUpRequest) and action.assignee:
            people.append(action.assignee)
        require_people(self._config.current(), *people)
        return await self._incident_update(ref, lambda: self.incidents.act(ref, verb, action))

    async def change_incident_severity(
        self, incident_id: str, severity: str, by: str
    ) -> IncidentState:
        """Apply another severity's policy (updates, announcements, paging) from now on.

        Raises:
            IncidentNotFound: no such incident.
            InvalidRequest: unknown severity or person.
            Rejected: the incident is closed or already has that severity.
        """
        ref = incident_ref(incident_id)
        config = self._config.current()
        require_severity(config, severity)
        require_people(config, by)
        return await self._incident_update(
            ref, lambda: self.incidents.change_severity(ref, severity, by)
        )

    @staticmethod
    async def _incident_update(
        incident_id: str, call: Callable[[], Awaitable[IncidentState]]
    ) -> IncidentState:
        try:
            return await call()
        except LookupError:
            raise IncidentNotFound(f"no incident {incident_id!r}") from None
        except ValueError as err:
            raise Rejected(str(err)) from None
        except RPCError as err:
            # The incident was running when asked, then closed before taking the update
            # ("workflow update was aborted by closing workflow").
            if err.status == RPCStatusCode.NOT_FOUND:
                raise Rejected(f"{incident_id} is closed") from None
            raise

    def _handle(self, page_id: str) -> WorkflowHandle[PageWorkflow, PageState]:
        try:
            workflow_id = page_workflow_id(page_id)
        except ValueError:
            raise PageNotFound(f"no page {page_id!r}") from None
        return self._client.get_workflow_handle_for(PageWorkflow.run, workflow_id)

    async def _act(self, page_id: str, verb: str, action: PageActionInput) -> PageState:
        handle = self._handle(page_id)
        update = {
            "acknowledge": PageWorkflow.acknowledge,
            "escalate": PageWorkflow.escalate,
            "resolve": PageWorkflow.resolve,
        }[verb]
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise PageNotFound(f"no page {page_id!r}") from None
            raise
        if description.status != WorkflowExecutionStatus.RUNNING:
            closed = (
                "resolved"
                if description.status == WorkflowExecutionStatus.COMPLETED
                else f"closed ({description.status.name.lower() if description.status else 'unknown'})"
            )
            raise Rejected(f"page {page_id} is {closed}: cannot {verb}")
        try:
            return await handle.execute_update(update, action)
        except WorkflowUpdateFailedError as err:
            raise Rejected(refusal(err)) from None
