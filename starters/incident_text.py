"""Incidents as the terminal shows them (``tocsin incident list`` and ``show``)."""

from __future__ import annotations

from datetime import UTC

from starters.clients.incidents import IncidentListItem
from workflows.actors import actor_label
from workflows.incident_models import IncidentState


def incident_list_text(items: list[IncidentListItem]) -> str:
    rows = [
        f"{i.id:<12} {i.status:<9} {i.severity:<10} {i.lead or '-':<12} {i.title}" for i in items
    ]
    return "\n".join(rows) or "no incidents"


def incident_text(s: IncidentState) -> str:
    rollback: str = s.rollback.decision or "undecided"
    if s.rollback.running or s.rollback.requested:
        rollback += " (running)"
    elif s.rollback.result is not None:
        rollback += f" → {'ok' if s.rollback.result.ok else 'failed'}: {s.rollback.result.summary}"
    if s.rollback.resolved_it is not None:
        rollback += f" ({'resolved it' if s.rollback.resolved_it else 'did not resolve it'})"
    lines = [
        f"incident  {s.id}",
        f"title     {s.title}",
        *([f"summary   {s.summary}"] if s.summary else []),
        f"status    {s.status.value}",
        f"severity  {s.severity}",
        f"team      {s.team}" + (f" (service {s.service})" if s.service else ""),
        f"lead      {s.lead or '-'}",
        f"messenger {s.messenger or '-'}",
        f"owner     {s.resolution_owner or '-'}",
        f"channel   {s.channel or '-'}",
        f"rollback  {rollback}",
    ]
    if s.resolved_by:
        lines.append(f"resolved  {s.resolution} by {s.resolved_by}: {s.resolution_summary}")
    if s.postmortem_url:
        done = " (done)" if s.postmortem_done else ""
        lines.append(f"postmortem {s.postmortem_url}{done}")
    if s.followups:
        lines.append("follow-ups")
        lines += [
            f"  #{f.number} {f.state:<7} {f.title}"
            + (f" ({f.assignee})" if f.assignee else "")
            + (f"  {f.issue_url}" if f.issue_url else "")
            for f in s.followups
        ]
    # What was said in the channel repeats the timeline: leave it to --json.
    entries = [e for e in s.timeline if e.kind != "chat"]
    if entries:
        lines.append("timeline")
        lines += [
            f"  {e.at.astimezone(UTC):%Y-%m-%d %H:%M:%S %Z}  {e.kind:<17} "
            + (e.text.splitlines()[0] if e.text else "")
            + (f"  [{actor_label(e.by, e.via)}]" if e.via else "")
            for e in entries
        ]
    return "\n".join(lines)
