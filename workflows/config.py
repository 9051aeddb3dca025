"""The schema of ``tocsin.yaml``: pure pydantic models plus the cross-reference check.

Loading the file (I/O) is the worker's job (``worker/config.py``); this module only
says what a valid configuration is, so that workflows, activities and starters agree.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflows.check_models import Check, check_errors
from workflows.durations import Duration, at_most, format_duration, parse_duration
from workflows.heartbeat_models import Heartbeat, heartbeat_errors
from workflows.incident_config import (
    DEFAULT_SEVERITIES,
    AnnounceTarget,
    Incidents,
    Severity,
    parse_announce,
)
from workflows.services import Alerting, Route, Service
from workflows.silence_models import MaintenanceWindow, SilenceSettings, window_errors
from workflows.working_hours import WorkingHours

_ID = r"^[a-z0-9][a-z0-9_-]*$"
Ident = Annotated[str, Field(pattern=_ID, max_length=64)]

# Bounds (README, "Limits"): wide enough for any real schedule, narrow enough that every
# timer and date computed from the config stays in range and every loop over it is short.
MAX_ACK_TIMEOUT = timedelta(weeks=1)
MAX_SHIFT = timedelta(days=90)  # as long as an override may last (rotation_rules)
MAX_REMINDER = timedelta(days=30)
# Rotation start dates: schedule arithmetic on local times must stay inside datetime's
# years 1 to 9999 whatever the time zone and shift.
START_RANGE = (date(1970, 1, 1), date(2999, 12, 31))

BUILTIN_METHODS = ("console", "email", "slack")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a key naming a directory ("America") or longer than a file name can be.
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name such as 'America/Chicago')"
        ) from None
    return value


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @property
    def number(self) -> int:
        """0 for Monday … 6 for Sunday, like :meth:`datetime.date.weekday`."""
        return list(Weekday).index(self)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_method(method: str) -> str:
    if method not in BUILTIN_METHODS and "://" not in method:
        raise ValueError(
            f"unknown contact method {method!r}: use console, email, slack "
            "or an Apprise URL such as 'mailto://…' or 'json://host/path'"
        )
    return method


class NotifyRule(_Strict):
    """One rule of a person's notification rules: ``via`` this method, ``after`` this long
    into the step (``0m``: at once)."""

    after: timedelta
    via: str

    @field_validator("after", mode="before")
    @classmethod
    def _after(cls, value: object) -> timedelta:
        if value == 0 or (isinstance(value, str) and re.fullmatch(r"\s*0+[smhdw]?\s*", value)):
            return timedelta(0)
        found = parse_duration(value)
        if found > MAX_ACK_TIMEOUT:
            raise ValueError(f"must be at most {format_duration(MAX_ACK_TIMEOUT)}")
        return found

    _via = field_validator("via")(_check_method)


class Person(_Strict):
    """Someone Tocsin can page; ``contact`` is tried in order until one method works."""

    name: str = Field(min_length=1)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    low_urgency_contact: list[str] | None = Field(default=None, max_length=10)
    timezone: str | None = None
    slack: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]+$")
    github: str | None = Field(default=None, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
    contact: list[str] = Field(default_factory=lambda: ["console"], max_length=10)
    # Notification rules (high urgency): each method at its time into a step, until
    # someone acknowledges; a method that fails moves on to the next rule at once.
    notify: list[NotifyRule] | None = Field(default=None, min_length=1, max_length=10)

    _tz = field_validator("timezone")(lambda v: v if v is None else _check_timezone(v))

    @field_validator("contact", "low_urgency_contact")
    @classmethod
    def _methods(cls, value: list[str] | None) -> list[str] | None:
        for method in value or []:
            _check_method(method)
        return value

    @field_validator("notify")
    @classmethod
    def _in_order(cls, value: list[NotifyRule] | None) -> list[NotifyRule] | None:
        for earlier, later in itertools.pairwise(value or []):
            if later.after < earlier.after:
                raise ValueError("rules must be in order of 'after'")
        return value


class Team(_Strict):
    """A group of people with a rotation and an escalation policy."""

    members: list[str] = Field(min_length=1, max_length=100)
    rotation: str | None = None
    escalation_policy: str
    low_urgency_policy: str | None = None
    integration_key: str | None = Field(default=None, min_length=1)
    slack_channel: str | None = None
    slack_usergroup: str | None = None
    # When low-urgency steps may notify (default: the config's working_hours, if any).
    working_hours: WorkingHours | None = None


class Handoff(_Strict):
    """When duty changes hands, in the rotation's local wall-clock time."""

    weekday: Weekday | None = None
    time: time

    @field_validator("time", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 10:00 as the base-60 integer 600.
            raise ValueError('write the time in quotes, e.g. time: "10:00"')
        return value


class Rotation(_Strict):
    """A rotation: each layer's members take consecutive shifts in order."""

    timezone: str
    handoff: Handoff
    shift: Annotated[Duration, at_most(MAX_SHIFT)]
    start: date
    layers: dict[Ident, Annotated[list[str], Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=10
    )
    # The handoff (ShiftWorkflow): the incoming engineer's test page must be acknowledged
    # within test_page_timeout (else it escalates to the next layer); the outgoing one is
    # reminded handoff_reminder before the end to finish notes and the on-call report,
    # which goes to the team channel and to report_to (people, teams or email addresses).
    test_page_timeout: Annotated[Duration, at_most(MAX_ACK_TIMEOUT)] = timedelta(hours=4)
    handoff_reminder: Annotated[Duration, at_most(MAX_REMINDER)] = timedelta(hours=24)
    report_to: list[str] = Field(default_factory=list, max_length=20)
    # Pages outside these local hours (or at weekends) count as off-hours in the report.
    workday_start_hour: int = Field(default=9, ge=0, le=23)
    workday_end_hour: int = Field(default=18, ge=1, le=24)

    _tz = field_validator("timezone")(_check_timezone)

    @field_validator("shift")
    @classmethod
    def _shift(cls, value: timedelta) -> timedelta:
        if value < timedelta(hours=1):
            raise ValueError("a shift must last at least 1h")
        return value

    @field_validator("start")
    @classmethod
    def _start(cls, value: date) -> date:
        first, last = START_RANGE
        if not first <= value <= last:
            raise ValueError(f"must be between {first} and {last}")
        return value

    @model_validator(mode="after")
    def _weekly(self) -> Rotation:
        if self.handoff.weekday is not None and self.shift % timedelta(weeks=1):
            raise ValueError(
                "with handoff.weekday set, shift must be a whole number of weeks "
                f"(got {format_duration(self.shift)})"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class EscalationStep(_Strict):
    """Whom to notify, and how long they have to acknowledge before the next step."""

    targets: list[str] = Field(min_length=1, max_length=20)
    ack_timeout: Annotated[Duration, at_most(MAX_ACK_TIMEOUT)]

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for target in value:
            parse_target(target)
        return value


class EscalationPolicy(_Strict):
    """Ordered steps, repeated ``repeat`` more times when nobody acknowledges."""

    repeat: int = Field(default=0, ge=0, le=20)
    urgency: Literal["high", "low"] = "high"
    steps: list[EscalationStep] = Field(min_length=1, max_length=20)
    # An acknowledged page not resolved within this triggers again (off when unset).
    acknowledgement_timeout: Annotated[Duration, at_most(MAX_ACK_TIMEOUT)] | None = None


class Reports(_Strict):
    """On-call reports: the Jinja2 template of their text (a path, relative to the config
    file; none: the built-in one). ``tocsin config check`` reads and renders it."""

    oncall_template: str | None = Field(default=None, min_length=1, max_length=4096)


class TocsinConfig(_Strict):
    """The whole of ``tocsin.yaml``."""

    timezone: str = "UTC"
    # When low-urgency steps may notify, for teams that do not say (none: at any time).
    working_hours: WorkingHours | None = None
    people: dict[Ident, Person] = Field(min_length=1)
    teams: dict[Ident, Team] = Field(min_length=1)
    rotations: dict[Ident, Rotation] = Field(default_factory=dict)
    escalation_policies: dict[Ident, EscalationPolicy] = Field(min_length=1)
    services: dict[Ident, Service] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list, max_length=1000)
    alerting: Alerting = Field(default_factory=Alerting)
    severities: list[Severity] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITIES), min_length=1, max_length=20
    )
    incidents: Incidents = Field(default_factory=Incidents)
    reports: Reports = Field(default_factory=Reports)
    # Uptime checks (workflows/check_models.py): one CheckWorkflow each.
    checks: dict[Ident, Check] = Field(default_factory=dict, max_length=200)
    # Heartbeats (workflows/heartbeat_models.py): one HeartbeatWorkflow each.
    heartbeats: dict[Ident, Heartbeat] = Field(default_factory=dict, max_length=1000)
    # Maintenance windows by name, and the longest an ad-hoc silence may be set for.
    maintenance: dict[Ident, MaintenanceWindow] = Field(default_factory=dict, max_length=1000)
    silences: SilenceSettings = Field(default_factory=SilenceSettings)

    def severity(self, name: str) -> Severity | None:
        """The severity called ``name``, if configured."""
        return next((s for s in self.severities if s.name == name), None)

    _tz = field_validator("timezone")(_check_timezone)


class Target(NamedTuple):
    """A parsed escalation target: ``person:ID``, ``team:ID`` or ``rotation:ID/LAYER``."""

    kind: Literal["person", "team", "rotation"]
    id: str
    layer: str | None = None

    def __str__(self) -> str:
        suffix = f"/{self.layer}" if self.layer else ""
        return f"{self.kind}:{self.id}{suffix}"


_TARGET = re.compile(
    r"^(person|team):([a-z0-9][a-z0-9_-]*)$|^rotation:([a-z0-9][a-z0-9_-]*)/([a-z0-9][a-z0-9_-]*)$"
)


def parse_target(text: str) -> Target:
    """Parse a target string.

    Raises:
        ValueError: the text is not ``person:ID``, ``team:ID`` or ``rotation:ID/LAYER``.
    """
    match = _TARGET.match(text)
    if not match:
        raise ValueError(f"invalid target {text!r}: use person:ID, team:ID or rotation:ID/LAYER")
    if match.group(1):
        kind: Literal["person", "team"] = "person" if match.group(1) == "person" else "team"
        return Target(kind, match.group(2))
    return Target("rotation", match.group(3), match.group(4))


ErrorPath = tuple[str | int, ...]


def reference_errors(config: TocsinConfig) -> list[tuple[ErrorPath, str]]:
    """Every reference in ``config`` that does not resolve, with the key path that holds it."""
    errors: list[tuple[ErrorPath, str]] = []

    def person(path: ErrorPath, pid: str) -> None:
        if pid not in config.people:
            errors.append((path, f"unknown person {pid!r}"))

    errors.extend(_contact_errors(config))
    errors.extend(_routing_errors(config))
    errors.extend(_incident_errors(config))
    errors.extend(check_errors(config.checks, config.services, config.teams))
    errors.extend(heartbeat_errors(config.heartbeats, config.services, config.teams))
    errors.extend(window_errors(config.maintenance, config.services, config.teams))
    for tid, team in config.teams.items():
        for i, member in enumerate(team.members):
            person(("teams", tid, "members", i), member)
        if team.rotation is not None and team.rotation not in config.rotations:
            errors.append((("teams", tid, "rotation"), f"unknown rotation {team.rotation!r}"))
        if team.escalation_policy not in config.escalation_policies:
            errors.append(
                (
                    ("teams", tid, "escalation_policy"),
                    f"unknown escalation policy {team.escalation_policy!r}",
                )
            )
    for rid, rotation in config.rotations.items():
        for layer, members in rotation.layers.items():
            for i, member in enumerate(members):
                person(("rotations", rid, "layers", layer, i), member)
    for name, policy in config.escalation_policies.items():
        for s, step in enumerate(policy.steps):
            for t, text in enumerate(step.targets):
                problem = target_error(config, parse_target(text))
                if problem:
                    errors.append(
                        (("escalation_policies", name, "steps", s, "targets", t), problem)
                    )
    return errors


def target_error(config: TocsinConfig, target: Target) -> str | None:
    """Why ``target`` does not resolve in ``config``, or ``None`` when it does."""
    if target.kind == "person" and target.id not in config.people:
        return f"unknown person {target.id!r}"
    if target.kind == "team" and target.id not in config.teams:
        return f"unknown team {target.id!r}"
    if target.kind == "rotation":
        rotation = config.rotations.get(target.id)
        if rotation is None:
            return f"unknown rotation {target.id!r}"
        if target.layer not in rotation.layers:
            return (
                f"rotation {target.id!r} has no layer {target.layer!r} "
                f"(layers: {', '.join(rotation.layers)})"
            )
    return None


def _contact_errors(config: TocsinConfig) -> list[tuple[ErrorPath, str]]:
    """Contact methods that need a detail the person lacks (an email address, a Slack id)."""
    needs = {"email": "email", "slack": "slack"}
    errors: list[tuple[ErrorPath, str]] = []
    for pid, person in config.people.items():
        for key in ("contact", "low_urgency_contact"):
            for i, method in enumerate(getattr(person, key) or []):
                field = needs.get(method)
                if field and not getattr(person, field):
                    message = f"contact '{method}' needs people.{pid}.{field}"
                    errors.append((("people", pid, key, i), message))
    return errors


def _routing_errors(config: TocsinConfig) -> list[tuple[ErrorPath, str]]:
    """Services and routes that name unknown teams, services or policies; default route rules."""
    errors: list[tuple[ErrorPath, str]] = []

    def policy(path: ErrorPath, name: str | None) -> None:
        if name is not None and name not in config.escalation_policies:
            errors.append((path, f"unknown escalation policy {name!r}"))

    for tid, team in config.teams.items():
        policy(("teams", tid, "low_urgency_policy"), team.low_urgency_policy)
    for sid, service in config.services.items():
        if service.team not in config.teams:
            errors.append((("services", sid, "team"), f"unknown team {service.team!r}"))
        policy(("services", sid, "escalation_policy"), service.escalation_policy)
        policy(("services", sid, "low_urgency_policy"), service.low_urgency_policy)
    for i, route in enumerate(config.routes):
        if route.service is not None and route.service not in config.services:
            errors.append((("routes", i, "service"), f"unknown service {route.service!r}"))
        if route.team is not None and route.team not in config.teams:
            errors.append((("routes", i, "team"), f"unknown team {route.team!r}"))
    defaults = [i for i, r in enumerate(config.routes) if r.default]
    if config.routes and defaults != [len(config.routes) - 1]:
        errors.append(
            (("routes",), "exactly one route must have default: true, and it must be last")
        )
    keys: dict[str, str] = {}
    owners = [(("teams", t, "integration_key"), x.integration_key) for t, x in config.teams.items()]
    owners += [
        (("services", s, "integration_key"), x.integration_key) for s, x in config.services.items()
    ]
    for path, key in owners:
        if key is None:
            continue
        if key in keys:
            errors.append((path, f"integration key already used by {keys[key]}"))
        keys[key] = ".".join(str(p) for p in path[:2])
    return errors


def _mail_target_error(config: TocsinConfig, target: AnnounceTarget) -> str | None:
    """Why an ``email:`` announce target reaches nobody (an unknown name, no address)."""
    if target.kind != "email" or "@" in target.to:
        return None
    person = config.people.get(target.to)
    team = config.teams.get(target.to)
    if person is not None:
        found = [person]
    elif team is not None:
        found = [config.people[m] for m in team.members if m in config.people]
    else:
        return f"email:{target.to}: no person or team {target.to!r} (or write an address)"
    if not any(p.email for p in found):
        return f"email:{target.to}: nobody there has an e-mail address (people.<id>.email)"
    return None


def _incident_errors(config: TocsinConfig) -> list[tuple[ErrorPath, str]]:
    """Severity names unique; incident teams and the default severity exist."""
    errors: list[tuple[ErrorPath, str]] = []
    seen: set[str] = set()
    for i, severity in enumerate(config.severities):
        if severity.name in seen:
            errors.append(
                (("severities", i, "name"), f"severity {severity.name!r} is listed twice")
            )
        seen.add(severity.name)
        for j, text in enumerate(severity.announce):
            problem = _mail_target_error(config, parse_announce(text))
            if problem:
                errors.append((("severities", i, "announce", j), problem))
    incidents = config.incidents
    for key in ("customer_support_team", "security_team"):
        team = getattr(incidents, key)
        if team is not None and team not in config.teams:
            errors.append((("incidents", key), f"unknown team {team!r}"))
    if incidents.default_severity is not None and incidents.default_severity not in seen:
        errors.append(
            (("incidents", "default_severity"), f"unknown severity {incidents.default_severity!r}")
        )
    return errors
