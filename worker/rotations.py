"""Keep one RotationWorkflow running per configured rotation, told of every config change.

At start-up (idempotently: signal-with-start, so a running rotation keeps its overrides)
and whenever the config file changes, each rotation's workflow receives the rotation as
configured now; a rotation that left the config is retired.
"""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from activities.ports import ConfigSource
from workflows.config import TocsinConfig
from workflows.ids import rotation_workflow_id
from workflows.rotation import RotationWorkflow
from workflows.rotation_models import (
    RotationConfig,
    RotationInput,
    RotationSettings,
)
from workflows.rotation_warnings import rotation_warnings

log = structlog.get_logger("tocsin.rotations")

SYNC_INTERVAL = 15.0


def rotation_configs(config: TocsinConfig) -> dict[str, RotationConfig]:
    """Every rotation with what the rest of the config says about it."""
    warnings = rotation_warnings(config)
    configs: dict[str, RotationConfig] = {}
    for name, spec in config.rotations.items():
        team_id = next((t for t, team in config.teams.items() if team.rotation == name), None)
        team = config.teams[team_id] if team_id else None
        configs[name] = RotationConfig(
            spec=spec,
            settings=RotationSettings(
                team=team_id,
                channel=team.slack_channel if team else None,
                usergroup=team.slack_usergroup if team else None,
                people=sorted(config.people),
                warnings=[w for w in warnings if w.startswith(f"rotation {name}:")],
            ),
        )
    return configs


async def sync_rotations(
    client: Client,
    config: TocsinConfig,
    task_queue: str,
    previous: dict[str, RotationConfig] | None = None,
) -> dict[str, RotationConfig]:
    """Start or update every rotation's workflow; retire those no longer configured.

    Only rotations whose config differs from ``previous`` are signalled.
    """
    wanted = rotation_configs(config)
    for name, rotation in wanted.items():
        if previous is not None and previous.get(name) == rotation:
            continue
        await client.start_workflow(
            RotationWorkflow.run,
            RotationInput(name=name, config=rotation),
            id=rotation_workflow_id(name),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="config_changed",
            start_signal_args=[rotation],
            static_summary=f"Rotation {name}",
        )
        log.info("rotation synced", rotation=name, warnings=rotation.settings.warnings)
    for name in set(previous or {}) - set(wanted):
        try:
            await client.get_workflow_handle(rotation_workflow_id(name)).signal(
                RotationWorkflow.retire
            )
            log.info("rotation retired", rotation=name)
        except RPCError as err:
            log.warning("rotation retire failed", rotation=name, error=err.message)
    return wanted


async def keep_rotations_in_sync(
    client: Client, config: ConfigSource, task_queue: str, stop: asyncio.Event
) -> None:
    """Sync at start, then again whenever the config (reloaded on change) differs."""
    synced: dict[str, RotationConfig] | None = None
    while not stop.is_set():
        try:
            synced = await sync_rotations(client, config.current(), task_queue, synced)
        except RPCError as err:
            log.warning("rotation sync failed; retrying", error=err.message)
        try:
            await asyncio.wait_for(stop.wait(), SYNC_INTERVAL)
        except TimeoutError:
            continue
