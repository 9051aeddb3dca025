"""Tocsin's sandbox runner gives every payload the serialization context the SDK's does.

A codec that records the context it encodes each payload with runs one workflow (an
activity and a result) under the SDK's own sandboxed runner and under
:class:`worker.sandbox.ContextReadingRunner`: the recorded contexts must be the same, the
activity's input encoded for the activity and the result for the workflow.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker.sandbox import ContextReadingRunner

SEEN: list[tuple[str, SerializationContext | None]] = []


class RecordingCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    def with_context(self, context: SerializationContext) -> RecordingCodec:
        return RecordingCodec(context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        SEEN.extend((p.data.decode(), self.context) for p in payloads)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn
class Shouting:
    @workflow.run
    async def run(self, text: str) -> str:
        loud = await workflow.execute_activity(
            shout, f"{text}-input", start_to_close_timeout=timedelta(seconds=10)
        )
        return f"{loud}-result"


async def _contexts(env: WorkflowEnvironment, runner: Any) -> list[tuple[str, str, Any]]:
    SEEN.clear()
    converter = dataclasses.replace(DataConverter.default, payload_codec=RecordingCodec())
    client = Client(**{**env.client.config(), "data_converter": converter})
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=[Shouting], activities=[shout], workflow_runner=runner
    ):
        result = await client.execute_workflow(
            Shouting.run, "hi", id=f"shout-{queue}", task_queue=queue
        )
    assert result == "HI-INPUT-result"
    # Ids differ per run: compare what a context says, not which workflow it names.
    return [
        (data, type(ctx).__name__, getattr(ctx, "activity_type", None))
        for data, ctx in SEEN
        if isinstance(ctx, (ActivitySerializationContext, WorkflowSerializationContext))
        and "-" in data
    ]


async def test_contexts_match_the_sdks(time_skipping_env: WorkflowEnvironment) -> None:
    ours = await _contexts(time_skipping_env, ContextReadingRunner())
    theirs = await _contexts(time_skipping_env, SandboxedWorkflowRunner())
    assert ours == theirs
    assert ('"hi-input"', "ActivitySerializationContext", "shout") in ours
    assert ('"HI-INPUT-result"', "WorkflowSerializationContext", None) in ours
