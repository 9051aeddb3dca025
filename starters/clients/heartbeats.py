"""The typed client of :class:`~workflows.heartbeat.HeartbeatWorkflow`: keep it told of its
config, retire it, ping it, read its state."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from starters.errors import Rejected
from starters.updates import answer
from workflows.heartbeat import HeartbeatWorkflow, heartbeat_workflow_id
from workflows.heartbeat_models import (
    HeartbeatConfig,
    HeartbeatInput,
    HeartbeatPing,
    HeartbeatState,
)

# HeartbeatWorkflow.config_changed by name: a signal-with-start names its signal.
CONFIG_CHANGED = "config_changed"


class HeartbeatWorkflowClient:
    """Every call Tocsin makes to heartbeats' workflows, by heartbeat name.

    Raises (``ping`` and ``get_state``):
        Rejected: the heartbeat's workflow is not running (the worker has not started it).
    """

    def __init__(self, client: Client, task_queue: str = "") -> None:
        self._client = client
        self._task_queue = task_queue

    async def sync(self, name: str, config: HeartbeatConfig) -> None:
        """Signal-with-start: start the heartbeat, or tell the running one (which keeps its
        last ping and open page) of the heartbeat as configured now."""
        await self._client.start_workflow(
            HeartbeatWorkflow.run,
            HeartbeatInput(name=name, config=config),
            id=heartbeat_workflow_id(name),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=CONFIG_CHANGED,
            start_signal_args=[config],
            static_summary=f"Heartbeat {name}",
            static_details=f"Pings {config.spec.shown()} at /webhooks/heartbeat/{name}",
        )

    async def retire(self, name: str) -> None:
        """The heartbeat left the config: its workflow resolves its page and finishes."""
        await self._handle(name).signal(HeartbeatWorkflow.retire)

    async def ping(self, name: str, ping: HeartbeatPing) -> None:
        """The job ran (the workflow takes the time as it receives the signal)."""
        await answer(
            self._handle(name).signal(HeartbeatWorkflow.ping, ping), lambda: _not_running(name)
        )

    async def get_state(self, name: str) -> HeartbeatState:
        """Status, last seen, next due, the page open."""
        return await answer(
            self._handle(name).query(HeartbeatWorkflow.get_state), lambda: _not_running(name)
        )

    def _handle(self, name: str) -> WorkflowHandle[HeartbeatWorkflow, HeartbeatState]:
        return self._client.get_workflow_handle_for(
            HeartbeatWorkflow.run, heartbeat_workflow_id(name)
        )


def _not_running(name: str) -> Rejected:
    return Rejected(f"heartbeat {name} is not running yet: the worker starts it (tocsin worker)")


__all__ = ["CONFIG_CHANGED", "HeartbeatWorkflowClient"]
