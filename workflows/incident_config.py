"""Config schema for incidents: severities, rollback runners, role timeouts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from workflows.durations import format_duration, parse_duration

_Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Severity(_Strict):
    """One incident severity level and the process it implies."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=32)
    page: bool = True
    announce: list[str] = Field(default_factory=list)
    update_interval: _Duration = timedelta(minutes=30)
    postmortem: bool = False
    postmortem_recipients: list[str] = Field(default_factory=list)


DEFAULT_SEVERITIES = [
    Severity(
        name="critical",
        announce=["#incidents"],
        update_interval=timedelta(minutes=15),
        postmortem=True,
    ),
    Severity(
        name="major",
        announce=["#incidents"],
        update_interval=timedelta(minutes=30),
        postmortem=True,
    ),
    Severity(name="minor", page=False, update_interval=timedelta(hours=1)),
]


class GithubRollback(_Strict):
    """Run a GitHub Actions workflow with ``workflow_dispatch`` (needs ``GITHUB_TOKEN``)."""

    kind: Literal["github"]
    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    workflow: str = Field(min_length=1)
    ref: str = "main"
    inputs: dict[str, str] = Field(default_factory=dict)


class WebhookRollback(_Strict):
    """POST a JSON body signed with HMAC-SHA256 (``X-Tocsin-Signature-256``) to ``url``."""

    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout: _Duration = timedelta(seconds=30)


class CommandRollback(_Strict):
    """Run a local command (an argv list, no shell) with a timeout; output is captured."""

    kind: Literal["command"]
    argv: list[str] = Field(min_length=1)
    timeout: _Duration = timedelta(minutes=5)
    cwd: str | None = None


Rollback = Annotated[
    GithubRollback | WebhookRollback | CommandRollback, Field(discriminator="kind")
]


class Incidents(_Strict):
    """How incidents are run."""

    lead_timeout: _Duration = timedelta(minutes=5)
    prompt_interval: _Duration = timedelta(minutes=15)
    customer_support_team: str | None = None
    security_team: str | None = None
    default_severity: str | None = None
    # Continue an incident as new past this many history events (0: when Temporal suggests).
    history_limit: int = Field(default=0, ge=0)
