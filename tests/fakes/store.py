"""The incident log in memory: the ``Store`` port for workflow tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from workflows.incident_models import IncidentRecord, LogQuery


@dataclass
class MemoryStore:
    """Keeps the latest row per incident, and every upsert in order."""

    rows: dict[str, IncidentRecord] = field(default_factory=dict)
    upserts: list[IncidentRecord] = field(default_factory=list)

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
