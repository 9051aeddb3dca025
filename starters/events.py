"""PagerDuty Events API v2 compatible events: the body any PagerDuty integration sends."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from starters.wire import WireTime
from workflows.models import Alert


class EventPayload(BaseModel):
    """``payload`` of a trigger event."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=255)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: WireTime | None = None
    component: str | None = Field(default=None, max_length=255)
    group: str | None = Field(default=None, max_length=255)
    class_: str | None = Field(default=None, alias="class", max_length=255)
    custom_details: Any = None


class Link(BaseModel):
    href: str = Field(min_length=1, max_length=2048)
    text: str | None = Field(default=None, max_length=1024)


class Image(BaseModel):
    src: str = Field(min_length=1, max_length=2048)
    href: str | None = Field(default=None, max_length=2048)
    alt: str | None = Field(default=None, max_length=1024)


class Event(BaseModel):
    """An Events API v2 event: trigger, acknowledge or resolve."""

    model_config = ConfigDict(
        extra="ignore",
        # What _required checks, said in the schema: a trigger carries a payload, the other
        # actions name the alert by its dedup_key.
        json_schema_extra={
            "if": {"properties": {"event_action": {"const": "trigger"}}},
            "then": {
                "required": ["payload"],
                "properties": {"payload": {"type": "object"}},
            },
            "else": {
                "required": ["dedup_key"],
                "properties": {"dedup_key": {"type": "string", "minLength": 1}},
            },
        },
    )

    routing_key: str = Field(min_length=1, max_length=128)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: EventPayload | None = None
    client: str | None = Field(default=None, max_length=255)
    client_url: str | None = Field(default=None, max_length=2048)
    links: list[Link] = Field(default_factory=list, max_length=50)
    images: list[Image] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _required(self) -> Event:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("'payload' is required for a trigger event")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"'dedup_key' is required for an {self.event_action} event")
        return self


def event_page_key(owner: str, dedup_key: str) -> str:
    """The page for a dedup key of one integration (service or team)."""
    digest = hashlib.sha256(f"{owner}\x00{dedup_key}".encode()).hexdigest()
    return f"ev-{digest[:20]}"


def to_alert(event: Event, dedup_key: str) -> Alert:
    """The alert an event describes; a resolve event resolves the alert of its dedup key."""
    payload = event.payload
    labels = {}
    if payload is not None:
        labels = {
            k: v
            for k, v in {
                "source": payload.source,
                "component": payload.component,
                "group": payload.group,
                "class": payload.class_,
            }.items()
            if v
        }
    links = [{"href": link.href, "text": link.text or link.href} for link in event.links]
    links += [
        {"href": image.href or image.src, "text": image.alt or "image"} for image in event.images
    ]
    details = payload.custom_details if payload is not None else None
    return Alert(
        fingerprint=dedup_key,
        status="resolved" if event.event_action == "resolve" else "firing",
        summary=payload.summary if payload else dedup_key,
        severity=payload.severity if payload else None,
        labels=labels,
        starts_at=payload.timestamp if payload else None,
        source_url=event.client_url,
        links=links,
        details=details
        if isinstance(details, dict)
        else ({"details": details} if details else None),
    )
