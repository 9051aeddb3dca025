"""An incident open for weeks: continue-as-new keeps its history bounded and loses nothing.

On the dev server (the time-skipping server does not report history length).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflows.test_incident import CONFIG, Desk, open_desk
from workflows.ids import incident_workflow_id
from workflows.incident_models import RoleInput, UpdateInput

pytestmark = pytest.mark.e2e


@pytest.fixture
async def long_desk(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    """Incidents that continue as new past 60 history events."""
    async for opened in open_desk(dev_env, tmp_path, CONFIG + "  history_limit: 60\n"):
        yield opened


class TestContinueAsNew:
    async def test_state_and_deadlines_survive(self, long_desk: Desk) -> None:
        """Across runs the lead, every update, the timeline and the reminder deadline carry over."""
        desk = long_desk
        state = await desk.declare(title=f"Slow search {uuid.uuid4().hex[:4]}")
        handle = desk.env.client.get_workflow_handle(incident_workflow_id(state.id))
        first = await handle.describe()
        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        for i in range(30):
            await desk.incidents.post_update(state.id, UpdateInput(text=f"update {i}", by="alice"))
        runs = {first.run_id}
        for _ in range(100):
            now = await handle.describe()
            runs.add(now.run_id)
            if len(runs) > 1:
                break
            await asyncio.sleep(0.1)
        assert len(runs) > 1, "the incident continued as new"
        history = now.raw_description.workflow_execution_info.history_length
        assert history < 200, f"the current run's history stays bounded ({history} events)"
        state = await desk.incidents.get(state.id)
        assert state.lead == "alice"
        assert [u.text for u in state.updates] == [f"update {i}" for i in range(30)]
        assert state.timeline[0].kind == "declared"
        assert state.update_due is not None
        assert state.update_due > state.updates[-1].at
