"""Keep the long-running workflows the config declares (rotations, heartbeats, uptime
checks) in step with the config file: each kind's sync starts or updates what is
configured and retires what left, at start-up and again whenever the file changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from activities.ports import ConfigSource
from workflows.config import TocsinConfig

log = structlog.get_logger("tocsin.sync")

SYNC_INTERVAL = 15.0

# sync(client, config, task_queue, previous) -> what it synced (compared next time, so
# only what changed is signalled).
Sync = Callable[
    [Client, TocsinConfig, str, Any],
    Awaitable[Mapping[str, Any]],
]


async def keep_in_sync(
    client: Client,
    config: ConfigSource,
    task_queue: str,
    stop: asyncio.Event,
    syncs: Sequence[Sync],
) -> None:
    """Run every sync at start, then again every interval (the config reloads on change);
    one failing sync (Temporal unreachable) is retried without holding up the others."""
    synced: list[Mapping[str, Any] | None] = [None] * len(syncs)
    while not stop.is_set():
        current = config.current()
        for index, sync in enumerate(syncs):
            try:
                synced[index] = await sync(client, current, task_queue, synced[index])
            except RPCError as err:
                log.warning(
                    "sync failed; retrying", what=getattr(sync, "__name__", ""), error=err.message
                )
        try:
            await asyncio.wait_for(stop.wait(), SYNC_INTERVAL)
        except TimeoutError:
            continue


__all__ = ["SYNC_INTERVAL", "Sync", "keep_in_sync"]
