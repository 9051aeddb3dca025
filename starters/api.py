"""The typed client API every front door uses (HTTP, CLI, later Slack): one place that
talks to Temporal as a client, so validation and error mapping are the same everywhere.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.ports import ConfigSource
from starters.intake import AlertIntake
from workflows import schedule, search
from workflows.config import TocsinConfig
from workflows.ids import PAGE_KEY, page_key, page_workflow_id
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
from workflows.page import PageWorkflow, initial_search_attributes, page_summary

LIST_LIMIT = 200


class NewPage(BaseModel):
    """A request to page a team."""

    team: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=500)
    details: str | None = Field(default=None, max_length=20_000)
    dedup_key: str | None = Field(default=None, pattern=PAGE_KEY.pattern)
    by: str | None = Field(default=None, min_length=1, max_length=64)


class TocsinError(Exception):
    """Base of what a front door turns into a 4xx / exit code."""


class InvalidRequest(TocsinError):
    """The request names something Tocsin does not know (team, person)."""


class PageNotFound(TocsinError):
    """No page has that id."""


class Rejected(TocsinError):
    """The page refused the action (a validator said no); the message says why."""


class TocsinClient:
    """Pages (and, later, incidents and rotations) as seen from outside the workers."""

    def __init__(self, client: Client, config: ConfigSource, task_queue: str) -> None:
        self._client = client
        self._config = config
        self._task_queue = task_queue

    @property
    def temporal(self) -> Client:
        return self._client

    @property
    def intake(self) -> AlertIntake:
        """Alert sources' way in (Alertmanager, Events API)."""
        return AlertIntake(self._client, self._config, self._task_queue)

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

    def oncall(self, team: str | None = None, at: datetime | None = None) -> list[OnCallEntry]:
        """Who holds each layer of each team's rotation at ``at`` (default: now)."""
        return oncall_entries(self._config.current(), team, at)

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
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            raise Rejected(message) from None


def oncall_entries(
    config: TocsinConfig, team: str | None = None, at: datetime | None = None
) -> list[OnCallEntry]:
    """Who holds each layer of each team's rotation at ``at`` (default: now).

    Raises:
        InvalidRequest: unknown team, or a naive ``at``.
    """
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        raise InvalidRequest("'at' needs a time zone, e.g. 2026-11-23T10:00:00-06:00")
    if team is not None and team not in config.teams:
        raise InvalidRequest(f"unknown team {team!r} (teams: {', '.join(sorted(config.teams))})")
    entries: list[OnCallEntry] = []
    for team_id, spec in config.teams.items():
        if (team is not None and team_id != team) or spec.rotation is None:
            continue
        rotation = config.rotations[spec.rotation]
        for layer, shift in schedule.oncall(rotation, when).items():
            person = shift.person if shift else None
            entries.append(
                OnCallEntry(
                    team=team_id,
                    rotation=spec.rotation,
                    layer=layer,
                    person=person,
                    name=config.people[person].name if person else None,
                    start=shift.start if shift else None,
                    end=shift.end if shift else schedule.shift_start(rotation, 0),
                )
            )
    return entries
