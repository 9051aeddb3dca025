"""The typed client of :class:`~workflows.shift.ShiftWorkflow`: handoff notes."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from starters.updates import answer
from workflows.rotation_models import NoteRequest, ShiftReport, ShiftState
from workflows.shift import ShiftWorkflow


class ShiftWorkflowClient:
    """Calls to a shift's workflow, by its workflow id (``RotationStatus.current_shift``).

    Shifts are started by their rotation (an activity), never by a client.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    async def add_note(self, shift_id: str, note: NoteRequest) -> ShiftState:
        """A handoff note for the next shift.

        Raises:
            Rejected: the shift refused the note (its validator's sentence).
        """
        handle = self._client.get_workflow_handle_for(ShiftWorkflow.run, shift_id)
        return await answer(handle.execute_update(ShiftWorkflow.add_note, note))

    async def outcome(
        self, shift_id: str, rpc_timeout: timedelta
    ) -> tuple[WorkflowExecutionStatus | None, ShiftReport | None] | None:
        """How a shift's workflow stands, and its on-call report once it has completed
        (read from its history: no worker needed); None when Temporal has no such
        workflow (never started, or past retention)."""
        handle = self._client.get_workflow_handle_for(ShiftWorkflow.run, shift_id)
        try:
            described = await handle.describe(rpc_timeout=rpc_timeout)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        if described.status == WorkflowExecutionStatus.COMPLETED:
            return described.status, await handle.result(rpc_timeout=rpc_timeout)
        return described.status, None
