"""Incident numbers without gaps or duplicates: one entity workflow hands them out.

Updates to one workflow run one at a time, so ``INC-41`` and ``INC-42`` can never collide,
and the number and the incident's start happen in the same durable step: no number is
allocated without its incident. An idempotency key seen before returns its incident.
"""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows import search
from workflows.ids import incident_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_models import (
    CounterState,
    DeclareAllocation,
    DeclareResult,
    IncidentState,
)
from workflows.incident_views import incident_search_attributes, incident_summary

COUNTER_ID = "tocsin-incident-counter"
KEYS_KEPT = 5000


@workflow.defn
class IncidentCounterWorkflow:
    """Allocates ``INC-<n>`` and starts the incident, atomically."""

    @workflow.init
    def __init__(self, state: CounterState) -> None:
        self._state = state
        # Concurrent declares with one key must not see the number before its incident exists.
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, state: CounterState) -> None:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        keys = dict(list(self._state.keys.items())[-KEYS_KEPT:])
        workflow.continue_as_new(CounterState(next_number=self._state.next_number, keys=keys))

    @workflow.update
    async def declare(self, request: DeclareAllocation) -> DeclareResult:
        """Number the incident and start it (or return the one this key already made)."""
        async with self._lock:
            return await self._declare(request)

    async def _declare(self, request: DeclareAllocation) -> DeclareResult:
        known = self._state.keys.get(request.idempotency_key)
        if known is not None:
            return DeclareResult(id=f"INC-{known}", number=known, created=False)
        number = self._state.next_number
        self._state.next_number += 1
        self._state.keys[request.idempotency_key] = number
        incident = request.incident.model_copy(update={"id": f"INC-{number}", "number": number})
        preview = IncidentState(
            id=incident.id,
            title=incident.title,
            severity=incident.severity.name,
            service=incident.service,
            team=incident.team,
            declared_by=incident.declared_by,
            declared_at=workflow.now(),
        )
        attributes = incident_search_attributes(preview)
        # A replayed start after a crash finds the incident already there: that is fine.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                IncidentWorkflow.run,
                incident,
                id=incident_workflow_id(incident.id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=incident_summary(preview),
                static_details=incident.description,
                search_attributes=attributes,
                memo={"title": incident.title},
            )
        return DeclareResult(id=incident.id, number=number, created=True)


def counter_search_attributes() -> TypedSearchAttributes:
    return TypedSearchAttributes([SearchAttributePair(search.KIND, "incident-counter")])
