"""The Temporal client, always with the pydantic data converter (built in one place)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from worker.sdk_metrics import metrics_runtime
from worker.settings import Settings
from worker.tracing import tracing_interceptors


async def connect(settings: Settings, *, metrics: bool = False) -> Client:
    """Connect to the Temporal frontend named by the settings.

    ``metrics``: the client (and workers built from it) report the SDK's metrics into
    this process's ``/metrics`` (:mod:`worker.sdk_metrics`): for the long-running
    ``tocsin worker``, ``api`` and ``dev``, not for one-off commands.

    With traces on (:mod:`worker.tracing`) the client carries the tracing interceptor;
    workers built from it take it from the client (the SDK prepends a client's worker
    interceptors), so ``build_worker`` passes none.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=tracing_interceptors(),
        runtime=metrics_runtime()[0] if metrics else None,
    )
