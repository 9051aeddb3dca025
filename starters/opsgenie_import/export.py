"""DIR, as saved from Opsgenie's REST API, and reading it.

One file per API response, saved as Opsgenie sent it (README, *Moving from Opsgenie*):

==============================  =============================================================
``users.json``                  ``GET /v2/users?limit=100`` (further pages: ``users-2.json``…)
``contacts/<username>.json``    ``GET /v2/users/{username}/contacts``, one per user (optional)
``teams/<name>.json``           ``GET /v2/teams/{id}``, one per team (with its members)
``schedules.json``              ``GET /v2/schedules?expand=rotation`` (rotations embedded)
``overrides/<schedule>.json``   ``GET /v2/schedules/{id}/overrides``, named by schedule id or name
``escalations.json``            ``GET /v2/escalations``
``heartbeats.json``             ``GET /v2/heartbeats``
``integrations.json``           ``GET /v2/integrations``
==============================  =============================================================

``users.json`` and ``teams/`` are required (``tocsin.yaml`` needs people and teams); any
other missing file is listed in the report. A file that is not JSON, or whose JSON does
not have Opsgenie's shape, is an :class:`ExportError` naming the file and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from starters.opsgenie_import.shapes import (
    Contact,
    Envelope,
    Escalation,
    Heartbeat,
    Heartbeats,
    Integration,
    Override,
    Schedule,
    Team,
    User,
)

M = TypeVar("M", bound=BaseModel)

USERS = "users.json"
CONTACTS = "contacts"
TEAMS = "teams"
SCHEDULES = "schedules.json"
OVERRIDES = "overrides"
ESCALATIONS = "escalations.json"
HEARTBEATS = "heartbeats.json"
INTEGRATIONS = "integrations.json"
# Problems listed for one file before the rest are counted.
MAX_PROBLEMS = 20


class ExportError(Exception):
    """DIR cannot be read: ``problems`` holds one ``FILE: key.path: message`` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Export:
    """Everything read from DIR. ``contacts`` and ``overrides`` are keyed by file stem."""

    folder: Path
    users: list[User]
    teams: list[Team]
    contacts: dict[str, list[Contact]] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    overrides: dict[str, list[Override]] = field(default_factory=dict)
    escalations: list[Escalation] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def read_export(folder: Path) -> Export:
    """Read DIR.

    Raises:
        ExportError: DIR, ``users.json`` or ``teams/`` is missing, or a file is malformed.
    """
    if not folder.is_dir():
        raise ExportError([f"{folder}: no such directory"])
    missing: list[str] = []
    users_path = folder / USERS
    if not users_path.is_file():
        raise ExportError([f"{users_path}: file not found (save GET /v2/users there)"])
    users = _users([users_path, *sorted(folder.glob("users-*.json"))])
    team_files = _files(folder / TEAMS)
    if not team_files:
        raise ExportError(
            [f"{folder / TEAMS}: no team files (save GET /v2/teams/{{id}} as teams/<name>.json)"]
        )
    teams = [_load(path, Envelope[Team]).data for path in team_files]

    def optional(name: str, model: type[M]) -> M | None:
        path = folder / name
        if path.is_file():
            return _load(path, model)
        missing.append(name)
        return None

    def each(name: str, model: type[Envelope[list[M]]]) -> dict[str, list[M]]:
        files = _files(folder / name)
        if not files:
            missing.append(f"{name}/")
        return {path.stem: _load(path, model).data for path in files}

    contacts = each(CONTACTS, Envelope[list[Contact]])
    schedules = optional(SCHEDULES, Envelope[list[Schedule]])
    overrides = each(OVERRIDES, Envelope[list[Override]])
    escalations = optional(ESCALATIONS, Envelope[list[Escalation]])
    heartbeats = optional(HEARTBEATS, Envelope[Heartbeats])
    integrations = optional(INTEGRATIONS, Envelope[list[Integration]])
    return Export(
        folder=folder,
        users=users,
        teams=teams,
        contacts=contacts,
        schedules=schedules.data if schedules else [],
        overrides=overrides,
        escalations=escalations.data if escalations else [],
        heartbeats=heartbeats.data.heartbeats if heartbeats else [],
        integrations=integrations.data if integrations else [],
        missing=missing,
    )


def _users(paths: list[Path]) -> list[User]:
    """Every page of users, each user once."""
    seen: dict[str, User] = {}
    for path in paths:
        for user in _load(path, Envelope[list[User]]).data:
            seen.setdefault(user.id, user)
    return list(seen.values())


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _load(path: Path, model: type[M]) -> M:
    """One response body, validated against Opsgenie's shape."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ExportError([f"{path}: (top level): not UTF-8 text"]) from None
    except OSError as err:
        raise ExportError([f"{path}: cannot read: {err.strerror}"]) from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise ExportError(
            [f"{path}: line {err.lineno}, column {err.colno}: invalid JSON: {err.msg}"]
        ) from None
    except RecursionError:
        raise ExportError([f"{path}: (top level): invalid JSON: nested too deeply"]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [
            f"{path}: {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in errors[:MAX_PROBLEMS]
        ]
        if len(errors) > MAX_PROBLEMS:
            problems.append(f"{path}: … and {len(errors) - MAX_PROBLEMS} more problems")
        raise ExportError(problems) from None
