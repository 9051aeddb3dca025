"""The contract of a watch's page: what a heartbeat or an uptime check tells the page
it opens (or resolves) when it goes wrong (or recovers)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

WatchKind = Literal["heartbeat", "check"]


class WatchAlert(BaseModel):
    """A watch is failing (``firing``), or has recovered.

    Firing opens the watch's page, or updates the one open; recovery resolves it. Every
    watch has at most one page at a time (its key is ``<kind>-<name>``).
    """

    kind: WatchKind
    name: str = Field(min_length=1, max_length=200)
    firing: bool
    summary: str = Field(min_length=1, max_length=1024)
    details: str | None = Field(default=None, max_length=16_000)
    # Where the page goes: the watch's service (its team, policy and urgency map) or team.
    service: str | None = None
    team: str | None = None
    # The page's urgency when the watch says; None: the severity's for the service.
    urgency: Literal["high", "low"] | None = None
    severity: str | None = "critical"

    @property
    def key(self) -> str:
        """The page key: one page per watch at a time."""
        return f"{self.kind}-{self.name}"


__all__ = ["WatchAlert", "WatchKind"]
