"""Uptime checks: the ``checks:`` config section, one probe's request and result, and the
state a check's workflow carries and answers with. Pure pydantic models and rules."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from workflows.durations import at_most, format_duration, parse_duration

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
StatusRange = tuple[int, int]
CheckStatus = Literal["unknown", "up", "failing", "down"]

# Written like any config duration; kept to the fraction of a second (a timeout of
# PT0.5S), which the config's Duration would round away when the check is serialized.
PreciseDuration = Annotated[timedelta, BeforeValidator(parse_duration)]

DEFAULT_STATUS: list[StatusRange] = [(200, 399)]
MAX_INTERVAL = timedelta(days=1)
MIN_INTERVAL = timedelta(seconds=1)
# The responses a page's details show, and a check's state keeps.
RECENT = 10
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def _status_ranges(value: object) -> list[StatusRange]:
    """``200``, ``"200-299"`` or a list of both, as inclusive ranges."""
    items = value if isinstance(value, list) else [value]
    ranges: list[StatusRange] = []
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2:  # already parsed
            low, high = int(item[0]), int(item[1])
        elif isinstance(item, int) and not isinstance(item, bool):
            low = high = item
        elif isinstance(item, str) and re.fullmatch(r"\s*\d{3}\s*(-\s*\d{3}\s*)?", item):
            first, _, last = item.partition("-")
            low, high = int(first), int(last or first)
        else:
            raise ValueError(
                f"expected a status such as 200 or a range such as '200-299', got {item!r}"
            )
        if not 100 <= low <= high <= 599:
            raise ValueError(f"{low}-{high}: statuses are 100 to 599, the lower first")
        ranges.append((low, high))
    if not ranges:
        raise ValueError("name at least one status")
    return ranges


def show_statuses(ranges: list[StatusRange]) -> str:
    """``200-399``, ``200, 204``: as a person would write them."""
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


class Check(BaseModel):
    """One uptime check: what to request, what counts as up, how often, whom to page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(max_length=2048)
    method: Method = "GET"
    # Values may reference environment variables (``Bearer ${API_TOKEN}``): the probe
    # expands them; the config, the workflow and the results hold only the reference.
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    expected_status: Annotated[list[StatusRange], BeforeValidator(_status_ranges)] = Field(
        default_factory=lambda: list(DEFAULT_STATUS)
    )
    body_regex: str | None = Field(default=None, max_length=1000)
    interval: Annotated[PreciseDuration, at_most(MAX_INTERVAL)] = timedelta(minutes=1)
    timeout: Annotated[PreciseDuration, at_most(MAX_INTERVAL)] = timedelta(seconds=10)
    failures_before_paging: int = Field(default=3, ge=1, le=100)
    certificate_warning_days: int = Field(default=14, ge=0, le=365)
    service: str | None = None
    team: str | None = None
    urgency: Literal["high", "low"] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if "\n" in text or "\r" in text:
                raise ValueError(f"{name}: a header value is one line")
        return value

    @field_validator("body_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if value < MIN_INTERVAL:
            raise ValueError(f"must be at least {format_duration(MIN_INTERVAL)}")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        interval = info.data.get("interval")
        if isinstance(interval, timedelta) and value >= interval:
            raise ValueError(
                f"must be shorter than interval ({format_duration(value)} >= "
                f"{format_duration(interval)})"
            )
        return value

    @model_validator(mode="after")
    def _destination(self) -> Check:
        if self.service is None and self.team is None:
            raise ValueError("name the service or team to page (service: or team:)")
        return self

    def expects(self, status: int) -> bool:
        """Whether ``status`` counts as up."""
        return any(lo <= status <= hi for lo, hi in self.expected_status)


def check_errors(
    checks: Mapping[str, Check], services: Collection[str], teams: Collection[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks naming a service or team the config does not have, with the key holding it."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for name, check in checks.items():
        if check.service is not None and check.service not in services:
            errors.append((("checks", name, "service"), f"unknown service {check.service!r}"))
        if check.team is not None and check.team not in teams:
            errors.append((("checks", name, "team"), f"unknown team {check.team!r}"))
    return errors


class ProbeRequest(BaseModel):
    """One probe of a check, as its workflow asks the activity."""

    check: str
    spec: Check


class ProbeResult(BaseModel):
    """What one probe found. ``error`` says why it failed (None: up); ``certificate_expires``
    is the server certificate's notAfter (https only)."""

    check: str
    at: datetime
    ok: bool
    status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    certificate_expires: datetime | None = None

    def line(self) -> str:
        """``2026-12-02 10:00:05Z  503  120 ms  status 503 (expected 200-399)``."""
        status = str(self.status) if self.status is not None else "-"
        latency = f"{self.latency_ms:.0f} ms" if self.latency_ms is not None else "-"
        return f"{self.at:%Y-%m-%d %H:%M:%S}Z  {status:>3}  {latency:>8}  {self.error or 'ok'}"


class CheckCarry(BaseModel):
    """What a check's workflow hands to its next run (continue-as-new)."""

    failures: int = 0
    recent: list[ProbeResult] = Field(default_factory=list)
    down_page: str | None = None
    certificate_page: str | None = None


class CheckInput(BaseModel):
    """Start (or continue) a check's workflow: the check as configured, its carried state."""

    name: str
    spec: Check
    carry: CheckCarry = Field(default_factory=CheckCarry)


class CheckState(BaseModel):
    """A check's state now (``get_state``)."""

    name: str
    spec: Check
    status: CheckStatus
    failures: int
    recent: list[ProbeResult]
    down_page: str | None = None
    certificate_page: str | None = None
    retired: bool = False


__all__ = [
    "RECENT",
    "Check",
    "CheckCarry",
    "CheckInput",
    "CheckState",
    "CheckStatus",
    "ProbeRequest",
    "ProbeResult",
    "StatusRange",
    "check_errors",
    "show_statuses",
]
