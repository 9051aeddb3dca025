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


_Repo = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]


class FollowUps(_Strict):
    """Where follow-up issues go and how they are watched until closed."""

    # Default repository (``owner/name``) when the incident's service names none.
    repo: _Repo | None = None
    labels: list[str] = Field(default_factory=lambda: ["incident"])
    # Safety net for missed GitHub webhooks: how often open issues are checked.
    check_interval: _Duration = timedelta(hours=6)
    # Remind the assignee when an issue is still open after this long, then the lead.
    remind_after: _Duration = timedelta(days=7)


class Postmortem(_Strict):
    """How the postmortem draft is rendered and published."""

    # A Jinja2 template file replacing the built-in one (path relative to the config file).
    template: str | None = None
    # ``issue``: a GitHub issue labelled ``postmortem``; ``file``: a Markdown file
    # committed to ``repo`` at ``path`` on ``branch``.
    publish: Literal["issue", "file"] = "issue"
    repo: _Repo | None = None
    path: str = "postmortems/{id}.md"
    branch: str = "main"


class Incidents(_Strict):
    """How incidents are run."""

    lead_timeout: _Duration = timedelta(minutes=5)
    prompt_interval: _Duration = timedelta(minutes=15)
    customer_support_team: str | None = None
    security_team: str | None = None
    default_severity: str | None = None
    # Continue an incident as new past this many history events (0: when Temporal suggests).
    history_limit: int = Field(default=0, ge=0)
    followups: FollowUps = Field(default_factory=FollowUps)
    postmortem: Postmortem = Field(default_factory=Postmortem)
    # The messenger is asked to confirm customer communication; reminded after this long.
    messenger_confirm_timeout: _Duration = timedelta(hours=1)
    # When the channel is archived: once the postmortem is published and the follow-ups
    # are created, or only when the incident closes (every follow-up done).
    archive: Literal["after_postmortem", "at_close"] = "after_postmortem"
