"""What people and the Temporal Web UI see of a page: its one-line summary, the search
attributes it starts with, its *Current Details* and the bounded view queries return.

Pure functions of the page contract (``workflows.models``); the workflow, the activities
and the clients all use these, so none of them imports the workflow module.
"""

from __future__ import annotations

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from workflows import search
from workflows.archive_models import TimelineEntries, TimelineSlice
from workflows.models import Alert, AlertList, AlertQuery, PageState, PageStatus

MAX_ALERTS_SHOWN = 100


TIMELINE_HEAD = 50


TIMELINE_TAIL = 450


def initial_search_attributes(
    team: str, service: str | None = None, severity: str | None = None
) -> TypedSearchAttributes:
    """Attributes a page starts with, so it is listed before its first task runs."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(search.KIND, "page"),
        SearchAttributePair(search.TEAM, team),
        SearchAttributePair(search.STATUS, PageStatus.triggered.value),
    ]
    if service:
        pairs.append(SearchAttributePair(search.SERVICE, service))
    if severity:
        pairs.append(SearchAttributePair(search.SEVERITY, severity))
    return TypedSearchAttributes(pairs)


def page_summary(team: str, summary: str) -> str:
    """The one-line summary shown in the Temporal Web UI's workflow list."""
    return f"[{team}] {summary}"[:200]


def render_details(state: PageState, firing: int | None = None) -> str:
    """Markdown shown as *Current Details* in the Temporal Web UI (``firing``: the number
    of firing alerts when the caller keeps count, so a storm does not count them again)."""
    head = f"**{state.status.value.upper()}** · team `{state.team}` · page `{state.id}`"
    if state.service:
        head += f" · service `{state.service}`"
    if state.severity:
        head += f" · severity `{state.severity}`"
    if state.urgency == "low":
        head += " · *low urgency*"
    lines = [head]
    if state.unrouted:
        lines.append("**Unrouted:** no route matched; sent to the default route")
    if state.alerts or state.alerts_archived:
        firing = count_alerts(state.alerts, "firing") if firing is None else firing
        resolved = len(state.alerts) - firing + state.alerts_archived
        lines.append(f"**Alerts:** {firing} firing, {resolved} resolved")
    lines += _history_lines(state)
    if state.step:
        step = f"step {state.step}/{state.step_count}"
        if state.repeat:
            step += f", round {state.round + 1}/{state.repeat + 1}"
        lines.append(f"**Escalation:** {step} of policy `{state.policy}`")
    if state.next_escalation_at and state.status == PageStatus.triggered:
        lines.append(f"**Next escalation:** {state.next_escalation_at:%Y-%m-%d %H:%M:%S} UTC")
    if state.escalation_exhausted and state.status == PageStatus.triggered:
        lines.append("**Nobody acknowledged** after every step")
    notified = [
        f"{n.person} ({n.method}{'' if n.ok else ' failed'}, step {n.step})" for n in state.notified
    ]
    lines.append(f"**Notified:** {', '.join(notified) or '—'}")
    if state.acknowledged_by:
        lines.append(
            f"**Acknowledged by:** {state.acknowledged_by} at {state.acknowledged_at:%H:%M:%S} UTC"
        )
    if state.resolved_by:
        lines.append(f"**Resolved by:** {state.resolved_by} at {state.resolved_at:%H:%M:%S} UTC")
    return "\n\n".join(lines)


def _history_lines(state: PageState) -> list[str]:
    lines: list[str] = []
    if state.flaps:
        lines.append(f"**Flaps:** {state.flaps}")
    if state.continued:
        lines.append(
            f"**Archived:** {state.timeline_archived} timeline entries, "
            f"{state.alerts_archived} resolved alerts (run {state.continued + 1})"
        )
    return lines


def bounded_view(state: PageState) -> PageState:
    """The state as queries and updates return it: never near Temporal's 2 MiB payload limit.

    An alert storm can put thousands of alerts and timeline entries on one page. The view
    keeps up to 100 alerts (firing first; all of them through ``get_alerts``) and the first
    50 and last 450 timeline entries it holds, and says how many it left out. A page that
    continued as new holds only its newest entries and resolved alerts: ``alerts_total``
    counts the archived alerts too, ``timeline_archived`` says how many entries came first.
    """
    alerts = state.alerts
    firing = [a for a in alerts if a.status == "firing"]
    update: dict[str, object] = {
        "alerts_total": len(alerts) + state.alerts_archived,
        "alerts_firing": len(firing),
    }
    if len(alerts) > MAX_ALERTS_SHOWN:
        resolved = [a for a in alerts if a.status != "firing"]
        update["alerts"] = (firing + resolved)[:MAX_ALERTS_SHOWN]
    timeline = state.timeline
    if len(timeline) > TIMELINE_HEAD + TIMELINE_TAIL:
        update["timeline"] = timeline[:TIMELINE_HEAD] + timeline[-TIMELINE_TAIL:]
        update["timeline_omitted"] = len(timeline) - TIMELINE_HEAD - TIMELINE_TAIL
    return state.model_copy(update=update)


def alert_slice(state: PageState, query: AlertQuery) -> AlertList:
    """A slice of the alerts the page holds, and how many it archived."""
    return AlertList(
        total=len(state.alerts),
        alerts=state.alerts[query.offset : query.offset + query.limit],
        archived=state.alerts_archived,
    )


def timeline_slice(state: PageState, query: TimelineSlice) -> TimelineEntries:
    """The entries of ``query``'s range that the page holds, from sequence number ``offset``
    on (those before ``state.timeline_archived`` are in the archive)."""
    first = state.timeline_archived
    start = max(query.offset, first)
    end = max(query.offset + query.limit, start)
    return TimelineEntries(
        total=first + len(state.timeline),
        entries=state.timeline[start - first : end - first],
        offset=start,
        archived=first,
    )


def alert_listing(alerts: list[Alert], shown: int = 5) -> str:
    """``Alert: x`` or ``3 alerts: x; y; z``, naming at most ``shown`` (storms stay readable)."""
    names = "; ".join(a.summary for a in alerts[:shown])
    if len(alerts) > shown:
        names += f"; and {len(alerts) - shown} more"
    return f"Alert: {names}" if len(alerts) == 1 else f"{len(alerts)} alerts: {names}"


def count_alerts(alerts: list[Alert], status: str) -> int:
    return sum(1 for a in alerts if a.status == status)
