"""The typed client of :class:`~workflows.page.PageWorkflow`: open, deliver alerts, act, ask."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import UpdateMethodMultiParam

from starters.errors import PageNotFound, Rejected
from starters.updates import answer, require_running
from workflows import search
from workflows.actors import Acted
from workflows.archive_models import TimelineEntries, TimelineSlice
from workflows.ids import page_key, page_workflow_id
from workflows.models import (
    AlertBatch,
    AlertList,
    AlertQuery,
    PageActionInput,
    PageInput,
    PageListItem,
    PageState,
    PageStatus,
)
from workflows.page import PageWorkflow
from workflows.page_actions import ReassignInput, RespondersInput, SnoozeInput
from workflows.page_views import initial_search_attributes, page_summary
from workflows.priorities import PAGE

# PageWorkflow.receive_alerts by name: a signal-with-start names its signal.
RECEIVE_ALERTS = "receive_alerts"

# What a closed page "cannot" do, as its refusal says.
PageVerb = Literal[
    "acknowledge",
    "escalate",
    "resolve",
    "un-acknowledge",
    "snooze",
    "reassign",
    "add responders to",
]
A = TypeVar("A", bound=Acted)


class PageWorkflowClient:
    """Every call Tocsin makes to pages' workflows, by page id (the page's key).

    Raises (every method that names a page):
        PageNotFound: no page has that id.
    """

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def open(self, page: PageInput) -> bool:
        """Start the page (a person paging a team) unless one with its key is open.

        Returns:
            Whether this call started it.
        """
        try:
            await self._client.start_workflow(
                PageWorkflow.run,
                page,
                id=page_workflow_id(page.key),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=initial_search_attributes(page.team),
                static_summary=page_summary(page.team, page.summary),
                static_details=page.details,
                memo={"summary": page.summary, "team": page.team},
                priority=PAGE,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    async def deliver(self, page: PageInput, batch: AlertBatch) -> None:
        """Signal-with-start: the first delivery of a group starts its page, every later one
        (a new alert, a resend, a retry racing the original) lands on that same page."""
        await self._client.start_workflow(
            PageWorkflow.run,
            page,
            id=page_workflow_id(page.key),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            start_signal=RECEIVE_ALERTS,
            start_signal_args=[batch],
            search_attributes=initial_search_attributes(page.team, page.service, page.severity),
            static_summary=page_summary(page.team, page.summary),
            memo={"summary": page.summary, "team": page.team},
            priority=PAGE,
        )

    async def receive_alerts(self, page_id: str, batch: AlertBatch) -> None:
        """Alerts (or their resolution, or an acknowledgement) for a page that is open."""
        handle = self._handle(page_id)
        await answer(handle.signal(PageWorkflow.receive_alerts, batch), _missing(page_id))

    async def acknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        """Acknowledge: stops the escalation.

        Raises:
            Rejected: the page is closed, or refused (already acknowledged…).
        """
        return await self._update(page_id, "acknowledge", PageWorkflow.acknowledge, action)

    async def escalate(self, page_id: str, action: PageActionInput) -> PageState:
        """Notify the next escalation step now (raises like :meth:`acknowledge`)."""
        return await self._update(page_id, "escalate", PageWorkflow.escalate, action)

    async def resolve(self, page_id: str, action: PageActionInput) -> PageState:
        """Close the page (raises like :meth:`acknowledge`)."""
        return await self._update(page_id, "resolve", PageWorkflow.resolve, action)

    async def unacknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        """Give an acknowledged page back: triggered, escalating from step 1 (raises like
        :meth:`acknowledge`)."""
        return await self._update(page_id, "un-acknowledge", PageWorkflow.unacknowledge, action)

    async def snooze(self, page_id: str, request: SnoozeInput) -> PageState:
        """Quiet an acknowledged page until it triggers again (raises like :meth:`acknowledge`)."""
        return await self._update(page_id, "snooze", PageWorkflow.snooze, request)

    async def reassign(self, page_id: str, request: ReassignInput) -> PageState:
        """Give the page to another team or one person (raises like :meth:`acknowledge`)."""
        return await self._update(page_id, "reassign", PageWorkflow.reassign, request)

    async def add_responders(self, page_id: str, request: RespondersInput) -> PageState:
        """Notify more people now, who may then act (raises like :meth:`acknowledge`)."""
        update = PageWorkflow.add_responders
        return await self._update(page_id, "add responders to", update, request)

    async def get_state(self, page_id: str) -> PageState:
        """The page's live state, timeline included (at most 100 alerts)."""
        return await answer(self._handle(page_id).query(PageWorkflow.get_state), _missing(page_id))

    async def get_alerts(self, page_id: str, query: AlertQuery) -> AlertList:
        """A slice of the page's alerts."""
        handle = self._handle(page_id)
        return await answer(handle.query(PageWorkflow.get_alerts, query), _missing(page_id))

    async def get_timeline(self, page_id: str, offset: int, limit: int) -> TimelineEntries:
        """The entries ``[offset, offset + limit)`` of the page's timeline that it holds (a
        page that continued as new holds its newest; the ``archived`` before are stored)."""
        handle = self._handle(page_id)
        query = TimelineSlice(subject=handle.id, offset=offset, limit=limit)
        return await answer(handle.query(PageWorkflow.get_timeline, query), _missing(page_id))

    async def describe(self, page_id: str) -> WorkflowExecutionDescription:
        """What Temporal knows of the page's run: status, start time, history length."""
        return await answer(self._handle(page_id).describe(), _missing(page_id))

    async def list_pages(
        self, status: PageStatus | None, team: str | None, limit: int
    ) -> list[PageListItem]:
        """Pages newest first, from visibility (which lags about a second)."""
        clauses = [f'{search.KIND.name} = "page"']
        if status is not None:
            clauses.append(f'{search.STATUS.name} = "{status.value}"')
        if team is not None:
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

    async def _update(
        self,
        page_id: str,
        verb: PageVerb,
        update: UpdateMethodMultiParam[[PageWorkflow, A], PageState],
        request: A,
    ) -> PageState:
        handle = self._handle(page_id)
        await require_running(
            handle,
            _missing(page_id),
            lambda status: Rejected(f"page {page_id} is {_closed(status)}: cannot {verb}"),
        )
        return await answer(handle.execute_update(update, request))

    def _handle(self, page_id: str) -> WorkflowHandle[PageWorkflow, PageState]:
        try:
            workflow_id = page_workflow_id(page_id)
        except ValueError:
            raise PageNotFound(f"no page {page_id!r}") from None
        return self._client.get_workflow_handle_for(PageWorkflow.run, workflow_id)


def _missing(page_id: str) -> Callable[[], PageNotFound]:
    return lambda: PageNotFound(f"no page {page_id!r}")


def _closed(status: WorkflowExecutionStatus | None) -> str:
    if status == WorkflowExecutionStatus.COMPLETED:
        return "resolved"
    return f"closed ({status.name.lower() if status else 'unknown'})"
