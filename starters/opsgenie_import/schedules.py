"""Opsgenie schedules → ``rotations``.

An Opsgenie schedule's rotations are all on call at once, as a Tocsin rotation's layers
are; but a Tocsin rotation has one shift length, handoff and start for all its layers. So
the rotations of a schedule that share type, length and start date become the layers of
one rotation (named after the schedule), and a schedule whose rotations differ becomes one
rotation per group (``<schedule>-<first rotation>``).

Opsgenie hands over at the rotation's start time: weekly rotations on its weekday, daily
and hourly ones every ``length`` days or hours from it, in the schedule's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from starters.opsgenie_import.names import Ids, known_zone, slug
from starters.opsgenie_import.people import Directory
from starters.opsgenie_import.report import Report, Section
from starters.opsgenie_import.shapes import (
    Ref,
    Restriction,
    Rotation,
    Schedule,
    TimeRestriction,
)
from workflows.config import MAX_SHIFT, START_RANGE
from workflows.durations import format_duration

UNITS = {"weekly": timedelta(weeks=1), "daily": timedelta(days=1), "hourly": timedelta(hours=1)}
MAX_LAYERS = 10


@dataclass
class Placed:
    """Where one Opsgenie schedule landed: each of its rotations as (rotation, layer)."""

    schedule: Schedule
    zone: tzinfo
    layers: list[tuple[Rotation, str, str]] = field(default_factory=list)

    def targets(self) -> list[str]:
        """Escalation targets for "the schedule's on-call": every layer."""
        return [f"rotation:{rid}/{layer}" for _, rid, layer in self.layers]

    def find(self, ref: Ref) -> tuple[str, str] | None:
        """The (rotation, layer) an Opsgenie rotation reference names, by id or name."""
        for rotation, rid, layer in self.layers:
            if (ref.id and ref.id == rotation.id) or (ref.name and ref.name == rotation.name):
                return rid, layer
        return None


@dataclass
class Schedules:
    """``rotations`` and where each schedule went (keyed by Opsgenie id and by name)."""

    rotations: dict[str, Any] = field(default_factory=dict)
    placed: dict[str, Placed] = field(default_factory=dict)
    # Tocsin team id → the rotations of the schedules it owns.
    owned: dict[str, list[str]] = field(default_factory=dict)

    def find(self, ref_id: str | None, name: str | None) -> Placed | None:
        for key in (ref_id, name):
            if key and key in self.placed:
                return self.placed[key]
        return None


def map_schedules(schedules: list[Schedule], directory: Directory, report: Report) -> Schedules:
    """Every enabled schedule's rotations that have people, as Tocsin rotations."""
    ids = Ids()
    result = Schedules()
    for schedule in schedules:
        subject = f"schedule {schedule.name}"
        if not schedule.enabled:
            report.add(Section.rotations, subject, "disabled in Opsgenie: not mapped.")
            continue
        if not schedule.rotations:
            report.add(
                Section.rotations,
                subject,
                "no rotations (schedules.json saved without `?expand=rotation`?): not mapped.",
            )
            continue
        zone = schedule.timezone if schedule.timezone and known_zone(schedule.timezone) else "UTC"
        if zone != schedule.timezone:
            report.add(
                Section.rotations,
                subject,
                f"time zone {schedule.timezone!r} is not an IANA name: UTC is used.",
            )
        placed = Placed(schedule, ZoneInfo(zone))
        groups: dict[tuple[str, int, datetime], list[Layer]] = {}
        for rotation in schedule.rotations:
            layer = _rotation(schedule, rotation, zone, directory, report)
            if layer is not None:
                key = (rotation.type, rotation.length, rotation.start_date)
                groups.setdefault(key, []).append(layer)
        for group in groups.values():
            first = group[0].rotation.name or "rotation"
            base = schedule.name if len(groups) == 1 else f"{schedule.name}-{first}"
            rid = ids.new(slug(base, fallback="rotation"))
            result.rotations[rid] = _layered(group, rid, placed, report, subject)
            owner = schedule.owner_team
            tid = directory.team(owner.id, owner.name) if owner else None
            if tid:
                result.owned.setdefault(tid, []).append(rid)
        result.placed[schedule.id] = result.placed[schedule.name] = placed
    return result


@dataclass(frozen=True)
class Layer:
    """One Opsgenie rotation, mapped: its rotation's settings and its people in turn."""

    rotation: Rotation
    spec: dict[str, Any]
    members: list[str]


def _layered(
    group: list[Layer], rid: str, placed: Placed, report: Report, subject: str
) -> dict[str, Any]:
    """Rotations alike in type, length and start as the layers of one Tocsin rotation."""
    layers: dict[str, list[str]] = {}
    layer_ids = Ids()
    for i, layer in enumerate(group):
        if i >= MAX_LAYERS:
            report.add(
                Section.rotations,
                f"{subject}, rotation {layer.rotation.name}",
                f"a Tocsin rotation has at most {MAX_LAYERS} layers: left out.",
            )
            continue
        name = layer_ids.new(slug(layer.rotation.name or f"layer-{i + 1}", fallback="layer"))
        layers[name] = layer.members
        placed.layers.append((layer.rotation, rid, name))
    return {**group[0].spec, "layers": layers}


def _rotation(
    schedule: Schedule, rotation: Rotation, zone: str, directory: Directory, report: Report
) -> Layer | None:
    """The rotation as a layer, or None (reported)."""
    subject = f"schedule {schedule.name}, rotation {rotation.name or rotation.id}"

    def skip(reason: str) -> None:
        report.add(Section.rotations, subject, f"{reason}: not mapped.")

    unit = UNITS.get(rotation.type)
    if unit is None:
        skip(f"rotation type {rotation.type!r} unknown (daily, weekly or hourly)")
        return None
    shift = unit * rotation.length
    if shift > MAX_SHIFT:
        skip(
            f"a {format_duration(shift)} shift is longer than Tocsin's {format_duration(MAX_SHIFT)}"
        )
        return None
    local = rotation.start_date.astimezone(ZoneInfo(zone))
    first, last = START_RANGE
    if not first <= local.date() <= last:
        skip(f"start {local.date()} is outside {first}..{last}")
        return None
    members = _participants(rotation, directory, report, subject)
    if not members:
        skip("no participant is a person Tocsin knows")
        return None
    handoff: dict[str, Any] = {"time": f"{local.hour:02d}:{local.minute:02d}"}
    if rotation.type == "weekly":
        handoff = {"weekday": local.strftime("%A").lower(), **handoff}
    if rotation.end_date is not None:
        report.add(
            Section.rotations,
            subject,
            f"ends {local_time(rotation.end_date, ZoneInfo(zone))} in Opsgenie: Tocsin rotations "
            "do not end.",
            "Remove it from tocsin.yaml then.",
        )
    if rotation.time_restriction is not None:
        report.add(
            Section.rotations,
            subject,
            f"{_restriction(rotation.time_restriction)}: Tocsin has no time restrictions, this layer is on "
            "call around the clock.",
        )
    spec = {
        "timezone": zone,
        "handoff": handoff,
        "shift": format_duration(shift),
        "start": local.date().isoformat(),
    }
    return Layer(rotation, spec, members)


def _participants(
    rotation: Rotation, directory: Directory, report: Report, subject: str
) -> list[str]:
    members: list[str] = []
    for participant in rotation.participants:
        pid = directory.person(participant) if participant.type == "user" else None
        if pid is not None:
            members.append(pid)
            continue
        if participant.type == "user":
            reason = "is not in users.json"
        elif participant.type == "none":
            reason = "(a turn with nobody on call): Tocsin layers hold people only"
        else:
            reason = "as a participant: Tocsin layers hold people only"
        report.add(
            Section.rotations,
            subject,
            f"{participant.label()} {reason}; left out, the others take its turns.",
        )
    return members


def _restriction(restriction: TimeRestriction) -> str:
    parts = [restriction.restriction] if restriction.restriction else []
    spans = ", ".join(_span(r) for r in [*parts, *restriction.restrictions])
    return f"{restriction.type} restriction {spans}".rstrip()


def _span(r: Restriction) -> str:
    start = f"{r.start_day + ' ' if r.start_day else ''}{r.start_hour:02d}:{r.start_min:02d}"
    end = f"{r.end_day + ' ' if r.end_day else ''}{r.end_hour:02d}:{r.end_min:02d}"
    return f"{start} to {end}"


def local_time(when: datetime, zone: tzinfo) -> str:
    return when.astimezone(zone).isoformat(timespec="seconds")
