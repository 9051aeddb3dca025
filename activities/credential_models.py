"""What a stored API credential is: its kind, its scopes and its row in the database.

The token itself (``tocsin_<id>_<secret>``) is never stored: only the argon2 hash of its
secret is, and even that stays out of reprs and serialised forms (see
:class:`CredentialRecord`). Minting, verifying and the request-time principal live in
:mod:`starters.credentials`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """Who holds a credential, which decides what it may do.

    ``person``: acts only as its person. ``integration``: calls only the intake endpoints
    its scopes name. ``admin``: manages tokens and may act on behalf of a named person.
    ``bootstrap``: ``TOCSIN_API_TOKEN``, an admin that is configured, never stored.
    """

    person = "person"
    integration = "integration"
    admin = "admin"
    bootstrap = "bootstrap"


class Scope(StrEnum):
    """What an integration token may call (person and admin tokens carry none: their kind
    says what they may do). Each scope opens exactly one intake endpoint."""

    # POST /webhooks/alertmanager (beside TOCSIN_ALERTMANAGER_TOKEN / basic auth)
    intake_alertmanager = "intake:alertmanager"
    # POST /webhooks/events (PagerDuty Events API v2; the routing key still routes)
    intake_events = "intake:events"
    # POST or GET /webhooks/heartbeat/{name} (a job saying it ran)
    intake_heartbeat = "intake:heartbeat"
    # POST /api/pages (CI scripts and bots that page a team)
    pages_create = "pages:create"


class CredentialRecord(BaseModel):
    """One credential as the database keeps it.

    ``secret_hash`` is excluded from ``model_dump``/JSON and from the repr: a record can be
    logged or returned without its hash (the SQL adapter writes the field explicitly).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    kind: Kind
    person: str | None = None
    scopes: tuple[Scope, ...] = ()
    secret_hash: str = Field(repr=False, exclude=True)
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
