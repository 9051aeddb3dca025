"""Keep one CheckWorkflow running per configured uptime check, told of every config change.

At start-up (idempotently: signal-with-start, so a running check keeps its failure count
and open pages) and whenever the config file changes, each check's workflow receives the
check as configured now; a check that left the config is retired (its pages resolved).
"""

from __future__ import annotations

from temporalio.client import Client

from starters.clients.checks import CheckWorkflowClient
from worker.sync import reconcile
from workflows.check_models import Check
from workflows.config import TocsinConfig


async def sync_checks(
    client: Client,
    config: TocsinConfig,
    task_queue: str,
    previous: dict[str, Check] | None = None,
) -> dict[str, Check]:
    """Start or update every check's workflow; retire those no longer configured (only
    checks whose config differs from ``previous`` are signalled)."""
    checks = CheckWorkflowClient(client, task_queue)
    return await reconcile("check", config.checks, previous, checks.sync, checks.retire)
