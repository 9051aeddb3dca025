"""The typed client of :class:`~workflows.uptime_check.CheckWorkflow`: keep it told of its
config, retire it, its state."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from starters.errors import Rejected
from starters.updates import answer
from workflows import search
from workflows.check_models import Check, CheckInput, CheckState
from workflows.uptime_check import CheckWorkflow

# CheckWorkflow.config_changed by name: a signal-with-start names its signal.
CONFIG_CHANGED = "config_changed"


def check_workflow_id(name: str) -> str:
    """``check-api``: one per configured check."""
    return f"check-{name}"


def _attributes(check: Check) -> TypedSearchAttributes:
    """What the Web UI filters a check by from its start (its status is upserted later)."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(search.KIND, "check"),
        SearchAttributePair(search.STATUS, "unknown"),
    ]
    if check.service:
        pairs.append(SearchAttributePair(search.SERVICE, check.service))
    if check.team:
        pairs.append(SearchAttributePair(search.TEAM, check.team))
    return TypedSearchAttributes(pairs)


class CheckWorkflowClient:
    """Every call Tocsin makes to uptime checks' workflows, by check name."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def sync(self, name: str, check: Check) -> None:
        """Signal-with-start: start the check, or tell the running one (which keeps its
        failure count and open pages) of the check as configured now."""
        await self._client.start_workflow(
            CheckWorkflow.run,
            CheckInput(name=name, spec=check),
            id=check_workflow_id(name),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=CONFIG_CHANGED,
            start_signal_args=[check],
            search_attributes=_attributes(check),
            static_summary=f"Uptime check {name}",
        )

    async def retire(self, name: str) -> None:
        """The check left the config: its pages resolve and its workflow finishes
        (RPCError if it cannot be told)."""
        await self._handle(name).signal(CheckWorkflow.retire)

    async def get_state(self, name: str) -> CheckState:
        """Status, consecutive failures, the last responses and the pages open.

        Raises:
            Rejected: the check's workflow is not running.
        """
        return await answer(
            self._handle(name).query(CheckWorkflow.get_state),
            lambda: Rejected(f"check {name} is not running: start the worker"),
        )

    def _handle(self, name: str) -> WorkflowHandle[CheckWorkflow, CheckState]:
        return self._client.get_workflow_handle_for(CheckWorkflow.run, check_workflow_id(name))


__all__ = ["CONFIG_CHANGED", "CheckWorkflowClient", "check_workflow_id"]
