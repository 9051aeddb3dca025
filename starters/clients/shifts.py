"""The typed client of :class:`~workflows.shift.ShiftWorkflow`: handoff notes."""

from __future__ import annotations

from temporalio.client import Client

from starters.updates import answer
from workflows.rotation_models import NoteRequest, ShiftState
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
