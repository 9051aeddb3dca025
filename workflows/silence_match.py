"""Whether a maintenance window or a silence holds a page at an instant. Pure: the
instant, the config's windows and the silences in force come from the caller.

A page is covered when every one of its firing alerts is (a page with none: its service
and team alone); the page's service and team count as the labels ``service`` and
``team`` of each alert. Only pages that alert sources open are held: a page a person
opens by hand (API, Slack, console, CLI) is meant to reach someone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from workflows.silence_models import Coverage, MaintenanceWindow, Silence
from workflows.working_hours import WEEKDAYS

# PageState.source before any ``:detail`` (``events:ci``, ``opsgenie:grafana``).
ALERT_SOURCES = frozenset({"alertmanager", "events", "opsgenie", "heartbeat", "check"})


class Hold(NamedTuple):
    """What holds a page: until when, by whom (``maintenance db-upgrade``, ``alice
    (silence 1a2b3c4d)``), why, and the silence's id (None for a window)."""

    until: datetime
    by: str
    reason: str
    silence_id: str | None = None

    @property
    def text(self) -> str:
        return f"{self.by}: {self.reason}"


def silenceable(source: str) -> bool:
    """Whether pages from ``source`` can be silenced (alert sources, not people)."""
    return source.partition(":")[0] in ALERT_SOURCES


def page_labels(
    service: str | None, team: str, alerts: Iterable[dict[str, str]]
) -> list[dict[str, str]]:
    """The label sets a page is matched by: one per firing alert (given as its labels),
    with the page's service and team; the page's alone when it has none firing."""
    own = {"team": team, **({"service": service} if service else {})}
    sets = [{**labels, **own} for labels in alerts]
    return sets or [own]


def covers(coverage: Coverage, labels: dict[str, str]) -> bool:
    """Whether one label set is covered (every condition the coverage states holds)."""
    if coverage.services and labels.get("service") not in coverage.services:
        return False
    if coverage.teams and labels.get("team") not in coverage.teams:
        return False
    return all(m.matches(labels) for m in coverage.parsed())


def covers_all(coverage: Coverage, label_sets: Sequence[dict[str, str]]) -> bool:
    return bool(label_sets) and all(covers(coverage, labels) for labels in label_sets)


def window_end(window: MaintenanceWindow, zone: ZoneInfo, at: datetime) -> datetime | None:
    """The end of the occurrence of ``window`` that ``at`` falls in, or None when it is
    outside every occurrence. Local times are read in ``window.timezone`` (else ``zone``),
    so a weekly 22:00 stays 22:00 across a DST change."""
    tz = ZoneInfo(window.timezone) if window.timezone else zone
    if window.days is None:
        start, end = window.start, window.end
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            raise TypeError("a one-off window has dates and times")  # the model's rule
        begins, ends = _utc(start, tz), _utc(end, tz)
        return ends if begins <= at < ends else None
    start_t, end_t = window.start, window.end
    if isinstance(start_t, datetime) or isinstance(end_t, datetime):
        raise TypeError("a weekly window has times of day")  # the model's rule
    days = {WEEKDAYS.index(d) for d in window.days}
    local = at.astimezone(tz).date()
    for back in (1, 0):  # an occurrence that began yesterday may run past midnight
        day = local - timedelta(days=back)
        if day.weekday() not in days:
            continue
        begins = _utc(datetime.combine(day, start_t), tz)
        last = day + timedelta(days=1) if end_t <= start_t else day
        ends = _utc(datetime.combine(last, end_t), tz)
        if begins <= at < ends:
            return ends
    return None


def _utc(value: datetime, zone: ZoneInfo) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return aware.astimezone(UTC)


def find_hold(
    windows: dict[str, MaintenanceWindow],
    zone: ZoneInfo,
    silences: Iterable[Silence],
    label_sets: Sequence[dict[str, str]],
    at: datetime,
) -> Hold | None:
    """What holds a page with ``label_sets`` at ``at``: of the windows and silences in
    force that cover it, the one that ends last; None when nothing does."""
    holds: list[Hold] = []
    for name, window in windows.items():
        ends = window_end(window, zone, at)
        if ends is not None and covers_all(window, label_sets):
            holds.append(Hold(ends, f"maintenance {name}", window.reason))
    for silence in silences:
        if silence.active(at) and covers_all(silence, label_sets):
            by = f"{silence.created_by} (silence {silence.id})"
            holds.append(Hold(silence.ends_at, by, silence.reason, silence.id))
    return max(holds, key=lambda h: h.until, default=None)
