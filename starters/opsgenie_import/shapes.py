"""Opsgenie REST API v2 response bodies, as its documentation and Go SDK describe them.

Every response is ``{"data": …, "took": …, "requestId": …}``; only the fields the import
uses are declared, the rest is ignored. Keys are Opsgenie's own (``fullName``,
``timeRestriction``), so a validation error names the key as it is in the file. Enumerated
values (a rotation's ``type``, a participant's ``type``) stay strings: a value the import
does not know is reported, not refused.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class Shape(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Envelope(Shape, Generic[T]):
    """Opsgenie's response envelope."""

    data: T


class Role(Shape):
    name: str


class User(Shape):
    """An entry of ``GET /v2/users``."""

    id: str
    username: str
    full_name: str
    time_zone: str | None = None
    role: Role | None = None


class ContactStatus(Shape):
    enabled: bool = True
    disabled_reason: str | None = None


class Contact(Shape):
    """An entry of ``GET /v2/users/{id}/contacts``: ``method`` is email, sms, voice or mobile."""

    id: str | None = None
    method: str
    to: str
    status: ContactStatus = Field(default_factory=ContactStatus)


class Ref(Shape):
    """An owner team, a schedule's ``_parent`` or a rotation named by id and/or name."""

    id: str | None = None
    name: str | None = None


class MemberUser(Shape):
    id: str | None = None
    username: str | None = None


class Member(Shape):
    user: MemberUser
    role: str = "user"


class Team(Shape):
    """``GET /v2/teams/{id}``: a team with its members."""

    id: str
    name: str
    members: list[Member] = Field(default_factory=list)


class Participant(Shape):
    """A rotation participant, an escalation recipient or an override's user.

    ``type`` is ``user`` (``id``/``username``), ``team``, ``escalation`` or ``schedule``
    (``id``/``name``), or ``none``.
    """

    type: str
    id: str | None = None
    name: str | None = None
    username: str | None = None

    def label(self) -> str:
        """How the report names it: ``user bob@acme.example``, ``team Platform``, ``none``."""
        name = self.username or self.name or self.id
        return f"{self.type} {name}" if name else self.type


class Restriction(Shape):
    """Hours of a time restriction; days only for ``weekday-and-time-of-day``."""

    start_day: str | None = None
    start_hour: int = Field(ge=0, le=24)
    start_min: int = Field(default=0, ge=0, le=59)
    end_day: str | None = None
    end_hour: int = Field(ge=0, le=24)
    end_min: int = Field(default=0, ge=0, le=59)


class TimeRestriction(Shape):
    """``time-of-day`` holds one ``restriction``; ``weekday-and-time-of-day`` a list."""

    type: str
    restriction: Restriction | None = None
    restrictions: list[Restriction] = Field(default_factory=list)


class Rotation(Shape):
    """A rotation, as ``GET /v2/schedules/{id}`` (or the list with ``expand=rotation``) embeds it."""

    id: str | None = None
    name: str | None = None
    start_date: AwareDatetime
    end_date: AwareDatetime | None = None
    type: str
    length: int = Field(default=1, ge=1)
    participants: list[Participant] = Field(default_factory=list)
    time_restriction: TimeRestriction | None = None


class Schedule(Shape):
    id: str
    name: str
    timezone: str | None = None
    enabled: bool = True
    owner_team: Ref | None = None
    rotations: list[Rotation] = Field(default_factory=list)


class Override(Shape):
    """An entry of ``GET /v2/schedules/{id}/overrides``; no ``rotations``: all of them."""

    parent: Ref | None = Field(default=None, alias="_parent")
    alias: str
    user: Participant
    start_date: AwareDatetime
    end_date: AwareDatetime
    rotations: list[Ref] = Field(default_factory=list)


class Delay(Shape):
    time_amount: int = Field(ge=0)
    time_unit: str = "minutes"


class Rule(Shape):
    """An escalation rule: notify ``recipient`` ``delay`` after the alert was created."""

    condition: str = "if-not-acked"
    notify_type: str = "default"
    delay: Delay
    recipient: Participant


class Repeat(Shape):
    wait_interval: int = Field(default=0, ge=0)
    count: int = Field(default=0, ge=0)
    reset_recipient_states: bool = False
    close_alert_after_all: bool = False


class Escalation(Shape):
    id: str
    name: str
    owner_team: Ref | None = None
    rules: list[Rule] = Field(default_factory=list)
    repeat: Repeat | None = None


class Heartbeat(Shape):
    name: str
    interval: int
    interval_unit: str
    enabled: bool = True
    owner_team: Ref | None = None


class Heartbeats(Shape):
    """``data`` of ``GET /v2/heartbeats``."""

    heartbeats: list[Heartbeat] = Field(default_factory=list)


class Integration(Shape):
    """An entry of ``GET /v2/integrations``: ``type`` is ``API``, ``Email``, ``Prometheus``…"""

    id: str
    name: str
    enabled: bool = True
    type: str
    team_id: str | None = None
