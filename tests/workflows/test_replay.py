"""Determinism: stored page histories replay against today's workflow code.

A change that alters the commands a running page would issue (an inserted activity, a
reordered timer) fails here with a non-determinism error; such changes go behind
``workflow.patched()``. To record a new reference history after a deliberate,
patched change, run this module with ``TOCSIN_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.errors import Unavailable
from tests.conftest import binary
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.store import MemoryStore
from tests.workflows.test_incident import CONFIG as INCIDENT_CONFIG
from tests.workflows.test_incident import open_desk
from tests.workflows.test_page import CONFIG
from worker.build import WORKFLOWS, build_worker, workflow_runner
from worker.config import ConfigFile
from worker.search_attributes import ensure_search_attributes
from worker.settings import Settings
from workflows.incident import incident_workflow_id
from workflows.incident_models import (
    CommsConfirmation,
    FollowUpRequest,
    IncidentStatus,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    UpdateInput,
)
from workflows.models import PageActionInput, PageInput
from workflows.page import PageWorkflow

HISTORIES = Path(__file__).parent / "histories"


def replayer() -> Replayer:
    return Replayer(
        workflows=list(WORKFLOWS),
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


async def record_page_history(env: WorkflowEnvironment, config: Path, team: str) -> WorkflowHistory:
    """Escalate a page two steps (one contact failing), escalate-now, ack, resolve."""
    notifier = RecordingNotifier()
    notifier.failures["json://127.0.0.1:9/broken"] = Unavailable("connection refused")
    task_queue = f"replay-{uuid.uuid4()}"
    key = f"replay-{team}"
    async with build_worker(
        env.client,
        Settings(),
        ConfigFile(config),
        store=MemoryStore(),
        notifiers={"console": notifier, "apprise": notifier},
        task_queue=task_queue,
    ):
        handle = await env.client.start_workflow(
            PageWorkflow.run,
            PageInput(key=key, team=team, summary="DiskFull on gitserver-0", team_members=["bob"]),
            id=f"page-{key}-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
        )
        await env.sleep(timedelta(minutes=11))
        await handle.execute_update(PageWorkflow.escalate, PageActionInput(by="bob"))
        await env.sleep(timedelta(seconds=5))
        await handle.execute_update(PageWorkflow.acknowledge, PageActionInput(by="bob"))
        await handle.execute_update(PageWorkflow.resolve, PageActionInput(by="bob", note="fixed"))
        await handle.result()
        return await handle.fetch_history()


class TestReplay:
    async def test_fresh_history_replays(
        self, time_skipping_env: WorkflowEnvironment, tmp_path: Path
    ) -> None:
        """A page that escalated, fell back, was acked and resolved replays without divergence."""
        config = tmp_path / "tocsin.yaml"
        config.write_text(CONFIG)
        for team in ("delivery", "fallback"):
            history = await record_page_history(time_skipping_env, config, team)
            await replayer().replay_workflow(history)
            if os.environ.get("TOCSIN_RECORD_HISTORIES"):
                HISTORIES.mkdir(exist_ok=True)
                (HISTORIES / f"page-{team}.json").write_text(history.to_json())

    @pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
    async def test_stored_history_replays(self, path: Path) -> None:
        """Histories recorded by earlier versions still replay on the current code."""
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        await replayer().replay_workflow(history)

    def test_reference_histories_exist(self) -> None:
        """The reference histories are committed (so the parametrized replay is not empty)."""
        assert {p.stem for p in HISTORIES.glob("*.json")} >= {
            "page-delivery",
            "page-fallback",
            "incident-rolled-back",
        }


async def record_incident_history(tmp_path: Path) -> WorkflowHistory:
    """An incident through lead, rollback, outcome, update and resolve, on its own server."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=binary("temporal-test-server"),
    )
    try:
        await ensure_search_attributes(env.client, env.client.namespace)
        async for desk in open_desk(env, tmp_path, INCIDENT_CONFIG):
            state = await desk.declare(service="search", customer_impact=True)
            await env.sleep(timedelta(minutes=6))
            await desk.incidents.act(state.id, "lead", RoleInput(person="alice", by="alice"))
            await desk.incidents.act(
                state.id, "rollback", RollbackDecision(choice="roll_back", by="alice")
            )
            await desk.settled(state.id, lambda s: s.rollback.result is not None)
            await desk.incidents.act(
                state.id, "rollback_outcome", RollbackOutcome(resolved=True, by="alice")
            )
            await desk.incidents.act(state.id, "update", UpdateInput(text="recovered", by="alice"))
            await desk.incidents.act(
                state.id, "followup", FollowUpRequest(title="Pin v41", assignee="alice", by="alice")
            )
            await env.sleep(timedelta(minutes=16))
            await desk.incidents.act(
                state.id,
                "resolve",
                ResolveInput(resolution="rolled_back", summary="v41", by="alice"),
            )
            await desk.incidents.act(state.id, "comms", CommsConfirmation(by="alice"))
            # The follow-up and the postmortem close on GitHub without a webhook: the
            # periodic check finds both and the incident closes.
            state = await desk.settled(
                state.id,
                lambda s: s.postmortem_issue is not None and s.followups[0].state == "open",
            )
            for issue in desk.tracker.issues.values():
                desk.tracker.set_state(issue.ref.repo, issue.ref.number, "closed")
            await env.sleep(timedelta(hours=6, minutes=5))
            final = await desk.settled(state.id, lambda s: s.status == IncidentStatus.closed)
            assert final.postmortem_done
            handle = env.client.get_workflow_handle(incident_workflow_id(state.id))
            await handle.result()
            return await handle.fetch_history()
        raise AssertionError("open_desk yielded nothing")
    finally:
        await env.shutdown()


class TestIncidentReplay:
    async def test_fresh_incident_history_replays(self, tmp_path: Path) -> None:
        """An incident that paged for roles, rolled back, reminded and resolved replays cleanly."""
        history = await record_incident_history(tmp_path)
        await replayer().replay_workflow(history)
        if os.environ.get("TOCSIN_RECORD_HISTORIES"):
            (HISTORIES / "incident-rolled-back.json").write_text(history.to_json())
