"""``tocsin heartbeats``: every configured heartbeat's status, last ping and next due."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starters.api import TocsinClient
from starters.cli_common import ConfigOpt, JsonOpt, client_command, config_zone, settings_from, when
from starters.clients.heartbeats import HeartbeatWorkflowClient
from starters.heartbeats import Heartbeats
from workflows.durations import format_duration
from workflows.heartbeat_models import HeartbeatState


async def _states(client: TocsinClient) -> list[HeartbeatState]:
    return await Heartbeats(HeartbeatWorkflowClient(client.temporal), client.config).states()


def heartbeats(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every heartbeat: status (ok, overdue; unknown while the worker has not started it),
    last seen, next due and the page an overdue one opened (times in the config's zone)."""
    settings = settings_from(config=config)
    zone = config_zone(settings)
    client_command(settings, _states, lambda states: heartbeats_text(states, zone), as_json=as_json)


def heartbeats_text(states: list[HeartbeatState], zone: ZoneInfo) -> str:
    """One line per heartbeat, aligned: name, status, interval, last seen, next due, page."""
    if not states:
        return "no heartbeats configured (add a heartbeats: section to the config)"
    width = max(len(s.name) for s in states)
    lines = [
        f"{'NAME':<{width}}  {'STATUS':<8} {'EVERY':<6} {'LAST SEEN':<20} {'NEXT DUE':<20} PAGE"
    ]
    for s in states:
        lines.append(
            f"{s.name:<{width}}  {s.status:<8} {format_duration(s.interval):<6} "
            f"{when(s.last_seen, zone):<20} {when(s.next_due, zone):<20} {s.page_id or '-'}"
        )
    return "\n".join(lines)


__all__ = ["heartbeats", "heartbeats_text"]
