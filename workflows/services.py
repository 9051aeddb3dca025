"""Config schema for alert routing: services, routes, severities → urgency, flap window.

Pure pydantic models; ``workflows/config.py`` puts them in :class:`TocsinConfig` and
``workflows/routing.py`` applies them to an alert's labels.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from workflows.durations import Duration, at_most
from workflows.incident_config import Rollback

Urgency = Literal["high", "low"]

# What an on-call engineer expects when nothing is configured: critical and error page
# people; warning and info wait for working hours on the low-urgency policy.
DEFAULT_URGENCY: dict[str, Urgency] = {
    "critical": "high",
    "error": "high",
    "high": "high",
    "page": "high",
    "warning": "low",
    "low": "low",
    "info": "low",
}


def _compile(value: object) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a regular expression string")
    try:
        # Anchored like Alertmanager's =~ matchers: the whole label value must match.
        return re.compile(f"^(?:{value})$")
    except (re.error, OverflowError, RecursionError) as err:
        # OverflowError: a repeat count such as {99999999999}; RecursionError: deep nesting.
        raise ValueError(f"invalid regular expression {value!r}: {err}") from None


Regex = Annotated[
    re.Pattern[str],
    BeforeValidator(_compile),
    PlainSerializer(lambda p: p.pattern[4:-2], return_type=str),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_Strict):
    """Something that alerts: who owns it, how it escalates, how severities map to urgency."""

    team: str
    escalation_policy: str | None = None
    low_urgency_policy: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    urgency: dict[str, Urgency] = Field(default_factory=dict)
    integration_key: str | None = Field(default=None, min_length=1)
    rollback: Rollback | None = None
    # Where follow-up issues of this service's incidents go (``owner/name``).
    repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class Route(_Strict):
    """Alerts whose labels match go to ``service`` (or straight to ``team``).

    ``match`` compares label values for equality, ``match_re`` with a regular expression
    that must match the whole value; every condition must hold. The route with
    ``default: true`` (exactly one, last) takes what no other route matched.
    """

    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, Regex] = Field(default_factory=dict)
    service: str | None = None
    team: str | None = None
    default: bool = False

    @model_validator(mode="after")
    def _one_destination(self) -> Route:
        if (self.service is None) == (self.team is None):
            raise ValueError("a route needs exactly one of service or team")
        if self.default and (self.match or self.match_re):
            raise ValueError("the default route matches everything: give it no match/match_re")
        if not self.default and not (self.match or self.match_re):
            raise ValueError("a route needs match or match_re (or default: true)")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether every condition holds for ``labels`` (a missing label is the empty string)."""
        return all(labels.get(k, "") == v for k, v in self.match.items()) and all(
            p.match(labels.get(k, "")) for k, p in self.match_re.items()
        )


class Alerting(_Strict):
    """Alert ingestion settings."""

    flap_window: Annotated[Duration, at_most(timedelta(days=30))] = timedelta(minutes=5)
