"""What Tocsin asks of a chat (Slack, or the console): incident channels, invitations,
posts, topics, and the incident card kept current in the channel."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from workflows.incident_models import IncidentState, IncidentStatus
from workflows.models import PageCard


class IncidentCard(BaseModel):
    """An incident as its pinned chat card shows it (buttons while it is open)."""

    kind: Literal["incident"] = "incident"
    id: str
    title: str
    severity: str
    status: IncidentStatus
    service: str | None = None
    channel: str | None = None
    lead: str | None = None
    messenger: str | None = None
    rollback: Literal["roll_back", "revert", "not_now"] | None = None
    rollback_by: str | None = None
    rollback_running: bool = False
    rollback_ok: bool | None = None
    resolution: Literal["fixed", "rolled_back", "false_positive"] | None = None
    resolved_by: str | None = None
    resolution_summary: str | None = None
    last: str | None = None

    @classmethod
    def of(cls, s: IncidentState) -> IncidentCard:
        last = s.timeline[-1] if s.timeline else None
        return cls(
            id=s.id,
            title=s.title,
            severity=s.severity,
            status=s.status,
            service=s.service,
            channel=s.channel,
            lead=s.lead,
            messenger=s.messenger,
            rollback=s.rollback.decision,
            rollback_by=s.rollback.decided_by,
            rollback_running=s.rollback.running,
            rollback_ok=s.rollback.result.ok if s.rollback.result else None,
            resolution=s.resolution,
            resolved_by=s.resolved_by,
            resolution_summary=s.resolution_summary,
            last=(f"{last.by}: {last.text}" if last.by else last.text) if last else None,
        )


class ChannelRequest(BaseModel):
    incident_id: str
    name: str
    private: bool
    members: list[str]


class ChannelInvite(BaseModel):
    channel: str
    people: list[str]


class ChatPost(BaseModel):
    """Post ``text`` (or the ``card``) to a channel, or replace message ``replace`` there."""

    channel: str
    text: str
    card: Annotated[IncidentCard | PageCard, Field(discriminator="kind")] | None = None
    replace: str | None = None
    pin: bool = False


class ChannelTopic(BaseModel):
    channel: str
    topic: str


class ChannelRef(BaseModel):
    channel: str
