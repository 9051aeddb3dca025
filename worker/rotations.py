"""Keep one RotationWorkflow running per configured rotation, told of every config change.

At start-up (idempotently: signal-with-start, so a running rotation keeps its overrides)
and whenever the config file changes, each rotation's workflow receives the rotation as
configured now; a rotation that left the config is retired.
"""

from __future__ import annotations

from temporalio.client import Client

from starters.clients.rotations import RotationWorkflowClient
from worker.sync import reconcile
from workflows.config import TocsinConfig
from workflows.rotation_models import RotationConfig, RotationSettings
from workflows.rotation_warnings import rotation_warnings, unreachable_people


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
    """Start or update every rotation's workflow; retire those no longer configured (only
    rotations whose config differs from ``previous`` are signalled)."""
    rotations = RotationWorkflowClient(client, task_queue)
    wanted = rotation_configs(config)
    return await reconcile(
        "rotation",
        wanted,
        previous,
        rotations.sync,
        rotations.retire,
        lambda rotation: {"warnings": rotation.settings.warnings},
    )
