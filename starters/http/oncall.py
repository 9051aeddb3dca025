"""``GET /api/oncall``: who is on call now, or at a given instant."""

from __future__ import annotations

from fastapi import APIRouter

from starters.http.auth import API_AUTH
from starters.http.guard import GuardedRoute
from starters.http.pages import Tocsin
from starters.http.problems import API_REFUSALS
from workflows.instants import Instant
from workflows.models import OnCallEntry

router = APIRouter(
    prefix="/api",
    tags=["oncall"],
    dependencies=API_AUTH,
    responses=API_REFUSALS,
    route_class=GuardedRoute,
)


@router.get("/oncall", response_model=list[OnCallEntry])
async def oncall(
    client: Tocsin, team: str | None = None, at: Instant | None = None
) -> list[OnCallEntry]:
    """Each team's rotation layers with the person holding them and until when."""
    return await client.oncall(team, at)
