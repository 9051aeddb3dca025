"""Keep one HeartbeatWorkflow running per configured heartbeat, told of every config change.

At start-up (idempotently: signal-with-start, so a running heartbeat keeps its last ping
and open page) and whenever the config file changes, each heartbeat's workflow receives
the heartbeat as configured now; a heartbeat that left the config is retired.
"""

from __future__ import annotations

from temporalio.client import Client

from starters.clients.heartbeats import HeartbeatWorkflowClient
from worker.sync import reconcile
from workflows.config import TocsinConfig
from workflows.heartbeat_models import HeartbeatConfig


def heartbeat_configs(config: TocsinConfig) -> dict[str, HeartbeatConfig]:
    """Every heartbeat with the team its page goes to."""
    configs: dict[str, HeartbeatConfig] = {}
    for name, spec in config.heartbeats.items():
        service = config.services.get(spec.service) if spec.service else None
        team = service.team if service is not None else spec.team
        configs[name] = HeartbeatConfig(spec=spec, team=team or "")
    return configs


async def sync_heartbeats(
    client: Client,
    config: TocsinConfig,
    task_queue: str,
    previous: dict[str, HeartbeatConfig] | None = None,
) -> dict[str, HeartbeatConfig]:
    """Start or update every heartbeat's workflow; retire those no longer configured (only
    heartbeats whose config differs from ``previous`` are signalled)."""
    heartbeats = HeartbeatWorkflowClient(client, task_queue)
    wanted = heartbeat_configs(config)
    return await reconcile("heartbeat", wanted, previous, heartbeats.sync, heartbeats.retire)


__all__ = ["heartbeat_configs", "sync_heartbeats"]
