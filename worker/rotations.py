"""Keep one RotationWorkflow running per configured rotation, told of every config change.

At start-up (idempotently: signal-with-start, so a running rotation keeps its overrides)
and whenever the config file changes, each rotation's workflow receives the rotation as
configured now; a rotation that left the config is retired.
"""

from __future__ import annotations

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from starters.clients.rotations import RotationWorkflowClient
from workflows.config import TocsinConfig
from workflows.rotation_models import RotationConfig, RotationSettings
from workflows.rotation_warnings import rotation_warnings, unreachable_people

log = structlog.get_logger("tocsin.rotations")


def rotation_configs(config: TocsinConfig) -> dict[str, RotationConfig]:
    """Every rotation with what the rest of the config says about it."""
    warnings = rotation_warnings(config)
    unreachable = unreachable_people(config)
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
                members=sorted(
                    {
                        *(team.members if team else ()),
                        *(p for ps in spec.layers.values() for p in ps),
                    }
                ),
                warnings=[w for w in warnings if w.startswith(f"rotation {name}:")],
                unreachable=unreachable,
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
    rotations = RotationWorkflowClient(client, task_queue)
    for name, rotation in wanted.items():
        if previous is not None and previous.get(name) == rotation:
            continue
        await rotations.sync(name, rotation)
        log.info("rotation synced", rotation=name, warnings=rotation.settings.warnings)
    for name in set(previous or {}) - set(wanted):
        try:
            await rotations.retire(name)
            log.info("rotation retired", rotation=name)
        except RPCError as err:
            log.warning("rotation retire failed", rotation=name, error=err.message)
    return wanted
