"""Heartbeats as the front doors see them (HTTP, CLI): ping one by name, list them all.

The config says which heartbeats exist (an unknown name is :class:`UnknownHeartbeat`);
their workflows say when each was last seen and whether it is overdue.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel

from activities.ports import ConfigSource
from starters.errors import Rejected
from workflows.durations import Duration
from workflows.heartbeat_models import Heartbeat, HeartbeatPing, HeartbeatState


class HeartbeatWorkflows(Protocol):
    """What :class:`Heartbeats` asks of the workflows
    (:class:`~starters.clients.heartbeats.HeartbeatWorkflowClient`)."""

    async def ping(self, name: str, ping: HeartbeatPing) -> None: ...

    async def get_state(self, name: str) -> HeartbeatState: ...


class UnknownHeartbeat(LookupError):
    """No heartbeat of that name in the config."""


class HeartbeatPinged(BaseModel):
    """The answer to a ping: when the next one is due, and when a missing one pages."""

    name: str
    received_at: datetime
    interval: Duration
    next_due: datetime
    overdue_at: datetime


class Heartbeats:
    """Ping heartbeats and read their state, checked against the config of the moment."""

    def __init__(self, workflows: HeartbeatWorkflows, config: ConfigSource) -> None:
        self._workflows = workflows
        self._config = config

    def spec(self, name: str) -> Heartbeat:
        """The configured heartbeat.

        Raises:
            UnknownHeartbeat: no heartbeat of that name in the config (the message lists
                those there are).
        """
        heartbeats = self._config.current().heartbeats
        found = heartbeats.get(name)
        if found is None:
            known = ", ".join(sorted(heartbeats)) or "none are configured"
            raise UnknownHeartbeat(f"no heartbeat {name!r} in the config (heartbeats: {known})")
        return found

    async def ping(self, name: str, by: str | None) -> HeartbeatPinged:
        """The job ran: tell its workflow, and say when the next ping is due.

        Raises:
            UnknownHeartbeat: no such heartbeat.
            Rejected: its workflow is not running (the worker has not started it yet).
        """
        spec = self.spec(name)
        received = datetime.now(UTC)
        await self._workflows.ping(name, HeartbeatPing(by=by))
        return HeartbeatPinged(
            name=name,
            received_at=received,
            interval=spec.interval,
            next_due=received + spec.interval,
            overdue_at=received + spec.late_after,
        )

    async def states(self) -> list[HeartbeatState]:
        """Every configured heartbeat, by name; one whose workflow is not running (yet) is
        ``unknown``."""
        heartbeats = self._config.current().heartbeats
        names = sorted(heartbeats)
        found = await asyncio.gather(*(self._state(n, heartbeats[n]) for n in names))
        return list(found)

    async def _state(self, name: str, spec: Heartbeat) -> HeartbeatState:
        try:
            return await self._workflows.get_state(name)
        except Rejected:
            return HeartbeatState(
                name=name,
                status="unknown",
                description=spec.description,
                service=spec.service,
                team=spec.team,
                interval=spec.interval,
                grace=spec.grace,
            )


__all__ = ["HeartbeatPinged", "HeartbeatWorkflows", "Heartbeats", "UnknownHeartbeat"]
