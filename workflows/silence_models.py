"""Maintenance windows (``maintenance:`` in the config) and ad-hoc silences: pure models.

A window or a silence covers pages by service, team and/or label matchers in
Alertmanager's syntax (``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``);
while one covers a page opened by an alert source, the page notifies nobody. Matching
itself is in :mod:`workflows.silence_match`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, time, timedelta
from typing import Annotated, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from workflows.durations import Duration, at_most
from workflows.working_hours import WEEKDAYS

_ID = r"^[a-z0-9][a-z0-9_-]*$"
_LABEL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
# The longest an ad-hoc silence may be set for, unless ``silences.max_duration`` says.
DEFAULT_MAX_SILENCE = timedelta(days=7)
# The bound on ``silences.max_duration`` itself (timers and dates stay in range).
MAX_SILENCE_LIMIT = timedelta(days=90)

MatchOp = Literal["=", "!=", "=~", "!~"]


class Matcher(NamedTuple):
    """One label matcher: ``name op value`` (a regex op matches the whole value)."""

    name: str
    op: MatchOp
    value: str

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    def matches(self, labels: dict[str, str]) -> bool:
        """Alertmanager's rule: a missing label reads as the empty string."""
        found = labels.get(self.name, "")
        if self.op == "=":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        hit = re.fullmatch(self.value, found) is not None
        return hit if self.op == "=~" else not hit


def parse_matcher(text: str) -> Matcher:
    """Parse ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex``; the value
    may be in double quotes.

    Raises:
        ValueError: not one of those forms, or a regex that does not compile.
    """
    found = _LABEL.match(text)
    if found is None:
        raise ValueError(
            f"invalid matcher {text!r}: use name=value, name!=value, name=~regex or name!~regex"
        )
    name, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"invalid matcher {text!r}: bad regex ({err})") from None
    return Matcher(name, op, value)  # type: ignore[arg-type]  # op is one of the regex's four


def check_matchers(values: list[str]) -> list[str]:
    """A validator: every matcher parses (each error names the matcher)."""
    for value in values:
        parse_matcher(value)
    return values


def check_zone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError, OSError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
    return value


def _when(value: object) -> object:
    """A window's ``start``/``end``: a date and time (one-off) or a time of day (weekly)."""
    if isinstance(value, bool | int | float):
        # YAML 1.1 reads an unquoted 22:00 as the base-60 integer 1320.
        raise ValueError('write it in quotes: "22:00" (weekly) or "2026-12-05 22:00" (once)')
    if isinstance(value, datetime | time):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return time.fromisoformat(text) if len(text) <= 8 else datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"expected a time such as '22:00' or '2026-12-05 22:00', got {value!r}")


When = Annotated[datetime | time, BeforeValidator(_when)]


class Coverage(BaseModel):
    """What a window or silence covers: pages of these services, of these teams, whose
    firing alerts match every matcher (each list empty: no condition of that kind)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[Annotated[str, Field(pattern=_ID, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    teams: list[Annotated[str, Field(pattern=_ID, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    matchers: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=50
    )

    _matchers = field_validator("matchers")(check_matchers)

    def covers_nothing(self) -> bool:
        return not (self.services or self.teams or self.matchers)

    def parsed(self) -> list[Matcher]:
        return [parse_matcher(m) for m in self.matchers]


NOTHING_COVERED = "say what it covers: services, teams and/or matchers"


class MaintenanceWindow(Coverage):
    """A scheduled window: once (``start``/``end`` dates and times) or weekly (``days``
    with ``start``/``end`` times of day; an ``end`` at or before ``start`` is the next
    day). Times are read in ``timezone`` (default: the config's) unless they carry an
    offset."""

    reason: str = Field(min_length=1, max_length=500)
    start: When
    end: When
    days: list[str] | None = Field(default=None, min_length=1, max_length=7)
    timezone: str | None = None

    _zone = field_validator("timezone")(check_zone)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        for day in value or []:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown day {day!r}: use {', '.join(WEEKDAYS)}")
        return value

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        if self.covers_nothing():
            raise ValueError(NOTHING_COVERED)
        if self.days is not None:
            if not (_is_time(self.start) and _is_time(self.end)):
                raise ValueError('a weekly window (days) has times of day: start: "22:00"')
            if self.start == self.end:
                raise ValueError("end must differ from start")
            return self
        if _is_time(self.start) or _is_time(self.end):
            raise ValueError(
                'a window without days is one-off: start and end are dates and times, e.g. "2026-12-05 22:00"'
            )
        start, end = self.start, self.end
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            raise TypeError("checked above")
        zone = ZoneInfo(self.timezone or "UTC")
        if _aware(start, zone) >= _aware(end, zone):
            raise ValueError("end must be after start")
        return self


def _is_time(value: datetime | time) -> bool:
    return not isinstance(value, datetime)


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


class SilenceSettings(BaseModel):
    """``silences:``: how long an ad-hoc silence may be set for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_duration: Annotated[Duration, at_most(MAX_SILENCE_LIMIT)] = DEFAULT_MAX_SILENCE


def window_errors(
    windows: dict[str, MaintenanceWindow], services: Collection[str], teams: Collection[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Windows that name a service or team the config does not have."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for name, window in windows.items():
        for i, service in enumerate(window.services):
            if service not in services:
                errors.append(
                    (("maintenance", name, "services", i), f"unknown service {service!r}")
                )
        for i, team in enumerate(window.teams):
            if team not in teams:
                errors.append((("maintenance", name, "teams", i), f"unknown team {team!r}"))
    return errors


class Silence(Coverage):
    """An ad-hoc silence as the store keeps it: who set it (from their credential), and
    who ended it early."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_via: str | None = None
    created_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None

    def active(self, at: datetime) -> bool:
        """In force at ``at``: begun, not yet over, not ended early."""
        return self.ended_at is None and self.starts_at <= at < self.ends_at

    def until(self) -> datetime:
        """When it stops holding pages: its end, or when it was ended early."""
        return self.ended_at if self.ended_at is not None else self.ends_at


class SilenceEnded(BaseModel):
    """Told to the pages a silence held when it is ended early: resolve the step again."""

    silence_id: str
