"""Opsgenie Alert API v2 compatible requests: the bodies Opsgenie's senders post, what they
mean to a page, and the request ids Tocsin answers with.

Opsgenie answers every alert request 202 with a ``requestId`` and processes it later; its
``GET /v2/alerts/requests/{requestId}`` then says what happened. Tocsin processes the
request before it answers, so the outcome is known at once: the request id *is* the
outcome, signed, and the status route reads it back. Nothing is stored, every API replica
can answer it, and a request id cannot be made up (it is signed with a key derived from
the API token; rotating the token retires old ids, which then answer 404).

A request id says which integration sent the request: only that integration's key can
read its status.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from starters.links import b64url, unb64url
from workflows.models import Alert

# Opsgenie's documented limits: longer text is cut to fit, as Opsgenie does.
MESSAGE_LIMIT = 130
DESCRIPTION_LIMIT = 15000
TEXT_LIMIT = 512
NOTE_LIMIT = 25000
TAG_LIMIT = 50
TAGS = 20
DETAILS_LIMIT = 8000

Priority = Literal["P1", "P2", "P3", "P4", "P5"]
IdentifierType = Literal["id", "alias", "tiny"]
Action = Literal["Create", "Acknowledge", "Close", "AddNote"]

# Priority → the severity the page gets; the service's config then decides its urgency
# (by default critical and error are high urgency, warning and info low).
SEVERITY: dict[str, str] = {
    "P1": "critical",
    "P2": "error",
    "P3": "warning",
    "P4": "info",
    "P5": "info",
}


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


class Responder(BaseModel):
    """A team, user, escalation or schedule the sender names (by id, name or username)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["team", "user", "escalation", "schedule"]
    id: str | None = Field(default=None, max_length=TEXT_LIMIT)
    name: str | None = Field(default=None, max_length=TEXT_LIMIT)
    username: str | None = Field(default=None, max_length=TEXT_LIMIT)

    def label(self) -> str:
        return f"{self.type} {self.name or self.username or self.id or '?'}"


class CreateAlert(BaseModel):
    """``POST /v2/alerts``: an alert; ``alias`` is its dedup key."""

    model_config = ConfigDict(extra="ignore")

    message: str = Field(min_length=1)
    alias: str | None = Field(default=None, min_length=1, max_length=TEXT_LIMIT)
    description: str | None = None
    responders: list[Responder] = Field(default_factory=list, max_length=50)
    visibleTo: list[Responder] = Field(default_factory=list, max_length=50)  # Opsgenie's field name
    actions: list[str] = Field(default_factory=list, max_length=10)
    tags: list[str] = Field(default_factory=list)
    details: dict[str, str] = Field(default_factory=dict)
    entity: str | None = None
    source: str | None = None
    priority: Priority = "P3"
    user: str | None = None
    note: str | None = None

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Message can not be empty.")
        return value[:MESSAGE_LIMIT]

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        return _cut(value, DESCRIPTION_LIMIT)

    @field_validator("entity", "source", "user")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _cut(value, TEXT_LIMIT)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return _cut(value, NOTE_LIMIT)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [tag[:TAG_LIMIT] for tag in value if tag.strip()][:TAGS]

    @field_validator("details")
    @classmethod
    def _details(cls, value: dict[str, str]) -> dict[str, str]:
        kept: dict[str, str] = {}
        used = 0
        for key, text in value.items():
            used += len(key) + len(text)
            if used > DETAILS_LIMIT:
                break
            kept[key] = text
        return kept


class AlertAction(BaseModel):
    """The body of acknowledge, close and notes (``note`` required for notes)."""

    model_config = ConfigDict(extra="ignore")

    user: str | None = None
    source: str | None = None
    note: str | None = None

    @field_validator("user", "source")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _cut(value, TEXT_LIMIT)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return _cut(value, NOTE_LIMIT)


def said_by(text: str | None, user: str | None) -> str | None:
    """A note as the timeline shows it: the sender's ``user`` is who they say they act
    for, never the actor (that is the integration whose key sent it)."""
    if user and text:
        return f"{text} (sent for {user})"
    if user:
        return f"sent for {user}"
    return text


def to_alert(create: CreateAlert, alias: str, received: datetime) -> Alert:
    """The alert a create request describes."""
    labels = {
        k: v
        for k, v in {
            "source": create.source,
            "entity": create.entity,
            "priority": create.priority,
            "tags": ", ".join(create.tags),
            "responders": ", ".join(r.label() for r in create.responders),
        }.items()
        if v
    }
    details: dict[str, Any] = dict(create.details)
    if create.description:
        details["description"] = create.description
    return Alert(
        fingerprint=alias,
        status="firing",
        summary=create.message,
        severity=SEVERITY[create.priority],
        labels=labels,
        starts_at=received,
        details=details or None,
    )


class RequestStatus(BaseModel):
    """What ``GET /v2/alerts/requests/{requestId}`` answers in ``data``."""

    success: bool
    action: Action
    processedAt: datetime  # Opsgenie's field names
    integrationId: str
    isSuccess: bool
    status: str
    alertId: str
    alias: str


class RequestIds:
    """Signs outcomes into request ids and reads them back."""

    PREFIX = "r1."

    def __init__(self, api_token: str) -> None:
        self._key = hashlib.sha256(b"tocsin opsgenie request ids\x00" + api_token.encode()).digest()

    def issue(self, outcome: RequestStatus) -> str:
        fields = [
            outcome.action,
            outcome.integrationId,
            outcome.alertId,
            outcome.alias,
            int(outcome.processedAt.timestamp() * 1000),
            outcome.isSuccess,
            outcome.status,
        ]
        payload = b64url(json.dumps(fields, separators=(",", ":")).encode())
        return f"{self.PREFIX}{payload}.{self._sign(payload)}"

    def read(self, request_id: str, integration: str) -> RequestStatus | None:
        """The outcome ``request_id`` records, if it is one Tocsin issued to ``integration``."""
        if not request_id.startswith(self.PREFIX):
            return None
        payload, _, signature = request_id.removeprefix(self.PREFIX).partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        try:
            action, sender, alert_id, alias, millis, ok, status = json.loads(unb64url(payload))
        except (ValueError, TypeError, binascii.Error):
            return None
        if sender != integration:
            return None
        return RequestStatus(
            success=True,
            action=action,
            processedAt=datetime.fromtimestamp(millis / 1000, UTC),
            integrationId=sender,
            isSuccess=ok,
            status=status,
            alertId=alert_id,
            alias=alias,
        )

    def _sign(self, payload: str) -> str:
        return b64url(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
