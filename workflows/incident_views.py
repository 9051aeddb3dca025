"""What people and the Temporal Web UI see of an incident: its channel's name, its
one-line summary, its search attributes and its *Current Details*."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

from workflows import search
from workflows.durations import format_duration
from workflows.incident_models import AnnouncementMail, IncidentState


def channel_name(incident_id: str, title: str) -> str:
    """``#inc-42-search-is-down``: lowercase, dashes, at most 80 characters (Slack's limit)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"#{incident_id.lower()}-{slug}"[:80].rstrip("-")


def incident_summary(state: IncidentState) -> str:
    return f"{state.id} · {state.severity} · {state.title}"[:200]


def incident_search_attributes(state: IncidentState) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(search.KIND, "incident"),
        SearchAttributePair(search.TEAM, state.team),
        SearchAttributePair(search.SEVERITY, state.severity),
        SearchAttributePair(search.STATUS, state.status.value),
    ]
    if state.service:
        pairs.append(SearchAttributePair(search.SERVICE, state.service))
    if state.lead:
        pairs.append(SearchAttributePair(search.LEAD, state.lead))
    return TypedSearchAttributes(pairs)


def search_updates(
    status: str, severity: str, lead: str | None
) -> list[SearchAttributeUpdate[str]]:
    """The incident's search attributes that change as it moves (lead unset while none)."""
    return [
        search.STATUS.value_set(status),
        search.SEVERITY.value_set(severity),
        search.LEAD.value_set(lead) if lead else search.LEAD.value_unset(),
    ]


def render_incident_details(s: IncidentState, now: datetime) -> str:
    """Markdown for the Web UI's Current Details."""
    age = format_duration(timedelta(seconds=max(int((now - s.declared_at).total_seconds()), 1)))
    decision: str = s.rollback.decision or "undecided"
    if s.rollback.result is not None:
        decision += f" → {'ok' if s.rollback.result.ok else 'failed'}"
    last = s.updates[-1].text if s.updates else "—"
    return "\n\n".join(
        [
            f"**{s.status.value.upper()}** · `{s.id}` · severity `{s.severity}` · declared {age} ago",
            f"**Lead:** {s.lead or '—'} · **Messenger:** {s.messenger or '—'} · **Owner:** {s.resolution_owner or '—'}",
            f"**Rollback:** {decision}",
            f"**Summary:** {s.summary or '—'}",
            f"**Last update:** {last}",
            f"**Channel:** {s.channel or '—'}",
        ]
    )


def card_text(s: IncidentState) -> str:
    """The incident card as text (what a chat without cards shows, and the timeline keeps)."""
    lines = [
        f"*{s.id}* · {s.severity} · {s.title}",
        f"Declared by {s.declared_by}" + (f" · service `{s.service}`" if s.service else ""),
    ]
    if s.description:
        lines.append(s.description)
    flags = [
        f for f, on in (("customer impact", s.customer_impact), ("security", s.security)) if on
    ]
    if flags:
        lines.append("Flags: " + ", ".join(flags))
    lines.append(f"Lead: {s.lead or 'nobody yet — take it'} · Messenger: {s.messenger or '—'}")
    return "\n".join(lines)


def announcement_mail(s: IncidentState, to: list[str], was: str | None = None) -> AnnouncementMail:
    """The announcement mailed to a severity's ``email:`` targets: at declaration, or when
    the incident changed to that severity (``was``: the severity before)."""
    if was is None:
        subject = f"[{s.severity}] {s.id} declared: {s.title}"
        headline = f"{s.id} · {s.severity} · {s.title}"
    else:
        subject = f"[{s.severity}] {s.id} is now {s.severity} (was {was}): {s.title}"
        headline = f"{s.id} · {s.severity} (was {was}) · {s.title}"
    declared = s.declared_at.astimezone(UTC)
    lines = [
        headline,
        "",
        f"Declared by {s.declared_by}, {declared:%Y-%m-%d %H:%M} UTC",
        f"Team: {s.team}" + (f" · service {s.service}" if s.service else ""),
        f"Lead: {s.lead or 'nobody yet'} · status {s.status.value}",
    ]
    if s.summary:
        lines += ["", f"Summary: {s.summary}"]
    if s.description:
        lines += ["", s.description]
    if s.channel:
        lines += ["", f"Follow it in {s.channel}"]
    return AnnouncementMail(incident_id=s.id, to=to, subject=subject[:250], body="\n".join(lines))


def channel_topic(s: IncidentState) -> str:
    return f"{s.id} · {s.severity} · {s.status.value} · lead: {s.lead or 'nobody yet'} · {s.title}"
