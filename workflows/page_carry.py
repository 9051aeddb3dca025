"""A page that lives for months: when to continue as new, what goes to the archive, and
what the next run carries.

Every alert delivery is a signal, so a flapping or long-lived page's history grows without
end, and Temporal ends a run past ~51,200 events. Past a bound, the page spills its older
timeline entries and resolved alerts to the archive (an activity) and continues as new
with the newest ones. Firing alerts always stay: they decide when the page resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.archive_models import AlertSpill, TimelineSpill
from workflows.models import Alert, PageState

# Continue as new past this many events even when the server never suggests it (Temporal
# suggests it near 4,096; the hard limit is 51,200), or past this many bytes (limit 50 MB).
HISTORY_CAP = 10_000
HISTORY_BYTES_CAP = 10 * 1024 * 1024

# What a continued page holds: the newest timeline entries, resolved alerts, notifications.
TIMELINE_KEPT = 200
RESOLVED_ALERTS_KEPT = 100
NOTIFIED_KEPT = 50
# When the archive could not take them, up to this many entries (and resolved alerts) are
# carried instead of lost; the oldest beyond are dropped and counted.
CARRIED_AT_MOST = 1000
# Firing alerts are carried whole up to this many; beyond, without labels and annotations
# (fingerprint, status and summary decide and show), so the carry stays far below
# Temporal's 2 MB payload limit in a storm.
FIRING_WHOLE = 1000


def history_long(length: int, size: int, *, suggested: bool, limit: int = 0) -> bool:
    """Whether a run with this history should continue as new (``limit``: 0 for Temporal's
    suggestion, or a number of events)."""
    if limit and length > limit:
        return True
    return suggested or length > HISTORY_CAP or size > HISTORY_BYTES_CAP


@dataclass(frozen=True)
class Spill:
    """What a run handed to the archive before continuing, and whether the archive took it."""

    timeline: TimelineSpill | None = None
    alerts: AlertSpill | None = None
    saved: bool = True


def spill(state: PageState) -> Spill:
    """The timeline entries and resolved alerts beyond what a continued page holds.

    Chosen from what the page holds now; entries and alerts that arrive while the archive
    writes stay held (see :func:`carried_state`).
    """
    spilled = len(state.timeline) - TIMELINE_KEPT
    timeline = (
        TimelineSpill(
            subject=state.workflow_id,
            start=state.timeline_archived,
            entries=state.timeline[:spilled],
        )
        if spilled > 0
        else None
    )
    resolved = [a for a in state.alerts if a.status == "resolved"]
    extra = len(resolved) - RESOLVED_ALERTS_KEPT
    alerts = (
        AlertSpill(subject=state.workflow_id, start=state.alerts_archived, alerts=resolved[:extra])
        if extra > 0
        else None
    )
    return Spill(timeline=timeline, alerts=alerts)


def carried_state(state: PageState, done: Spill) -> PageState:
    """The state the next run starts from: ``state`` without what ``done`` archived,
    bounded even when the archive failed (the excess is then dropped and counted)."""
    update: dict[str, object] = {"continued": state.continued + 1}

    archived = len(done.timeline.entries) if done.timeline and done.saved else 0
    held = state.timeline[archived:]
    dropped = max(0, len(held) - CARRIED_AT_MOST)
    update["timeline"] = held[dropped:]
    update["timeline_archived"] = state.timeline_archived + archived + dropped
    update["timeline_dropped"] = state.timeline_dropped + dropped

    alerts = state.alerts
    if done.alerts and done.saved:
        # An alert that changed since it was chosen (fired again) is held: only the very
        # objects handed to the archive go.
        gone = {a.fingerprint: a for a in done.alerts.alerts}
        alerts = [a for a in alerts if gone.get(a.fingerprint) is not a]
        update["alerts_archived"] = state.alerts_archived + len(done.alerts.alerts)
    alerts, lost = _bounded_alerts(alerts)
    update["alerts"] = alerts
    update["alerts_dropped"] = state.alerts_dropped + lost

    notified = state.notified[-NOTIFIED_KEPT:]
    update["notified"] = notified
    update["notified_omitted"] = state.notified_omitted + len(state.notified) - len(notified)
    return state.model_copy(update=update)


def _bounded_alerts(alerts: list[Alert]) -> tuple[list[Alert], int]:
    """Every firing alert (the first :data:`FIRING_WHOLE` whole) and at most
    :data:`CARRIED_AT_MOST` resolved ones, the newest; and how many resolved were dropped."""
    resolved = sum(1 for a in alerts if a.status == "resolved")
    drop = max(0, resolved - CARRIED_AT_MOST)
    kept: list[Alert] = []
    firing = 0
    for alert in alerts:
        if alert.status == "resolved":
            if drop:
                drop -= 1
                continue
        else:
            firing += 1
            if firing > FIRING_WHOLE:
                alert = slim(alert)  # noqa: PLW2901 - the carried copy replaces it
        kept.append(alert)
    return kept, max(0, resolved - CARRIED_AT_MOST)


def slim(alert: Alert) -> Alert:
    """The alert without what neither decides nor identifies it (labels, annotations…)."""
    return Alert(
        fingerprint=alert.fingerprint,
        status=alert.status,
        summary=alert.summary,
        severity=alert.severity,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        source_url=alert.source_url,
    )
