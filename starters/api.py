"""The typed client API every front door uses (HTTP, CLI, Slack): one place that talks to
Temporal as a client, so validation and error mapping are the same everywhere.

:class:`TocsinClient` puts pages (:mod:`starters.api_pages`), incidents
(:mod:`starters.api_incidents`) and rotations together; each checks requests against the
config, then calls the workflow through its typed client (:mod:`starters.clients`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from temporalio.client import Client

from activities.ports import ConfigSource
from starters.api_incidents import IncidentApi
from starters.api_pages import PageApi
from starters.checks import lookup_message, require_people
from starters.errors import InvalidRequest, Rejected, TocsinError
from starters.intake import AlertIntake
from starters.rotations import BadInput, RotationClient
from workflows.actors import Acted
from workflows.incident_models import DeclareRequest, IncidentState
from workflows.models import OnCallEntry

T = TypeVar("T")


class TocsinClient(PageApi, IncidentApi):
    """Pages, incidents and rotations as seen from outside the workers."""

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
    def rotations(self) -> RotationClient:
        """The rotation client itself (it raises ``LookupError``/``BadInput``/``Rejected``)."""
        return RotationClient(self._client, self._config, self._task_queue)

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
        except TocsinError:
            raise
        except (LookupError, BadInput) as err:
            raise InvalidRequest(
                lookup_message(err) if isinstance(err, LookupError) else str(err)
            ) from None
        except ValueError as err:
            raise Rejected(str(err)) from None

    async def promote_page(
        self, page_id: str, actor: Acted, severity: str | None = None, title: str | None = None
    ) -> tuple[IncidentState, bool]:
        """Declare an incident from a page: its summary, details and service carry over.

        The page id is the idempotency key, so promoting a page twice returns one incident.

        Raises:
            PageNotFound: no such page.
            InvalidRequest: unknown person or severity.
        """
        require_people(self._config.current(), actor.by)
        page = await self.get_page(page_id)
        summary = title or page.summary
        request = DeclareRequest(
            title=summary if len(summary) <= 200 else summary[:199] + "…",
            description=page.details,
            severity=severity,
            service=page.service if page.service in self._config.current().services else None,
            by=actor.by,
            via=actor.via,
            admin=actor.admin,
            from_page=page.id,
        )
        return await self.declare_incident(request, f"page:{page.id}")
