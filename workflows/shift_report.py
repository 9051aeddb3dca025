"""The on-call report and the handoff announcement, as text (pure; times in the rotation's zone),
and the recovery days a report suggests.

:func:`report_text` is the report as the built-in template
(``activities/templates/oncall_report.md.j2``) renders it: the shift posts it when the
configured template cannot be rendered, and shifts that began before reports were kept
post it as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from workflows.durations import format_duration
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    RecoveryDay,
    ShiftInput,
    ShiftNote,
    ShiftReport,
    TeamActivity,
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
    for person, why in sorted(shift.unreachable.items()):
        lines.append(
            f":warning: Tocsin cannot reach {person}: {why}. Their pages go to the next "
            "step at once until a contact method works (`tocsin config check` lists them)."
        )
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


def recovery_days(activity: TeamActivity, holders: dict[str, str | None]) -> list[RecoveryDay]:
    """A recovery day for each person who answered an off-hours page or worked an incident
    of the shift, with the pages and incidents; an off-hours page nobody answered counts for
    the holder of the first layer (it woke them). People in name order."""
    first = next(iter(holders.values()), None)
    days: dict[str | None, RecoveryDay] = {}
    for page in activity.pages:
        if page.off_hours and not page.test:
            who = page.acknowledged_by or first
            days.setdefault(who, RecoveryDay(person=who)).off_hours_pages.append(page.id)
    for incident in activity.incidents:
        for who in incident.worked_by:
            days.setdefault(who, RecoveryDay(person=who)).incidents.append(incident.id)
    return sorted(days.values(), key=lambda d: (d.person is None, d.person or ""))


def _recovery_line(day: RecoveryDay, incidents: dict[str, IncidentSummary]) -> str:
    reasons = []
    if day.off_hours_pages:
        count = len(day.off_hours_pages)
        ids = ", ".join(f"`{p}`" for p in day.off_hours_pages)
        reasons.append(f"{count} off-hours page{'' if count == 1 else 's'} ({ids})")
    for found in day.incidents:
        incident = incidents.get(found)
        reasons.append(f"incident {found}" + (f" ({incident.title})" if incident else ""))
    who = day.person or "the on-call engineer"
    return f"Recovery: {who}, take a recovery day — {'; '.join(reasons)}."


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
    if report.recovery:
        incidents = {i.id: i for i in activity.incidents}
        lines += [_recovery_line(day, incidents) for day in report.recovery]
    elif report.recovery_day:
        people = sorted({p.acknowledged_by for p in off_hours if p.acknowledged_by})
        who = ", ".join(people) or "the on-call engineer"
        lines.append(
            f"Recovery: {len(off_hours)} off-hours page(s) this shift — {who}, take a recovery day."
        )
    return "\n".join(lines)
