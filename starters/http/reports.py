"""REST routes for the shifts' on-call reports, as kept in the SQL store at each handoff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from activities.errors import AdapterError
from activities.ports import ShiftReports
from starters.errors import InvalidRequest
from starters.http.auth import api_router
from starters.incident_log import parse_when
from workflows.rotation_models import RecoveryDay, ReportQuery, ShiftReport

NOT_KEPT = "on-call reports are not kept in this process (no store)"
UNAVAILABLE = "the report store is unavailable, try again"
SINCE_HELP = (
    "Shifts that ended since: a duration back from now (7d, 12h) or an ISO 8601 date/time "
    "(UTC without offset)."
)


class ReportListItem(BaseModel):
    """A kept on-call report in a list: the shift, who held it and what happened, in counts
    (``GET /api/reports/{id}`` has the whole report and its text)."""

    id: str
    rotation: str
    team: str | None = None
    start: datetime
    end: datetime
    timezone: str | None = None
    holders: dict[str, str | None]
    pages: int = Field(description="Pages of the shift, test pages left out")
    off_hours_pages: int
    incidents: list[str] = Field(description="Incidents declared during the shift")
    notes: int
    test_page_acknowledged_by: str | None = None
    recovery: list[RecoveryDay]

    @classmethod
    def of(cls, report: ShiftReport) -> ReportListItem:
        pages = [p for p in report.activity.pages if not p.test]
        return cls(
            id=report.id or "",
            rotation=report.rotation,
            team=report.team,
            start=report.start,
            end=report.end,
            timezone=report.timezone,
            holders=report.holders,
            pages=len(pages),
            off_hours_pages=sum(1 for p in pages if p.off_hours),
            incidents=[i.id for i in report.activity.incidents],
            notes=len(report.notes),
            test_page_acknowledged_by=report.test_page_acknowledged_by,
            recovery=report.recovery,
        )


def kept_reports(request: Request) -> ShiftReports:
    store = getattr(request.app.state, "store", None)
    if not isinstance(store, ShiftReports):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_KEPT)
    return store


KeptReports = Annotated[ShiftReports, Depends(kept_reports)]

router = api_router("/api", "on-call reports")


@router.get("/reports", response_model=list[ReportListItem])
async def list_reports(
    store: KeptReports,
    rotation: Annotated[str | None, Query(max_length=64)] = None,
    person: Annotated[
        str | None, Query(max_length=128, description="On call, or suggested a recovery day")
    ] = None,
    since: Annotated[str | None, Query(description=SINCE_HELP, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReportListItem]:
    """Kept on-call reports, newest shift first; a rotation or person no longer configured
    still has its reports."""
    start = None
    if since is not None:
        try:
            start = parse_when(since, datetime.now(UTC))
        except ValueError as err:
            raise InvalidRequest(f"since: {err}") from None
    query = ReportQuery(rotation=rotation, person=person, since=start, limit=limit)
    try:
        found = await store.list_shift_reports(query)
    except AdapterError as err:
        # The adapter logged the cause; the caller only needs to know to try again.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from err
    return [ReportListItem.of(r) for r in found]


@router.get(
    "/reports/{report_id}",
    response_model=ShiftReport,
    responses={404: {"description": "No report is kept under this id"}},
)
async def get_report(
    store: KeptReports,
    report_id: Annotated[
        str, Path(max_length=160, description="The shift's id, e.g. shift-delivery-20261123T1600Z")
    ],
) -> ShiftReport:
    """One kept on-call report: the shift, its pages, incidents, notes, recovery days and
    the text as it was posted."""
    try:
        found = await store.get_shift_report(report_id)
    except AdapterError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from err
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no on-call report {report_id!r}")
    return found
