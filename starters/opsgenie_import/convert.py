"""The conversion: an :class:`~starters.opsgenie_import.export.Export` → the content of
``tocsin.yaml`` and the report. Pure: reads no file and no clock.

Order matters: people first (everything names them), then teams, schedules (rotations),
escalations (their targets name rotations, people and teams), each team's rotation and
policy, integrations, and last the overrides (whether Tocsin will accept one depends on
the rotations' teams).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from starters.opsgenie_import.escalations import LAST_STEP, map_escalations
from starters.opsgenie_import.export import Export
from starters.opsgenie_import.integrations import map_heartbeats, map_integrations
from starters.opsgenie_import.names import Ids
from starters.opsgenie_import.overrides import map_overrides
from starters.opsgenie_import.people import Directory, map_people, map_teams
from starters.opsgenie_import.report import Report, Section
from starters.opsgenie_import.schedules import map_schedules
from workflows.durations import format_duration


class ConversionError(Exception):
    """Nothing that makes a valid ``tocsin.yaml`` (no team with known members)."""


@dataclass(frozen=True)
class Conversion:
    config: dict[str, Any]
    report: Report


def convert(export: Export) -> Conversion:
    """Map everything ``export`` holds; what cannot be mapped goes into the report.

    Raises:
        ConversionError: no team has a member in ``users.json``.
    """
    report = Report()
    for name in export.missing:
        report.add(Section.files, name, "not in DIR: nothing of it is mapped.")
    directory = Directory()
    people = map_people(export, directory, report)
    members = map_teams(export.teams, directory, report)
    if not members:
        raise ConversionError(
            "no team has a member in users.json, and tocsin.yaml needs at least one team"
        )
    schedules = map_schedules(export.schedules, directory, report)
    policies = map_escalations(export.escalations, directory, schedules, report)
    policy_ids = Ids()
    for pid in policies.policies:
        policy_ids.new(pid)
    teams: dict[str, Any] = {}
    for tid, team in members.items():
        subject = f"team {directory.team_names[tid]}"
        teams[tid] = dict(team)
        owned = schedules.owned.get(tid, [])
        if owned:
            teams[tid]["rotation"] = owned[0]
        if len(owned) > 1:
            report.add(
                Section.teams,
                subject,
                f"owns the rotations {', '.join(owned)}; a Tocsin team has one ({owned[0]}) for "
                "its handoffs, the others still page through escalation policies.",
            )
        policy = policies.owned.get(tid)
        if policy is None:
            policy = policy_ids.new(f"{tid}-members")
            policies.policies[policy] = {
                "repeat": 0,
                "steps": [{"targets": [f"team:{tid}"], "ack_timeout": format_duration(LAST_STEP)}],
            }
            report.add(
                Section.teams,
                subject,
                f"owns no escalation that could be mapped, and a Tocsin team needs one: its "
                f"policy `{policy}` notifies every member.",
            )
        teams[tid]["escalation_policy"] = policy
    services = map_integrations(export.integrations, directory, report)
    map_heartbeats(export.heartbeats, report)
    config: dict[str, Any] = {
        "timezone": _main_zone(people),
        "people": people,
        "teams": teams,
        "rotations": schedules.rotations,
        "escalation_policies": policies.policies,
        "services": services.services,
        "routes": services.routes,
    }
    config = {key: value for key, value in config.items() if value}
    map_overrides(export.overrides, schedules, directory, config, report)
    report.mapped = {
        "people": len(people),
        "teams": len(teams),
        "rotations": len(schedules.rotations),
        "escalation policies": len(policies.policies),
        "services": len(services.services),
    }
    return Conversion(config, report)


def _main_zone(people: dict[str, Any]) -> str:
    """The time zone most people are in (``UTC`` when none says)."""
    zones = Counter(p["timezone"] for p in people.values() if "timezone" in p)
    return zones.most_common(1)[0][0] if zones else "UTC"
