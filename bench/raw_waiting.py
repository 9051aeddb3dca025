"""The raw Temporal workflow ``bench/waiting_pages.py`` measures waiting pages against.

One workflow per item, a page's wait with nothing of Tocsin in it: wait for an
acknowledgement (an update) with a durable timer as the ack timeout; answer a query with
its state. Plain SDK, pydantic models through the pydantic data converter.

A module of its own, kept small: the workflow sandbox re-imports a workflow's module for
every run it starts, so the baseline must not carry the bench script along. Run as a script,
it is the baseline's worker process (plain ``Worker``, nothing of Tocsin or the bench
imported), serving until SIGINT or SIGTERM::

    python bench/raw_waiting.py ADDRESS TASK_QUEUE CACHE WORKFLOW_SLOTS ACTIVITY_SLOTS
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker


class WaitInput(BaseModel):
    """One item: its key, and how long it waits for an acknowledgement."""

    key: str
    ack_timeout_seconds: float


class Ack(BaseModel):
    """Who acknowledges."""

    by: str


class WaitState(BaseModel):
    """What the query and the update answer."""

    key: str
    status: str
    acknowledged_by: str | None = None


@workflow.defn(name="BenchRawWaiting")
class RawWaitingWorkflow:
    """Wait for ``acknowledge`` until the ack timeout; done either way."""

    @workflow.init
    def __init__(self, item: WaitInput) -> None:
        self._state = WaitState(key=item.key, status="triggered")

    @workflow.run
    async def run(self, item: WaitInput) -> WaitState:
        timeout = timedelta(seconds=item.ack_timeout_seconds)
        with contextlib.suppress(TimeoutError):  # nobody acknowledged in time
            await workflow.wait_condition(
                lambda: self._state.acknowledged_by is not None, timeout=timeout
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.update
    def acknowledge(self, ack: Ack) -> WaitState:
        """Take the item: the wait ends."""
        self._state = self._state.model_copy(
            update={"status": "acknowledged", "acknowledged_by": ack.by}
        )
        return self._state

    @acknowledge.validator
    def _validate_acknowledge(self, ack: Ack) -> None:
        if self._state.acknowledged_by is not None:
            raise ValueError(f"already acknowledged by {self._state.acknowledged_by}")

    @workflow.query
    def get_state(self) -> WaitState:
        """The item's state."""
        return self._state


# Said on stderr once the worker polls (the bench waits for it).
READY = "raw worker ready"


async def serve(
    address: str, task_queue: str, cache: int, workflow_slots: int, activity_slots: int
) -> None:
    """Serve ``RawWaitingWorkflow`` on ``task_queue`` until SIGINT or SIGTERM."""
    # The workflow of this module by its name: the sandbox cannot re-import ``__main__``.
    from raw_waiting import RawWaitingWorkflow as Served  # noqa: PLC0415

    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Served],
        max_cached_workflows=cache,
        max_concurrent_workflow_tasks=workflow_slots,
        max_concurrent_activities=activity_slots,
    ):
        print(READY, file=sys.stderr, flush=True)
        await stop.wait()


if __name__ == "__main__":
    address, queue, *numbers = sys.argv[1:]
    cache, workflow_slots, activity_slots = (int(n) for n in numbers)
    asyncio.run(serve(address, queue, cache, workflow_slots, activity_slots))
