"""Keep one CheckWorkflow running per configured uptime check, told of every config change.

At start-up (idempotently: signal-with-start, so a running check keeps its failure count
and open pages) and whenever the config file changes, each check's workflow receives the
check as configured now; a check that left the config is retired (its pages resolved).
"""

from __future__ import annotations

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from starters.clients.checks import CheckWorkflowClient
from workflows.check_models import Check
from workflows.config import TocsinConfig

log = structlog.get_logger("tocsin.checks")


async def sync_checks(
    client: Client,
    config: TocsinConfig,
    task_queue: str,
    previous: dict[str, Check] | None = None,
) -> dict[str, Check]:
    """Start or update every check's workflow; retire those no longer configured.

    Only checks whose config differs from ``previous`` are signalled.
    """
    wanted = dict(config.checks)
    checks = CheckWorkflowClient(client, task_queue)
    for name, check in wanted.items():
        if previous is not None and previous.get(name) == check:
            continue
        await checks.sync(name, check)
        log.info("check synced", check=name, url=check.url)
    for name in set(previous or {}) - set(wanted):
        try:
            await checks.retire(name)
            log.info("check retired", check=name)
        except RPCError as err:
            log.warning("check retire failed", check=name, error=err.message)
    return wanted
