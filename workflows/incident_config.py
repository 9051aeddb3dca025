"""Config schema for incidents: severities, rollback runners, role timeouts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from workflows.durations import Duration, at_most

# Bounds (README, "Limits"). Someone is paged when a role timeout expires, so it gets an
# escalation step's bound; intervals and reminders get a month, follow-ups a quarter.
_PageTimeout = Annotated[Duration, at_most(timedelta(weeks=1))]
_Interval = Annotated[Duration, at_most(timedelta(days=30))]
# The rollback activity's start_to_close_timeout is 15 minutes (workflows/incident.py):
# the runner's own timeout must fire first, so a timed-out rollback is reported as such
# rather than cut off and retried.
_RollbackTimeout = Annotated[Duration, at_most(timedelta(minutes=10))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ANNOUNCE_KINDS = ("slack", "email")
ANNOUNCE_HELP = (
    "use a chat channel (#incidents, or slack:#incidents) or email:ADDRESS, "
    "email:PERSON or email:TEAM"
)


class AnnounceTarget(NamedTuple):
    """Where a severity announces: ``chat`` a channel, ``email`` an address, a person's
    address or a team's members' addresses."""

    kind: Literal["chat", "email"]
    to: str


def parse_announce(text: str) -> AnnounceTarget:
    """``#incidents`` and ``slack:#incidents`` are chat channels; ``email:X`` is mail to X.

    Raises:
        ValueError: another ``kind:``, or nothing after the colon.
    """
    kind, colon, rest = text.partition(":")
    if not colon:
        return AnnounceTarget("chat", text)
    if kind not in ANNOUNCE_KINDS:
        raise ValueError(f"unknown announce target kind {kind!r} in {text!r}: {ANNOUNCE_HELP}")
    if not rest.strip():
        raise ValueError(f"announce target {text!r} names nothing after '{kind}:'")
    return AnnounceTarget("email" if kind == "email" else "chat", rest.strip())


def split_announce(targets: list[str]) -> tuple[list[str], list[str]]:
    """A severity's announce targets as (chat channels, mail recipients); targets the
    config check refuses are left out."""
    chat: list[str] = []
    mail: list[str] = []
    for text in targets:
        try:
            target = parse_announce(text)
        except ValueError:
            continue
        (mail if target.kind == "email" else chat).append(target.to)
    return chat, mail


def _checked_announce(text: str) -> str:
    parse_announce(text)
    return text


# Checked one by one, so an error names the entry (severities.3.announce.1).
_Announce = Annotated[str, AfterValidator(_checked_announce)]


class Severity(_Strict):
    """One incident severity level and the process it implies."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=32)
    page: bool = True
    # Chat channels (``#incidents``, ``slack:#incidents``) and mail (``email:all@x.com``,
    # ``email:<person>``, ``email:<team>``) told when an incident is declared at (or
    # changed to) this severity.
    announce: list[_Announce] = Field(default_factory=list, max_length=20)
    update_interval: _Interval = timedelta(minutes=30)
    postmortem: bool = False
    postmortem_recipients: list[str] = Field(default_factory=list, max_length=20)


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
    timeout: _RollbackTimeout = timedelta(seconds=30)


class CommandRollback(_Strict):
    """Run a local command (an argv list, no shell) with a timeout; output is captured."""

    kind: Literal["command"]
    argv: list[str] = Field(min_length=1)
    timeout: _RollbackTimeout = timedelta(minutes=5)
    cwd: str | None = None


Rollback = Annotated[
    GithubRollback | WebhookRollback | CommandRollback, Field(discriminator="kind")
]


_Repo = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]


class FollowUps(_Strict):
    """Where follow-up issues go and how they are watched until closed."""

    # Default repository (``owner/name``) when the incident's service names none.
    repo: _Repo | None = None
    labels: list[str] = Field(default_factory=lambda: ["incident"], max_length=20)
    # Safety net for missed GitHub webhooks: how often open issues are checked.
    check_interval: _Interval = timedelta(hours=6)
    # Remind the assignee when an issue is still open after this long, then the lead.
    # Follow-up work is often planned a quarter ahead, hence the longer bound.
    remind_after: Annotated[Duration, at_most(timedelta(days=90))] = timedelta(days=7)


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

    lead_timeout: _PageTimeout = timedelta(minutes=5)
    # Also how long an incident waits for a resolution owner before paging on call.
    prompt_interval: _PageTimeout = timedelta(minutes=15)
    customer_support_team: str | None = None
    security_team: str | None = None
    default_severity: str | None = None
    # Continue an incident as new past this many history events (0: when Temporal suggests).
    # Temporal ends a workflow at 51,200 events, so a larger limit could never apply.
    history_limit: int = Field(default=0, ge=0, le=50_000)
    followups: FollowUps = Field(default_factory=FollowUps)
    postmortem: Postmortem = Field(default_factory=Postmortem)
    # The messenger is asked to confirm customer communication; reminded after this long.
    messenger_confirm_timeout: _Interval = timedelta(hours=1)
    # When the channel is archived: once the postmortem is published and the follow-ups
    # are created, or only when the incident closes (every follow-up done).
    archive: Literal["after_postmortem", "at_close"] = "after_postmortem"
