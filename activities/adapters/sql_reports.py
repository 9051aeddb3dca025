"""On-call reports in SQL, kept for good (Temporal forgets finished shifts after its
retention): one row per shift's report, and who it concerns (the people on call, and those
it suggests a recovery day) for finding a person's reports. Part of
:class:`~activities.adapters.sql_store.SqlStore` (same database, same migrations:
``migrations/versions/0007_shift_reports.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Index, String, Table, Text, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from activities.adapters.sql_schema import READ_ONLY, UtcDateTime, as_utc, metadata
from workflows.rotation_models import ReportQuery, ShiftReport

if TYPE_CHECKING:
    from activities.adapters.sql_store import SqlStore

# Registered on the store's metadata, so that the migrations are compared with it too.
shift_reports = Table(
    "shift_reports",
    metadata,
    Column("id", String(160), primary_key=True),
    Column("rotation", String(64), nullable=False),
    Column("team", String(128), nullable=True),
    Column("shift_start", UtcDateTime, nullable=False),
    Column("shift_end", UtcDateTime, nullable=False),
    # The whole report (JSON), its text included.
    Column("report", Text, nullable=False),
    Column("kept_at", UtcDateTime, nullable=False),
    Index("ix_shift_reports_shift_start", "shift_start"),
    Index("ix_shift_reports_rotation_shift_start", "rotation", "shift_start"),
)

shift_report_people = Table(
    "shift_report_people",
    metadata,
    Column("report_id", String(160), primary_key=True),
    Column("person", String(128), primary_key=True),
    Index("ix_shift_report_people_person", "person"),
)


def concerned(report: ShiftReport) -> set[str]:
    """Whom a report concerns: who held a layer, and who it suggests a recovery day."""
    return {p for p in report.holders.values() if p} | {
        d.person for d in report.recovery if d.person
    }


class SqlShiftReports:
    """Reports by id; a report kept again (a retried activity) replaces its row."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def keep_shift_report(self, report: ShiftReport) -> None:
        """Store ``report`` under its id (which it must have), replacing an earlier copy."""
        if report.id is None:
            raise ValueError("a report is kept under its id: this one has none")
        await self._store.migrate()
        row = {
            "id": report.id,
            "rotation": report.rotation,
            "team": report.team,
            "shift_start": as_utc(report.start),
            "shift_end": as_utc(report.end),
            "report": report.model_dump_json(),
            "kept_at": datetime.now(UTC),
        }
        insert = postgresql.insert if not self._store.sqlite else sqlite.insert
        stmt = insert(shift_reports).values(**row)
        upsert = stmt.on_conflict_do_update(
            index_elements=[shift_reports.c.id],
            set_={name: stmt.excluded[name] for name in row if name != "id"},
        )
        people = shift_report_people.c
        async with (
            self._store.guard("keep shift report", report_id=report.id),
            self._store.engine.begin() as conn,
        ):
            await conn.execute(upsert)
            await conn.execute(delete(shift_report_people).where(people.report_id == report.id))
            for person in sorted(concerned(report)):
                await conn.execute(
                    shift_report_people.insert().values(report_id=report.id, person=person)
                )

    async def list_shift_reports(self, query: ReportQuery) -> list[ShiftReport]:
        """Reports matching ``query``, newest shift first, at most ``query.limit``."""
        await self._store.migrate()
        rows = shift_reports.c
        stmt = select(rows.report)
        if query.rotation is not None:
            stmt = stmt.where(rows.rotation == query.rotation)
        if query.person is not None:
            about = select(shift_report_people.c.report_id).where(
                shift_report_people.c.person == query.person
            )
            stmt = stmt.where(rows.id.in_(about))
        if query.since is not None:
            stmt = stmt.where(rows.shift_end >= as_utc(query.since))
        stmt = stmt.order_by(rows.shift_start.desc(), rows.id.desc()).limit(query.limit)
        async with self._store.guard("list shift reports"), self._store.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            found = (await conn.execute(stmt)).scalars().all()
        return [ShiftReport.model_validate_json(text) for text in found]

    async def get_shift_report(self, report_id: str) -> ShiftReport | None:
        """The report kept under ``report_id``, or None."""
        await self._store.migrate()
        stmt = select(shift_reports.c.report).where(shift_reports.c.id == report_id)
        async with (
            self._store.guard("read shift report", report_id=report_id),
            self._store.engine.connect() as conn,
        ):
            await conn.execution_options(**{READ_ONLY: True})
            found = (await conn.execute(stmt)).scalar_one_or_none()
        return None if found is None else ShiftReport.model_validate_json(found)
