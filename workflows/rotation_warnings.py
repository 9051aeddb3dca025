"""Config checks that are warnings, not errors: what may leave a rotation's layer
unanswered (``tocsin config check`` prints them; the worker logs them at start)."""

from __future__ import annotations

from workflows import schedule
from workflows.config import Person, TocsinConfig


def rotation_warnings(config: TocsinConfig) -> list[str]:
    """What may leave a rotation's layer unanswered, one sentence each.

    A person in a layer without a working contact method (none listed, or only ``email`` /
    ``slack`` without the address or user id they need; ``console`` and Apprise URLs
    work; their notification rules' methods when they have rules), and a start date that
    leaves a gap before the first handoff. A layer that an
    escalation target names but the rotation lacks is an error of ``reference_errors``,
    not repeated here.
    """
    warnings: list[str] = []
    for rid, rotation in config.rotations.items():
        first = schedule.anchor(rotation)
        if first.date() != rotation.start:
            handoff = schedule.shift_start(rotation, 0).astimezone(rotation.zone)
            warnings.append(
                f"rotation {rid}: nobody is on call from its start date {rotation.start} until "
                f"its first handoff {handoff:%a %Y-%m-%d %H:%M %Z} "
                f"(the start is not a {rotation.handoff.weekday})"
            )
        layers: dict[str, list[str]] = {}
        for layer, members in rotation.layers.items():
            for member in members:
                if layer not in layers.setdefault(member, []):
                    layers[member].append(layer)
        for pid, held in layers.items():
            person = config.people.get(pid)
            problem = None if person is None else _contact_problem(pid, person)
            if problem:
                warnings.append(
                    f"rotation {rid}: {pid} ({', '.join(held)}) has no working contact method: "
                    f"{problem}"
                )
    return warnings


def unreachable_people(config: TocsinConfig) -> dict[str, str]:
    """Every person none of whose contact methods can reach them, and why."""
    found = {pid: _contact_problem(pid, person) for pid, person in config.people.items()}
    return {pid: problem for pid, problem in found.items() if problem}


def _contact_problem(pid: str, person: Person) -> str | None:
    """Why none of ``person``'s contact methods can reach them, or None when one can."""
    methods = [rule.via for rule in person.notify] if person.notify else person.contact
    if not methods:
        return "the contact list is empty"
    missing: list[str] = []
    for method in methods:
        if method == "email" and not person.email:
            missing.append(f"'email' needs people.{pid}.email")
        elif method == "slack" and not person.slack:
            missing.append(f"'slack' needs people.{pid}.slack")
        else:
            return None
    return ", ".join(missing)
