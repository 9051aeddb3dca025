"""Running the worker until asked to stop (used by ``tocsin worker`` and ``tocsin dev``)."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client

from worker.build import build_worker
from worker.checks import sync_checks
from worker.config import ConfigFile
from worker.heartbeats import sync_heartbeats
from worker.liveness import keep_alive
from worker.metrics_server import serve_metrics
from worker.rotations import sync_rotations
from worker.sdk_metrics import keep_draining
from worker.search_attributes import ensure_search_attributes
from worker.settings import Settings
from worker.sync import Sync, keep_in_sync

log = structlog.get_logger("tocsin.worker")

# Every kind of workflow the config declares, kept in step with it.
SYNCS: tuple[Sync, ...] = (sync_rotations, sync_checks, sync_heartbeats)


async def run_worker(
    client: Client, settings: Settings, config: ConfigFile, stop: asyncio.Event
) -> None:
    """Serve every Tocsin workflow and activity until ``stop`` is set, then shut down cleanly."""
    added = await ensure_search_attributes(client, settings.temporal_namespace)
    if added:
        log.info("registered search attributes", added=added)
    worker = build_worker(client, settings, config)
    log.info("worker started", task_queue=settings.task_queue, config=str(config.path))
    async with worker:
        rotations = asyncio.create_task(
            keep_in_sync(client, config, settings.task_queue, stop, SYNCS)
        )
        liveness = asyncio.create_task(keep_alive(worker, settings, stop))
        metrics = asyncio.create_task(serve_metrics(settings, stop))
        draining = asyncio.create_task(keep_draining(stop))
        await stop.wait()
        log.info("worker stopping")
        await rotations
        await liveness
        await asyncio.gather(metrics, draining)
