"""A page worker on a fresh task queue of the time-skipping server, for workflow tests
of pages (every contact method goes to one recording notifier)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings
from workflows.models import PageState
from workflows.page import PageWorkflow


@asynccontextmanager
async def page_worker(
    env: WorkflowEnvironment, config: Path, notifier: RecordingNotifier
) -> AsyncIterator[str]:
    """Serve pages with ``config`` until exit; yields the task queue."""
    task_queue = f"tq-{uuid.uuid4()}"
    worker = build_worker(
        env.client,
        Settings(),
        ConfigFile(config),
        store=MemoryStore(),
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    )
    async with worker:
        yield task_queue


async def terminate_open(handles: Sequence[WorkflowHandle[PageWorkflow, PageState]]) -> None:
    """End the pages a test left open, so they cannot hold up the shared test server."""
    for handle in handles:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test finished")
