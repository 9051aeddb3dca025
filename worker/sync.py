"""Keep the long-running workflows the config declares (rotations, heartbeats, uptime
checks) in step with the config file: each kind's sync starts or updates what is
configured and retires what left, at start-up and again whenever the file changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from activities.ports import ConfigSource
from workflows.config import TocsinConfig

log = structlog.get_logger("tocsin.sync")

SYNC_INTERVAL = 15.0

T = TypeVar("T")

# sync(client, config, task_queue, previous) -> what it synced (compared next time, so
# only what changed is signalled).
Sync = Callable[
    [Client, TocsinConfig, str, Any],
    Awaitable[Mapping[str, Any]],
]


async def reconcile(
    kind: str,
    wanted: Mapping[str, T],
    previous: Mapping[str, T] | None,
    sync: Callable[[str, T], Awaitable[None]],
    retire: Callable[[str], Awaitable[None]],
    describe: Callable[[T], Mapping[str, object]] = lambda _: {},
) -> dict[str, T]:
    """Start or update (``sync``, a signal-with-start) each of ``wanted`` whose config
    differs from ``previous``; ``retire`` each of ``previous`` no longer wanted. Returns
    what was synced, to compare with next time; ``describe`` adds to the log line."""
    for name, value in wanted.items():
        if previous is not None and previous.get(name) == value:
            continue
        await sync(name, value)
        log.info(f"{kind} synced", name=name, **describe(value))
    for name in set(previous or {}) - set(wanted):
        try:
            await retire(name)
            log.info(f"{kind} retired", name=name)
        except RPCError as err:
            log.warning(f"{kind} retire failed", name=name, error=err.message)
    return dict(wanted)


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


__all__ = ["SYNC_INTERVAL", "Sync", "keep_in_sync", "reconcile"]
