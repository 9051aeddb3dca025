"""Opsgenie schedule overrides → the commands that recreate them once Tocsin runs.

``tocsin.yaml`` holds no overrides: they live in each rotation's workflow. The report gives,
for each override, ``tocsin rotation override`` and the same as an API call, one per layer
it covers (an override naming no rotations covers all of the schedule's).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from starters.opsgenie_import.export import OVERRIDES
from starters.opsgenie_import.people import Directory
from starters.opsgenie_import.report import Report, Section
from starters.opsgenie_import.schedules import Placed, Schedules, local_time
from starters.opsgenie_import.shapes import Override, Ref
from workflows.durations import format_duration
from workflows.rotation_rules import MAX_OVERRIDE

# The API's address in the commands: `tocsin dev`'s default.
API = "http://127.0.0.1:8080"


def map_overrides(
    overrides: dict[str, list[Override]],
    schedules: Schedules,
    directory: Directory,
    config: dict[str, Any],
    report: Report,
) -> None:
    """Report each override with the commands that recreate it once Tocsin runs."""
    for stem, found in overrides.items():
        for override in found:
            parent = override.parent or Ref()
            placed = schedules.find(stem, stem) or schedules.find(parent.id, parent.name)
            name = placed.schedule.name if placed else parent.name or stem
            subject = f"override {override.alias} of schedule {name}"
            if placed is None:
                report.add(
                    Section.overrides,
                    subject,
                    f"{OVERRIDES}/{stem}.json names no mapped schedule: not mapped.",
                )
                continue
            _override(override, placed, directory, config, report, subject)


def _override(
    override: Override,
    placed: Placed,
    directory: Directory,
    config: dict[str, Any],
    report: Report,
    subject: str,
) -> None:
    def skip(reason: str) -> None:
        report.add(Section.overrides, subject, f"{reason}: not mapped.")

    pid = directory.person(override.user) if override.user.type == "user" else None
    if pid is None:
        if override.user.type == "user":
            skip(f"{override.user.label()} is not in users.json")
        else:
            skip(f"held by {override.user.label()}: only a person can hold a Tocsin layer")
        return
    if override.end_date - override.start_date > MAX_OVERRIDE:
        skip(f"it lasts longer than the {format_duration(MAX_OVERRIDE)} a Tocsin override may")
        return
    if override.rotations:
        places = [placed.find(ref) for ref in override.rotations]
        layers = [p for p in places if p is not None]
    else:
        layers = [(rid, layer) for _, rid, layer in placed.layers]
    if not layers:
        skip("its rotations were not mapped")
        return
    start = local_time(override.start_date, placed.zone)
    end = local_time(override.end_date, placed.zone)
    reason = f"Opsgenie override {override.alias}"
    commands: list[str] = []
    outsiders: list[str] = []
    for rid, layer in dict.fromkeys(layers):
        cli = ["tocsin", "rotation", "override", rid, "--layer", layer, "--person", pid]
        cli += ["--start", start, "--end", end, "--reason", reason, "--as", pid]
        body = {"layer": layer, "person": pid, "start": start, "end": end}
        body |= {"reason": reason, "by": pid}
        commands += [
            shlex.join(cli),
            f'curl -X POST -H "Authorization: Bearer $TOCSIN_API_TOKEN" '
            f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))} "
            f"{API}/api/rotations/{rid}/overrides",
        ]
        if pid not in _holders(config, rid):
            outsiders.append(rid)
    note = ""
    if outsiders:
        note = (
            f" {pid} is not a member of {', '.join(outsiders)}: add them to the owning team's "
            "members first, or Tocsin refuses it."
        )
    report.add(
        Section.overrides,
        subject,
        f"{pid} from {start} to {end}: tocsin.yaml holds no overrides.{note}",
        "Once Tocsin runs, recreate it with the CLI, or with the API (its address and an "
        "admin token):",
        tuple(commands),
    )


def _holders(config: dict[str, Any], rid: str) -> set[str]:
    """Who may hold ``rid``'s shifts: its layers' people and its team's members."""
    members = {p for ps in config["rotations"][rid]["layers"].values() for p in ps}
    for team in config["teams"].values():
        if team.get("rotation") == rid:
            members.update(team["members"])
    return members
