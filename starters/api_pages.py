"""The page side of the typed client API: requests checked against the config, then sent
to the pages' workflows through :class:`~starters.clients.pages.PageWorkflowClient`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from temporalio.client import Client

from activities.ports import ConfigSource
from starters.checks import NewPage
from starters.clients.pages import PageWorkflowClient
from starters.errors import InvalidRequest
from starters.page_responders import (
    Reassignment,
    Responders,
    Snooze,
    reassign_input,
    responders_input,
)
from starters.page_targets import page_target
from workflows.ids import page_workflow_id
from workflows.models import (
    AlertList,
    AlertQuery,
    PageActionInput,
    PageInput,
    PageListItem,
    PageState,
    PageStatus,
)

LIST_LIMIT = 200


class PageApi:
    """Pages as :class:`~starters.api.TocsinClient` offers them to every front door.

    Raises (every method that names a page):
        PageNotFound: no such page.
        Rejected (every action): the page is closed, or its workflow refused (the reason).
    """

    _client: Client
    _config: ConfigSource
    _task_queue: str

    @property
    def pages(self) -> PageWorkflowClient:
        """The pages' typed workflow client."""
        return PageWorkflowClient(self._client, self._task_queue)

    async def create_page(self, request: NewPage) -> tuple[PageState, bool]:
        """Open a page, or return the open one with the same dedup key.

        Returns:
            The page, and whether this call created it.

        Raises:
            InvalidRequest: the team or person is not configured.
        """
        config = self._config.current()
        target = page_target(config, request.team, request.person, request.urgency)
        key = request.dedup_key or secrets.token_hex(4)
        page = PageInput(
            key=key,
            team=target.team,
            summary=request.summary,
            details=request.details,
            dedup_key=request.dedup_key,
            created_by=request.by,
            created_via=request.via,
            team_members=list(config.teams[target.team].members),
            urgency=request.urgency,
            policy=target.policy,
            steps=target.steps,
        )
        if not await self.pages.open(page):
            return await self.get_page(key), False
        state = PageState(
            id=key,
            workflow_id=page_workflow_id(key),
            team=target.team,
            urgency=request.urgency,
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
        if team is not None and team not in self._config.current().teams:
            raise InvalidRequest(f"unknown team {team!r}")
        return await self.pages.list_pages(status, team, limit)

    async def get_page(self, page_id: str) -> PageState:
        """The page's live state, timeline included."""
        return await self.pages.get_state(page_id)

    async def get_alerts(self, page_id: str, offset: int = 0, limit: int = 500) -> AlertList:
        """A slice of the page's alerts (``get_page`` shows at most 100)."""
        return await self.pages.get_alerts(page_id, AlertQuery(offset=offset, limit=limit))

    async def acknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        """Acknowledge: stops the escalation."""
        return await self.pages.acknowledge(page_id, action)

    async def escalate(self, page_id: str, action: PageActionInput) -> PageState:
        """Notify the next escalation step now."""
        return await self.pages.escalate(page_id, action)

    async def resolve(self, page_id: str, action: PageActionInput) -> PageState:
        """Close the page."""
        return await self.pages.resolve(page_id, action)

    async def unacknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        """Give an acknowledged page back: triggered again, escalating from step 1."""
        return await self.pages.unacknowledge(page_id, action)

    async def snooze(self, page_id: str, request: Snooze) -> PageState:
        """Quiet an acknowledged page: it triggers again, from step 1, after the snooze."""
        return await self.pages.snooze(page_id, request.request())

    async def reassign(self, page_id: str, request: Reassignment) -> PageState:
        """Give the page to another team (its policy from step 1) or to one person.

        Raises:
            InvalidRequest: the team or person is not configured (Temporal is not asked).
        """
        update = reassign_input(self._config.current(), request)
        return await self.pages.reassign(page_id, update)

    async def add_responders(self, page_id: str, request: Responders) -> PageState:
        """Notify more people now; they may act on the page.

        Raises:
            InvalidRequest: a target is malformed or names nobody configured (Temporal is
                not asked).
        """
        update = responders_input(self._config.current(), request)
        return await self.pages.add_responders(page_id, update)
