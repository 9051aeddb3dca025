"""What a request is (a new page, an action on an incident) and must name before it reaches Temporal: an incident id of the right form,
configured people, severities and services; and who is on call from the config alone."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from starters.errors import IncidentNotFound, InvalidRequest
from starters.incidents import INCIDENT_ID, severity_policy
from starters.rotations import BadInput
from starters.rotations import oncall_entries as rotation_entries
from workflows.config import TocsinConfig
from workflows.ids import PAGE_KEY
from workflows.incident_models import DeclareRequest, SeverityPolicy
from workflows.models import OnCallEntry


class NewPage(BaseModel):
    """A request to page a team, or one person (on behalf of a team of theirs)."""

    team: str | None = Field(default=None, min_length=1, max_length=64)
    person: str | None = Field(
        default=None,
        min_length=1,
        max_length=254,
        description="A person's id or e-mail: page them, not the team's policy",
    )
    urgency: Literal["high", "low"] = "high"
    summary: str = Field(min_length=1, max_length=500)
    details: str | None = Field(default=None, max_length=20_000)
    dedup_key: str | None = Field(default=None, pattern=PAGE_KEY.pattern)
    by: str | None = Field(default=None, min_length=1, max_length=64)
    # Filled by Tocsin from the credential (see workflows.actors); a value sent is replaced.
    via: SkipJsonSchema[str | None] = None

    @model_validator(mode="after")
    def _whom(self) -> NewPage:
        if self.team is None and self.person is None:
            raise ValueError("name a 'team' or a 'person' to page")
        return self


def incident_ref(incident_id: str) -> str:
    """``INC-42`` (``inc-42`` is accepted too).

    Raises:
        IncidentNotFound: the id is not of that form, so no incident can have it.
    """
    ref = incident_id.strip().upper()
    if not re.match(INCIDENT_ID, ref):
        raise IncidentNotFound(f"no incident {incident_id!r} (incident ids look like INC-42)")
    return ref


def require_people(config: TocsinConfig, *people: str) -> None:
    """Raises :class:`InvalidRequest` for the first id that is not a configured person."""
    for person in people:
        if person not in config.people:
            raise InvalidRequest(f"unknown person {person!r}")


def require_severity(config: TocsinConfig, name: str) -> SeverityPolicy:
    """The configured severity; :class:`InvalidRequest` naming the configured ones if none."""
    try:
        return severity_policy(config, name)
    except LookupError as err:
        raise InvalidRequest(lookup_message(err)) from None


def check_declaration(config: TocsinConfig, request: DeclareRequest) -> None:
    """What a declaration names must exist: the declarer, the severity, the service.

    Raises:
        InvalidRequest: the first unknown name, with the configured alternatives.
    """
    require_people(config, request.by)
    if request.severity is not None:
        require_severity(config, request.severity)
    if request.service is not None and request.service not in config.services:
        services = ", ".join(sorted(config.services)) or "none configured"
        raise InvalidRequest(f"unknown service {request.service!r} (services: {services})")


def lookup_message(err: LookupError) -> str:
    """The message of a LookupError (a KeyError's str() would be the repr of its key)."""
    return str(err.args[0]) if err.args else str(err)


def oncall_entries(
    config: TocsinConfig, team: str | None = None, at: datetime | None = None
) -> list[OnCallEntry]:
    """Who holds each layer of each team's rotation at ``at``, from the config alone
    (no Temporal: overrides and swaps are not seen).

    Raises:
        InvalidRequest: unknown team, or a naive ``at``.
    """
    try:
        return rotation_entries(config, None, team, at)
    except BadInput as err:
        raise InvalidRequest(str(err)) from None
