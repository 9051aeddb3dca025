"""The contract between workflows, activities and starters: one pydantic model in and out.

Models only grow by adding optional fields with defaults, so that running workflows
keep decoding their histories.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.actors import Acted


class PageStatus(StrEnum):
    triggered = "triggered"
    acknowledged = "acknowledged"
    resolved = "resolved"


class TimelineEntry(BaseModel):
    """Something that happened to a page, in order."""

    at: datetime
    kind: str
    text: str
    by: str | None = None
    # The credential the actor used (see workflows.actors); None for Tocsin's own entries.
    via: str | None = None


class NotificationRecord(BaseModel):
    """One attempt to reach one person by one contact method."""

    person: str
    step: int
    method: str
    at: datetime
    ok: bool
    error: str | None = None


class Alert(BaseModel):
    """One alert as a source reported it (Alertmanager alert, PagerDuty-style event)."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    summary: str
    severity: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source_url: str | None = None
    links: list[dict[str, str]] = Field(default_factory=list)
    details: dict[str, Any] | None = None


class AlertBatch(BaseModel):
    """What a source sent about one page's alerts: new or changed alerts, or an ack."""

    source: str
    alerts: list[Alert] = Field(default_factory=list)
    # "note": only ``note`` for the timeline, from the integration that opened the page.
    action: Literal["update", "acknowledge", "note"] = "update"
    # An acknowledgement's actor: the integration that sent it (never a name in the body).
    by: str | None = None
    via: str | None = None
    # What the page is about as the source says it now (an Events API re-trigger's
    # summary); None keeps the page's summary.
    summary: str | None = None
    # Severity (lower case) → urgency for the page's service by the config of now, so the
    # page's urgency can follow its most severe firing alert; None keeps the urgency.
    urgencies: dict[str, Literal["high", "low"]] | None = None
    # What the sender adds in words (an Opsgenie request's ``note``): recorded with the
    # acknowledgement, or on its own; a delivery that starts the page carries it in details.
    note: str | None = None


class InlineStep(BaseModel):
    """A policy step given with the page itself (the handoff's test page), not from config."""

    targets: list[str] = Field(min_length=1)
    ack_timeout_seconds: float = Field(gt=0)


class PageInput(BaseModel):
    """How a page starts: the team to page and what it is about."""

    key: str
    team: str
    summary: str
    details: str | None = None
    dedup_key: str | None = None
    created_by: str | None = None
    created_via: str | None = None
    source: str = "api"
    # The integration that opened the page (``events:payments``): the one intake actor
    # that may acknowledge it.
    integration: str | None = None
    team_members: list[str] = Field(default_factory=list)
    service: str | None = None
    severity: str | None = None
    urgency: Literal["high", "low"] = "high"
    policy: str | None = None
    unrouted: bool = False
    route_note: str | None = None
    flap_window_seconds: float = 0.0
    # A page on behalf of another workflow (an incident looking for a lead): told on ack.
    notify_workflow: str | None = None
    purpose: str | None = None
    # Escalate through these steps instead of the team's policy (no repeat).
    steps: list[InlineStep] | None = None
    # Continue as new past this many history events (0: when Temporal suggests it).
    history_limit: int = Field(default=0, ge=0)
    # Set when the page continues as new: what its next run needs.
    carried: PageCarry | None = None


class PageState(BaseModel):
    """Everything a person (or the UI) needs to know about a page right now."""

    id: str
    workflow_id: str
    status: PageStatus = PageStatus.triggered
    team: str
    summary: str
    details: str | None = None
    dedup_key: str | None = None
    source: str = "api"
    integration: str | None = None
    created_by: str | None = None
    created_at: datetime
    service: str | None = None
    severity: str | None = None
    urgency: Literal["high", "low"] = "high"
    unrouted: bool = False
    alerts: list[Alert] = Field(default_factory=list)
    alerts_total: int = 0
    alerts_firing: int = 0
    flaps: int = 0
    policy: str | None = None
    step: int = 0
    step_count: int = 0
    round: int = 0
    repeat: int = 0
    escalation_exhausted: bool = False
    next_escalation_at: datetime | None = None
    notified: list[NotificationRecord] = Field(default_factory=list)
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    # An acknowledged page triggers again then (snoozed, or the policy's acknowledgement
    # timeout); None: it stays acknowledged until resolved.
    snoozed_until: datetime | None = None
    # A silence or maintenance window holds the page's notifications until then (what
    # holds it, and who set it, in ``silenced_by``); ``silenced`` stays true once one has
    # (the page log and noise report count such pages apart).
    silenced_until: datetime | None = None
    silenced_by: str | None = None
    silenced: bool = False
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    timeline_omitted: int = 0
    # The page's message in the team channel, updated in place as the page moves.
    channel_message: str | None = None
    # A page that lives long continues as new and keeps only its newest timeline entries,
    # resolved alerts and notifications; the older ones went to the archive (the store).
    continued: int = 0
    # Entries recorded before the first one held here, in the archive (timeline_dropped of
    # them were lost: the archive was down when the page continued as new).
    timeline_archived: int = 0
    timeline_dropped: int = 0
    alerts_archived: int = 0
    alerts_dropped: int = 0
    notified_omitted: int = 0


# What a page waits for: an acknowledgement (a step's timer), its resolution, the end of
# the flap window.
PagePhase = Literal["escalating", "open", "flap"]


class PageCarry(BaseModel):
    """What a page's next run needs when it continues as new, besides its (trimmed) state:
    where its escalation stands, so the acknowledgement timer fires at the same instant."""

    state: PageState
    phase: PagePhase = "open"
    step_index: int = 0
    step_round: int = 0
    ack_timeout_seconds: float = 0.0
    flap_until: datetime | None = None
    # Who may act on the page: the team as last resolved, and everyone ever notified.
    members: list[str] = Field(default_factory=list)
    responders: list[str] = Field(default_factory=list)
    escalate_requested: bool = False
    config_error: str | None = None
    channel: str | None = None
    # Responder actions (see workflows.page_actions): how many times the page was put
    # back to triggered (escalation starts over), and the policy's acknowledgement timeout.
    retriggered: int = 0
    ack_retrigger_seconds: float | None = None


PageInput.model_rebuild()  # it names PageCarry, defined after it


class PageCard(BaseModel):
    """A page as a chat message shows it (the team channel's copy, with its buttons)."""

    kind: Literal["page"] = "page"
    page_id: str
    team: str
    summary: str
    status: PageStatus
    step: int = 0
    step_count: int = 0
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    alerts_firing: int = 0

    @classmethod
    def of(cls, page: PageState) -> PageCard:
        return cls(
            page_id=page.id,
            team=page.team,
            summary=page.summary,
            status=page.status,
            step=page.step,
            step_count=page.step_count,
            acknowledged_by=page.acknowledged_by,
            resolved_by=page.resolved_by,
            alerts_firing=page.alerts_firing,
        )


class AlertQuery(BaseModel):
    """A slice of a page's alerts (a storm can put thousands on one page)."""

    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=1000)


class AlertList(BaseModel):
    """A slice of the alerts a page holds (``total`` of them); ``archived`` more are in the
    archive (resolved alerts of a page that continued as new)."""

    total: int
    alerts: list[Alert]
    archived: int = 0


class PageAcknowledged(BaseModel):
    """A page opened for a workflow (``PageInput.notify_workflow``) was acknowledged."""

    page_id: str
    purpose: str | None = None
    by: str


class PageActionInput(Acted):
    """Who acknowledges, escalates or resolves a page, and optionally why."""

    note: str | None = None


class ResolveStepInput(BaseModel):
    """Ask the current config who a policy step reaches at ``at``."""

    team: str
    step_index: int
    at: datetime
    policy: str | None = None
    urgency: Literal["high", "low"] = "high"
    steps: list[InlineStep] | None = None
    # For silences and maintenance windows: the page (workflow id), who opened it, its
    # service, and the labels of each firing alert. No source: not checked.
    page_id: str | None = None
    source: str | None = None
    service: str | None = None
    alert_labels: list[dict[str, str]] = Field(default_factory=list)


class Recipient(BaseModel):
    """A person to notify, with their contact methods in the order to try them."""

    person: str
    name: str
    contacts: list[str]
    # Notification rules: seconds into the step at which each of ``contacts`` is used,
    # each in turn until the page is taken. Empty: the first method that works, at once.
    delays: list[float] = Field(default_factory=list)


class ResolveStepResult(BaseModel):
    """A policy step resolved against the config of the moment.

    ``error`` is set (and the rest left empty) when the config no longer knows the
    team or its policy; the page keeps waiting and retries rather than being lost.
    """

    policy: str = ""
    step_count: int = 0
    repeat: int = 0
    ack_timeout_seconds: float = 0.0
    targets: list[str] = Field(default_factory=list)
    recipients: list[Recipient] = Field(default_factory=list)
    unreachable_targets: list[str] = Field(default_factory=list)
    team_members: list[str] = Field(default_factory=list)
    error: str | None = None
    # The team's chat channel (``teams.<id>.slack_channel``), where the page is shown too.
    channel: str | None = None
    # The urgency the step notifies with: low when the page is, or its policy says so.
    urgency: Literal["high", "low"] = "high"
    # A low-urgency step outside its team's working hours: when they next begin.
    wait_until: datetime | None = None
    # The policy's acknowledgement timeout: an acknowledged page not resolved by then
    # triggers again. None: off.
    ack_retrigger_seconds: float | None = None
    # A maintenance window or silence holds the page until ``silenced_until``: who set it
    # (``maintenance db-upgrade``, ``alice (silence 1a2b3c4d)``), and that with the reason.
    silenced_until: datetime | None = None
    silenced_by: str | None = None
    silence: str | None = None


class NotifyInput(BaseModel):
    """One notification of one person by one contact method."""

    page_id: str
    team: str
    summary: str
    details: str | None = None
    person: str
    person_name: str
    method: str
    step: int
    step_count: int
    # When the step (or the notification rule's delay into it) was due; None: unknown
    # (a responder asked to help, or a notification scheduled before this field existed).
    due_at: datetime | None = None


class NotifyResult(BaseModel):
    """Where the notification went (never the secret part of a URL)."""

    method: str
    delivered_to: str


class PageListItem(BaseModel):
    """A page as listed (from Temporal visibility: may lag the page by about a second)."""

    id: str
    status: str
    team: str
    summary: str
    created_at: datetime | None = None


class OnCallEntry(BaseModel):
    """Who holds one layer of a team's rotation, from when until when."""

    team: str
    rotation: str
    layer: str
    person: str | None
    name: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class RollbackRequest(BaseModel):
    """Roll a service back (or revert a change) for an incident."""

    incident_id: str
    service: str
    by: str
    choice: Literal["roll_back", "revert"] = "roll_back"


class RollbackResult(BaseModel):
    """What the rollback runner did: ``ok``, one line, captured output (trimmed), a link."""

    ok: bool
    runner: str
    summary: str
    output: str = ""
    url: str | None = None
