"""The typed client of :class:`~workflows.rotation.RotationWorkflow`: keep it told of its
config, retire it, overrides and swaps, its state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.workflow import UpdateMethodMultiParam

from starters.errors import Rejected
from starters.updates import answer
from workflows.ids import rotation_workflow_id
from workflows.rotation import RotationWorkflow
from workflows.rotation_models import (
    Override,
    OverrideRequest,
    RemoveRequest,
    RotationConfig,
    RotationInput,
    RotationPlan,
    RotationStatus,
    Swap,
    SwapRequest,
)

# RotationWorkflow.config_changed by name: a signal-with-start names its signal.
CONFIG_CHANGED = "config_changed"

A = TypeVar("A", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


class RotationWorkflowClient:
    """Every call Tocsin makes to rotations' workflows, by rotation name.

    Raises (updates and the state query):
        Rejected: the rotation's workflow is not running yet, or its validator refused
            (an overlapping swap, an override ending in the past…).
    """

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def sync(self, name: str, config: RotationConfig) -> None:
        """Signal-with-start: start the rotation, or tell the running one (which keeps its
        overrides and swaps) of the rotation as configured now."""
        await self._client.start_workflow(
            RotationWorkflow.run,
            RotationInput(name=name, config=config),
            id=rotation_workflow_id(name),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=CONFIG_CHANGED,
            start_signal_args=[config],
            static_summary=f"Rotation {name}",
        )

    async def retire(self, name: str) -> None:
        """The rotation left the config: its workflow finishes (RPCError if it cannot be told)."""
        await self._handle(name).signal(RotationWorkflow.retire)

    async def add_override(self, name: str, request: OverrideRequest) -> Override:
        """Give part of a layer to someone."""
        return await self._update(name, RotationWorkflow.add_override, request)

    async def add_swap(self, name: str, request: SwapRequest) -> Swap:
        """Exchange two future shifts of a layer between two people."""
        return await self._update(name, RotationWorkflow.add_swap, request)

    async def remove(self, name: str, request: RemoveRequest) -> RotationPlan:
        """Remove an override or a swap; the plan without it."""
        return await self._update(name, RotationWorkflow.remove, request)

    async def get_state(self, name: str) -> RotationStatus:
        """The plan, who is on call, the next handoff, gaps and recent changes."""
        return await answer(
            self._handle(name).query(RotationWorkflow.get_state), _not_running(name)
        )

    async def _update(
        self, name: str, update: UpdateMethodMultiParam[[RotationWorkflow, A], R], request: A
    ) -> R:
        return await answer(self._handle(name).execute_update(update, request), _not_running(name))

    def _handle(self, name: str) -> WorkflowHandle[RotationWorkflow, RotationStatus]:
        return self._client.get_workflow_handle_for(
            RotationWorkflow.run, rotation_workflow_id(name)
        )


def _not_running(name: str) -> Callable[[], Rejected]:
    return lambda: Rejected(f"rotation {name} is not running yet: start the worker")
