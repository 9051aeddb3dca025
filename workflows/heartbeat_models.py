"""Heartbeats: the ``heartbeats:`` config section, what a heartbeat's workflow is given and
answers with, and its deadline rule. Pure pydantic models and functions.

A heartbeat is a job that says "I ran" by pinging Tocsin every ``interval``; when no ping
arrives within ``interval + grace`` of the last one (or of the heartbeat's start), it is
overdue and pages its service or team.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

from workflows.durations import Duration, at_most, format_duration, parse_duration

HeartbeatStatus = Literal["ok", "overdue", "unknown"]

MIN_INTERVAL = timedelta(minutes=1)
# A monthly job with a few days' slack is the longest anyone waits for a ping.
MAX_INTERVAL = timedelta(days=35)
MAX_GRACE = timedelta(weeks=1)
_ZERO = re.compile(r"\s*0+[smhdw]?\s*")


def _grace(value: object) -> timedelta:
    """A duration such as ``10m``, or ``0`` (no grace), at most :data:`MAX_GRACE`."""
    if value == 0 or value == timedelta(0) or (isinstance(value, str) and _ZERO.fullmatch(value)):
        return timedelta(0)
    found = parse_duration(value)
    if found > MAX_GRACE:
        raise ValueError(f"must be at most {format_duration(MAX_GRACE)}")
    return found


# Like a config Duration, but 0 is allowed.
Grace = Annotated[
    timedelta, BeforeValidator(_grace), PlainSerializer(format_duration, return_type=str)
]


class Heartbeat(BaseModel):
    """One configured heartbeat: how often it pings, how late it may be, whom it pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Annotated[Duration, at_most(MAX_INTERVAL)]
    # How late a ping may be before the heartbeat is overdue (0: not at all).
    grace: Grace = timedelta(0)
    # Where its page goes: exactly one of a service (its team, policies, urgency map) or
    # a team.
    service: str | None = None
    team: str | None = None
    # The page's urgency (None: the severity's for the service, else high).
    urgency: Literal["high", "low"] | None = None
    description: str | None = Field(default=None, max_length=1024)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if value < MIN_INTERVAL:
            raise ValueError(f"must be at least {format_duration(MIN_INTERVAL)}")
        return value

    @property
    def late_after(self) -> timedelta:
        """How long after a ping (or the start) the heartbeat becomes overdue."""
        return self.interval + self.grace

    def shown(self) -> str:
        """``every 1h (grace 10m)``."""
        grace = f" (grace {format_duration(self.grace)})" if self.grace else ""
        return f"every {format_duration(self.interval)}{grace}"


def heartbeat_errors(
    heartbeats: Mapping[str, Heartbeat], services: Collection[str], teams: Collection[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every heartbeat whose destination is missing, ambiguous or unknown, with its key path."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for name, spec in heartbeats.items():
        path = ("heartbeats", name)
        if (spec.service is None) == (spec.team is None):
            errors.append((path, "name exactly one of service or team (where its page goes)"))
        elif spec.service is not None and spec.service not in services:
            errors.append(((*path, "service"), f"unknown service {spec.service!r}"))
        elif spec.team is not None and spec.team not in teams:
            errors.append(((*path, "team"), f"unknown team {spec.team!r}"))
    return errors


class HeartbeatConfig(BaseModel):
    """A heartbeat as configured now, with what the rest of the config says about it."""

    spec: Heartbeat
    # The team its page goes to (the service's team, or its own team).
    team: str


class HeartbeatCarry(BaseModel):
    """What a heartbeat's workflow carries across continue-as-new."""

    started_at: datetime
    last_seen: datetime | None = None
    last_by: str | None = None
    page_id: str | None = None
    overdue: bool = False
    pings: int = 0


class HeartbeatInput(BaseModel):
    """The heartbeat's workflow input: its name, its config, and (after a continue-as-new)
    its carried state."""

    name: str
    config: HeartbeatConfig
    carry: HeartbeatCarry | None = None


class HeartbeatPing(BaseModel):
    """A ping: the job ran. The time is the workflow's, when the ping arrives."""

    # Who sent it (the credential's label), for the state and the page's text.
    by: str | None = Field(default=None, max_length=200)


class HeartbeatState(BaseModel):
    """A heartbeat as its workflow sees it (``get_state``, ``GET /api/heartbeats``)."""

    name: str
    status: HeartbeatStatus
    description: str | None = None
    service: str | None = None
    team: str | None = None
    interval: Duration
    grace: Grace = timedelta(0)
    started_at: datetime | None = None
    last_seen: datetime | None = None
    last_by: str | None = None
    # When the next ping is expected, and when it is overdue (and pages) without one.
    next_due: datetime | None = None
    overdue_at: datetime | None = None
    page_id: str | None = None
    pings: int = 0


def deadline(spec: Heartbeat, carry: HeartbeatCarry) -> datetime:
    """When the heartbeat is overdue: ``interval + grace`` after its last ping or start."""
    return (carry.last_seen or carry.started_at) + spec.late_after


def ago(delta: timedelta) -> str:
    """``1h5m ago``, ``2d3h ago`` (whole minutes; under a minute: seconds)."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s ago"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return f"{''.join(parts)} ago"


def overdue_summary(name: str, carry: HeartbeatCarry, now: datetime) -> str:
    """The page's summary: ``backup is overdue; last seen 2026-11-30 02:00 UTC (1h5m ago)``."""
    if carry.last_seen is None:
        return f"{name} is overdue; never seen since {carry.started_at:%Y-%m-%d %H:%M} UTC"
    seen = carry.last_seen
    return f"{name} is overdue; last seen {seen:%Y-%m-%d %H:%M} UTC ({ago(now - seen)})"


__all__ = [
    "MAX_GRACE",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "Grace",
    "Heartbeat",
    "HeartbeatCarry",
    "HeartbeatConfig",
    "HeartbeatInput",
    "HeartbeatPing",
    "HeartbeatState",
    "HeartbeatStatus",
    "ago",
    "deadline",
    "heartbeat_errors",
    "overdue_summary",
]
