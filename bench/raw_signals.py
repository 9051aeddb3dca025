"""The raw Temporal ceiling ``bench/alert_storm.py`` measures Tocsin's alert intake against.

One no-op workflow per Alertmanager group that only counts the deliveries (signals) and
alerts it is sent, started by signal-with-start: the shape of a page taking alerts, with
nothing of Tocsin in it. Plain SDK, the default JSON data converter.

A module of its own, kept small: the workflow sandbox re-imports a workflow's module for
every run it starts, so the baseline must not carry the bench script along. Run as a
script, it is the baseline's worker process, as ``tocsin worker`` is Tocsin's (a plain
``Worker``, nothing of Tocsin or the bench imported), serving until SIGINT or SIGTERM::

    python bench/raw_signals.py --address HOST:PORT --task-queue QUEUE --cache N
        --workflow-slots N --activity-slots N --sticky-timeout SECONDS

The bench passes a Tocsin worker's defaults (``worker.settings.Settings``) for the last four.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker


@workflow.defn(name="BenchStormCounter")
class CounterWorkflow:
    """Counts the deliveries and alerts signalled to it; returns them when told to finish."""

    def __init__(self) -> None:
        self._signals = 0
        self._alerts = 0
        self._finish = False

    @workflow.run
    async def run(self) -> list[int]:
        await workflow.wait_condition(lambda: self._finish)
        return [self._signals, self._alerts]

    @workflow.signal
    def deliver(self, alerts: list[dict[str, Any]]) -> None:
        self._signals += 1
        self._alerts += len(alerts)

    @workflow.signal
    def finish(self) -> None:
        self._finish = True

    @workflow.query
    def counts(self) -> list[int]:
        return [self._signals, self._alerts]


async def serve(args: argparse.Namespace) -> None:
    """Serve ``CounterWorkflow`` on ``args.task_queue`` until SIGINT or SIGTERM."""
    # By module name, not ``__main__``: the sandbox re-imports the workflow's module.
    from raw_signals import CounterWorkflow as Served  # noqa: PLC0415

    client = await Client.connect(args.address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=args.task_queue,
        workflows=[Served],
        max_cached_workflows=args.cache,
        max_concurrent_workflow_tasks=args.workflow_slots,
        max_concurrent_activities=args.activity_slots,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=args.sticky_timeout),
    ):
        await stop.wait()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the raw alert-storm baseline.")
    parser.add_argument("--address", required=True, help="Temporal frontend, host:port")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--cache", type=int, required=True, help="workflows kept in memory")
    parser.add_argument("--workflow-slots", type=int, required=True)
    parser.add_argument("--activity-slots", type=int, required=True)
    parser.add_argument("--sticky-timeout", type=float, required=True, help="seconds")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(serve(parse_args()))
