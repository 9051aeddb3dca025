"""The on-call report and the handoff announcement, as text (pure; times in the rotation's zone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from workflows.durations import format_duration
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    ShiftInput,
    ShiftNote,
    ShiftReport,
)


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


def _holders(holders: dict[str, str | None]) -> str:
    return ", ".join(f"{layer} {person or 'nobody'}" for layer, person in holders.items())


def _page_line(page: PageSummary, zone: str) -> str:
    flags = " [off hours]" if page.off_hours else ""
    if page.acknowledged_at is not None:
        after = format_duration(max(page.acknowledged_at - page.created_at, timedelta(seconds=1)))
        ack = f"acked by {page.acknowledged_by} after {after}"
    else:
        ack = "not acknowledged"
    return f"  - {_local(page.created_at, zone)}{flags} `{page.id}` {page.summary} — {ack} ({page.status})"


def _incident_line(incident: IncidentSummary, zone: str) -> str:
    return (
        f"  - {incident.id} {incident.severity} {incident.title} "
        f"({incident.status}, declared {_local(incident.declared_at, zone)})"
    )


def _notes(notes: list[ShiftNote], zone: str) -> list[str]:
    return [f"  - {_local(n.at, zone)} {n.by}: {n.text}" for n in notes]


def announcement(
    shift: ShiftInput,
    handed_over: ShiftReport | None,
    open_pages: list[PageSummary],
    open_incidents: list[IncidentSummary],
) -> str:
    """The handoff message in the team channel."""
    zone = shift.timezone
    lines = [
        f":arrows_counterclockwise: Handoff of `{shift.rotation}`: {_holders(shift.holders)} "
        f"until {_local(shift.end, zone)}.",
    ]
    if shift.previous_shift is not None:
        if handed_over is None:
            lines.append("The outgoing shift's notes did not arrive (see its report).")
        elif handed_over.notes:
            lines.append(f"Handoff notes from {_holders(handed_over.holders)}:")
            lines += _notes(handed_over.notes, zone)
        else:
            lines.append("The outgoing shift left no notes.")
    if open_pages or open_incidents:
        lines.append("Still open:")
        lines += [_page_line(p, zone) for p in open_pages]
        lines += [_incident_line(i, zone) for i in open_incidents]
    else:
        lines.append("Nothing open.")
    return "\n".join(lines)


def report_text(report: ShiftReport, zone: str) -> str:
    """The on-call report: what happened, what is open, the notes, and a recovery day."""
    activity = report.activity
    pages = [p for p in activity.pages if not p.test]
    off_hours = [p for p in pages if p.off_hours]
    lines = [
        f"On-call report for `{report.rotation}`: {_local(report.start, zone)} → {_local(report.end, zone)}",
        f"On call: {_holders(report.holders)}",
    ]
    if report.test_page is not None:
        acked = report.test_page_acknowledged_by
        lines.append(
            f"Test page `{report.test_page}`: "
            + (
                f"acknowledged by {acked}"
                if acked
                else "NOT acknowledged — check your contact methods"
            )
        )
    lines.append(f"Pages: {len(pages)} ({len(off_hours)} off hours)")
    lines += [_page_line(p, zone) for p in pages]
    lines.append(f"Incidents: {len(activity.incidents)}")
    lines += [_incident_line(i, zone) for i in activity.incidents]
    if activity.open_pages or activity.open_incidents:
        lines.append("Still open at handoff:")
        lines += [_page_line(p, zone) for p in activity.open_pages]
        lines += [_incident_line(i, zone) for i in activity.open_incidents]
    lines.append("Notes:" if report.notes else "Notes: none")
    lines += _notes(report.notes, zone)
    if report.recovery_day:
        people = sorted({p.acknowledged_by for p in off_hours if p.acknowledged_by})
        who = ", ".join(people) or "the on-call engineer"
        lines.append(
            f"Recovery: {len(off_hours)} off-hours page(s) this shift — {who}, take a recovery day."
        )
    return "\n".join(lines)
