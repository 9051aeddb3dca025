"""``GET /api/oncall``: who is on call now, or at a given instant."""

from __future__ import annotations

from starters.http.auth import api_router
from starters.http.pages import Tocsin
from workflows.instants import Instant
from workflows.models import OnCallEntry

router = api_router("/api", "oncall")


@router.get("/oncall", response_model=list[OnCallEntry])
async def oncall(
    client: Tocsin, team: str | None = None, at: Instant | None = None
) -> list[OnCallEntry]:
    """Each team's rotation layers with the person holding them and until when."""
    return await client.oncall(team, at)
