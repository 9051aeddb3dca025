"""The page log's entry: one row per page opening, built from the page's state (pure).

The page writes its entry when it opens, at each escalation step, when acknowledged,
resolved and reopened within its flap window (a flap stays on its opening's row). The
noise report (:mod:`starters.noise_report`) reads these rows. Whether the page opened
outside working hours needs the config: :func:`is_off_hours`, which the activity applies.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from workflows.config import TocsinConfig
from workflows.models import PageState, PageStatus
from workflows.working_hours import WorkingHours, next_start

# Labels naming what raised a watch's page (heartbeats, uptime checks), after alertname.
WATCH_LABELS = ("check", "heartbeat")
# Without working hours configured, a page is off hours outside these.
DEFAULT_HOURS = WorkingHours(start=time(9, 0), end=time(18, 0))


class PageLogEntry(BaseModel):
    """A page opening as the log keeps it (``off_hours`` is set by the activity)."""

    page_id: str
    opened_at: datetime
    # alertmanager, events, opsgenie, heartbeat, check, api, slack…
    source: str
    # The alertname of its alerts, else the check or heartbeat, else the summary.
    rule: str
    service: str | None = None
    team: str
    urgency: str = "high"
    acked_by: str | None = None
    acked_at: datetime | None = None
    steps_reached: int = 0
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    # Resolved by its source (its alerts resolved) with nobody having acknowledged it.
    auto_resolved_unacked: bool = False
    flaps: int = 0
    off_hours: bool = False
    silenced: bool = False
    incident_id: str | None = None
    # How many timeline entries the page had recorded: a write with a lower one is older.
    version: int = 0


def source_kind(source: str) -> str:
    """``events:datadog`` → ``events``: the kind of source, without the sending client."""
    return source.split(":", 1)[0]


def alert_rule(state: PageState) -> str:
    """The alert rule the page is about: the ``alertname`` of its alerts, else the check or
    heartbeat it watches, else its summary (Events API and manual pages)."""
    for label in ("alertname", *WATCH_LABELS):
        names = sorted({a.labels[label] for a in state.alerts if a.labels.get(label)})
        if names:
            return names[0]
    return state.summary


def page_log_entry(state: PageState, incident_id: str | None = None) -> PageLogEntry:
    """The page's row as it is now (its opening: ``state.created_at``)."""
    source = source_kind(state.source)
    resolved = state.status == PageStatus.resolved
    by_source = (
        resolved
        and state.resolved_by is not None
        and (source_kind(state.resolved_by) == source or state.resolved_by == state.integration)
    )
    steps = max([state.step, *(n.step for n in state.notified)])
    return PageLogEntry(
        page_id=state.id,
        opened_at=state.created_at,
        source=source,
        rule=alert_rule(state),
        service=state.service,
        team=state.team,
        urgency=state.urgency,
        acked_by=state.acknowledged_by,
        acked_at=state.acknowledged_at,
        steps_reached=steps,
        resolved_at=state.resolved_at if resolved else None,
        resolved_by=state.resolved_by if resolved else None,
        auto_resolved_unacked=by_source and state.acknowledged_by is None,
        flaps=state.flaps,
        silenced=state.silenced,
        incident_id=incident_id,
        version=state.timeline_archived + len(state.timeline),
    )


def incident_of(notify_workflow: str | None) -> str | None:
    """The incident a page was opened for (its opener is ``incident-INC-7``), if any."""
    if notify_workflow is not None and notify_workflow.startswith("incident-"):
        return notify_workflow.removeprefix("incident-")
    return None


def team_hours(config: TocsinConfig, team: str) -> tuple[WorkingHours, ZoneInfo]:
    """The team's working hours (its own, else the config's, else Mon-Fri 09:00-18:00) and
    the zone they are read in (theirs, else the team's rotation's, else the config's)."""
    found = config.teams.get(team)
    hours = (found.working_hours if found else None) or config.working_hours or DEFAULT_HOURS
    rotation = config.rotations.get(found.rotation) if found and found.rotation else None
    zone = hours.timezone or (rotation.timezone if rotation else config.timezone)
    return hours, ZoneInfo(zone)


def is_off_hours(config: TocsinConfig, team: str, at: datetime) -> bool:
    """Whether ``at`` is outside the team's working hours (see :func:`team_hours`)."""
    hours, zone = team_hours(config, team)
    return next_start(hours, zone, at) is not None
