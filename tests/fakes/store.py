"""The incident log and the archive in memory: the ``Store`` port for workflow tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workflows.archive_models import AlertSpill, TimelineEntries, TimelineSpill
from workflows.incident_models import IncidentRecord, LogQuery
from workflows.models import Alert, AlertList, TimelineEntry
from workflows.rotation_models import ReportQuery, ShiftReport


@dataclass
class MemoryStore:
    """Keeps the latest row per incident, every upsert in order, and the archive by
    (subject, seq) like the SQL store (a spill written twice is kept once)."""

    rows: dict[str, IncidentRecord] = field(default_factory=dict)
    upserts: list[IncidentRecord] = field(default_factory=list)
    timelines: dict[str, dict[int, TimelineEntry]] = field(default_factory=dict)
    alerts: dict[str, dict[int, Alert]] = field(default_factory=dict)
    spills: list[TimelineSpill | AlertSpill] = field(default_factory=list)
    # Issues linked to follow-ups: (repo in lower case, number) → incidents.
    followup_issues: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    # Shifts' on-call reports by id (a report kept again replaces the first).
    shift_reports: dict[str, ShiftReport] = field(default_factory=dict)

    async def upsert_incident(self, record: IncidentRecord) -> None:
        self.upserts.append(record)
        self.rows[record.id] = record

    async def list_incidents(self, query: LogQuery) -> list[IncidentRecord]:
        rows = sorted(self.rows.values(), key=lambda r: r.declared_at)
        if query.since is not None:
            rows = [r for r in rows if r.declared_at >= query.since]
        if query.severity is not None:
            rows = [r for r in rows if r.severity == query.severity]
        return rows[: query.limit]

    async def archive_timeline(self, spill: TimelineSpill) -> None:
        self.spills.append(spill)
        kept = self.timelines.setdefault(spill.subject, {})
        for i, entry in enumerate(spill.entries):
            kept.setdefault(spill.start + i, entry)

    async def read_timeline(
        self, subject: str, offset: int = 0, limit: int = 500
    ) -> TimelineEntries:
        kept = self.timelines.get(subject, {})
        found = [kept[seq] for seq in sorted(kept) if seq >= offset][:limit]
        return TimelineEntries(total=len(kept), entries=found, offset=offset, archived=len(kept))

    async def archive_alerts(self, spill: AlertSpill) -> None:
        self.spills.append(spill)
        kept = self.alerts.setdefault(spill.subject, {})
        for i, alert in enumerate(spill.alerts):
            kept.setdefault(spill.start + i, alert)

    async def read_alerts(self, subject: str, offset: int = 0, limit: int = 500) -> AlertList:
        kept = self.alerts.get(subject, {})
        found = [kept[seq] for seq in sorted(kept) if seq >= offset][:limit]
        return AlertList(total=len(kept), alerts=found, archived=len(kept))

    async def remember_followup_issue(
        self, repo: str, number: int, incident_id: str, at: datetime
    ) -> None:
        kept = self.followup_issues.setdefault((repo.lower(), number), [])
        if incident_id not in kept:
            kept.append(incident_id)

    async def incidents_for_issue(self, repo: str, number: int) -> list[str]:
        return list(self.followup_issues.get((repo.lower(), number), []))

    async def keep_shift_report(self, report: ShiftReport) -> None:
        assert report.id is not None
        self.shift_reports[report.id] = report

    async def list_shift_reports(self, query: ReportQuery) -> list[ShiftReport]:
        found = [
            r
            for r in self.shift_reports.values()
            if query.rotation in (None, r.rotation)
            and (query.person is None or query.person in r.holders.values())
            and (query.since is None or r.end >= query.since)
        ]
        return sorted(found, key=lambda r: r.start, reverse=True)[: query.limit]

    async def get_shift_report(self, report_id: str) -> ShiftReport | None:
        return self.shift_reports.get(report_id)
