"""``GET /api/oncall``: who is on call now, or at a given instant."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from starters.http.pages import Tocsin
from workflows.models import OnCallEntry

router = APIRouter(prefix="/api", tags=["oncall"])


@router.get("/oncall", response_model=list[OnCallEntry])
async def oncall(
    client: Tocsin, team: str | None = None, at: datetime | None = None
) -> list[OnCallEntry]:
    """Each team's rotation layers with the person holding them and until when."""
    return await client.oncall(team, at)
