"""The rotation contract: versions of a rotation, overrides, swaps, shifts, notes and reports.

A :class:`RotationPlan` is the whole truth about who is on call for one rotation: the
config versions with the instant each took effect (a change applies from the next
handoff, never to the past), and the overrides and swaps people made. The pure rules in
``workflows/rotation_rules.py`` answer every question from a plan; RotationWorkflow owns
the plan, and everyone else reads it with its ``get_plan`` query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from workflows.actors import Acted
from workflows.config import Rotation
from workflows.instants import Instant


class RotationVersion(BaseModel):
    """The rotation's config as it applies from ``effective_from`` (None: from the start)."""

    effective_from: datetime | None = None
    spec: Rotation


class Override(BaseModel):
    """``person`` holds ``layer`` during ``[start, end)`` instead of whoever is scheduled."""

    id: str
    layer: str
    person: str
    start: datetime
    end: datetime
    by: str
    created_at: datetime
    reason: str | None = None


class Swap(BaseModel):
    """Two people exchange two shifts of one layer.

    Each side is a shift of the layer (named by the instant it starts) that the person
    holds by schedule: during the first, ``second_person`` is on call; during the second,
    ``first_person``. It is anchored to those shifts' start instants, so it keeps
    following later edits: a side whose shift no longer starts then (the handoff moved)
    or no longer belongs to its person (members changed) simply stops applying.
    """

    id: str
    layer: str
    first_person: str
    first_start: datetime
    second_person: str
    second_start: datetime
    by: str
    created_at: datetime


class RotationPlan(BaseModel):
    name: str
    versions: list[RotationVersion] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)
    swaps: list[Swap] = Field(default_factory=list)


class ShiftSpan(BaseModel):
    """Who holds a layer during ``[start, end)`` once overrides and swaps are applied."""

    rotation: str
    layer: str
    person: str | None
    start: datetime
    end: datetime
    source: Literal["schedule", "override", "swap"] = "schedule"
    override_id: str | None = None


class Gap(BaseModel):
    """Nobody holds ``layer`` during ``[start, end)``."""

    rotation: str
    layer: str
    start: datetime
    end: datetime


# -- messages to RotationWorkflow -------------------------------------------------------


class OverrideRequest(Acted):
    """Give ``[start, end)`` of ``layer`` to ``person`` (``end`` None: until the shift ends)."""

    layer: str = Field(min_length=1, max_length=64)
    person: str = Field(min_length=1, max_length=64)
    start: Instant | None = None
    end: Instant | None = None
    reason: str | None = Field(default=None, max_length=500)


class SwapRequest(Acted):
    """Exchange the shift starting ``first_start`` (held by ``first_person``) with the one
    starting ``second_start`` (held by ``second_person``)."""

    layer: str = Field(min_length=1, max_length=64)
    first_person: str = Field(min_length=1, max_length=64)
    first_start: Instant
    second_person: str = Field(min_length=1, max_length=64)
    second_start: Instant


class RemoveRequest(Acted):
    """Remove an override or a swap by its id."""

    id: str = Field(min_length=1, max_length=64)


class OncallQuery(BaseModel):
    at: datetime


class ShiftNote(BaseModel):
    at: datetime
    by: str
    text: str


class NoteRequest(Acted):
    text: str = Field(min_length=1, max_length=4000)


# -- shifts -----------------------------------------------------------------------------


class ShiftInput(BaseModel):
    """One shift of a rotation, from handoff to handoff."""

    rotation: str
    team: str | None
    start: datetime
    end: datetime
    # Who holds each layer at the start (overrides applied); the first layer's holder is
    # "the incoming engineer" (the EOC of a delivery rotation).
    holders: dict[str, str | None]
    previous_holders: dict[str, str | None] = Field(default_factory=dict)
    # The outgoing shift hands its notes over by signal; None: the first shift, no wait.
    previous_shift: str | None = None
    people: list[str] = Field(default_factory=list)
    test_page_timeout_seconds: float = 4 * 3600.0
    reminder_before_seconds: float = 24 * 3600.0
    # The team's channel and user group (None: no chat for this rotation's team).
    channel: str | None = None
    usergroup: str | None = None
    report_to: list[str] = Field(default_factory=list)
    # Working hours in the holder's zone: a page outside them is "off hours".
    timezone: str = "UTC"
    workday_start_hour: int = 9
    workday_end_hour: int = 18
    # Holders no contact method can reach, and why: the handoff says so.
    unreachable: dict[str, str] = Field(default_factory=dict)


class PageSummary(BaseModel):
    """A page of the team during a shift, for the on-call report."""

    id: str
    summary: str
    created_at: datetime
    status: str
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    off_hours: bool = False
    test: bool = False


class IncidentSummary(BaseModel):
    id: str
    title: str
    severity: str
    status: str
    declared_at: datetime
    # Who worked it: its lead, messenger and resolution owner, whoever answered a page for
    # a role, posted a status update or resolved it (the report suggests them a recovery day).
    worked_by: list[str] = Field(default_factory=list)


class TeamActivityQuery(BaseModel):
    team: str
    start: datetime
    end: datetime
    timezone: str = "UTC"
    workday_start_hour: int = 9
    workday_end_hour: int = 18


class TeamActivity(BaseModel):
    """The team's pages and incidents in a window, and what is still open."""

    pages: list[PageSummary] = Field(default_factory=list)
    incidents: list[IncidentSummary] = Field(default_factory=list)
    open_pages: list[PageSummary] = Field(default_factory=list)
    open_incidents: list[IncidentSummary] = Field(default_factory=list)


class RecoveryDay(BaseModel):
    """A recovery day the on-call report suggests to ``person``, and why: the off-hours
    pages they answered (or, unanswered, that woke the shift's first layer) and the
    incidents they worked during the shift. ``person`` None: nobody to name."""

    person: str | None = None
    off_hours_pages: list[str] = Field(default_factory=list)
    incidents: list[str] = Field(default_factory=list)


class ShiftReport(BaseModel):
    """The on-call report of a shift, as posted at its end (and kept in the SQL store)."""

    rotation: str
    start: datetime
    end: datetime
    holders: dict[str, str | None]
    notes: list[ShiftNote] = Field(default_factory=list)
    activity: TeamActivity = Field(default_factory=TeamActivity)
    test_page: str | None = None
    test_page_acknowledged_by: str | None = None
    recovery_day: bool = False
    text: str = ""
    # Set by shifts that keep their report: its id (the shift's workflow id), the team, the
    # zone its times are shown in, and each recovery day with its reasons.
    id: str | None = None
    team: str | None = None
    timezone: str | None = None
    recovery: list[RecoveryDay] = Field(default_factory=list)


class ReportQuery(BaseModel):
    """Kept on-call reports, newest shift first: of one rotation, with one person on call
    (or suggested a recovery day), of shifts that ended at or after ``since``."""

    rotation: str | None = None
    person: str | None = None
    since: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)


class ShiftState(BaseModel):
    """A shift as people see it (``get_state`` of ShiftWorkflow)."""

    rotation: str
    start: datetime
    end: datetime
    holders: dict[str, str | None]
    phase: Literal["starting", "on", "reminded", "ended"] = "starting"
    notes: list[ShiftNote] = Field(default_factory=list)
    test_page: str | None = None
    test_page_acknowledged_by: str | None = None
    report: ShiftReport | None = None
    # The outgoing shift's report (its notes) once it arrived.
    handed_over: ShiftReport | None = None
    warnings: list[str] = Field(default_factory=list)


# -- RotationWorkflow -------------------------------------------------------------------


class RotationSettings(BaseModel):
    """What the rest of the config says about a rotation: its team, chat, people, warnings."""

    team: str | None = None
    channel: str | None = None
    usergroup: str | None = None
    people: list[str] = Field(default_factory=list)
    # Who overrides and swaps may involve, and who may make them (admins aside): the
    # team's members and the rotation's own people. Empty: not known (an older worker).
    members: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    # People no contact method can reach, and why (flagged at their handoff).
    unreachable: dict[str, str] = Field(default_factory=dict)


class RotationConfig(BaseModel):
    """The rotation as configured now (sent at worker start-up and on every config change)."""

    spec: Rotation
    settings: RotationSettings = Field(default_factory=RotationSettings)


class RotationInput(BaseModel):
    """A rotation run; ``plan`` and ``started_shift`` are carried across continue-as-new."""

    name: str
    config: RotationConfig
    plan: RotationPlan | None = None
    # Start of the last shift whose ShiftWorkflow this rotation started.
    started_shift: datetime | None = None
    changes: list[str] = Field(default_factory=list)
    handoffs: list[ShiftReport] = Field(default_factory=list)


class RotationStatus(BaseModel):
    """``get_state`` of RotationWorkflow."""

    name: str
    plan: RotationPlan
    settings: RotationSettings
    current_shift: str | None = None
    next_handoff: datetime | None = None
    oncall: list[ShiftSpan] = Field(default_factory=list)
    gaps: list[Gap] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list)


class UsergroupUpdate(BaseModel):
    usergroup: str
    people: list[str]


class ReportMail(BaseModel):
    """Mail a report to people, teams or addresses."""

    to: list[str]
    subject: str
    body: str
