"""Who is calling: the principal a request's credential resolves to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from activities.credential_models import CredentialRecord, Kind, Scope

BOOTSTRAP_NAME = "TOCSIN_API_TOKEN"


class Principal(BaseModel):
    """The caller behind a credential, as every front door sees it.

    Attributes:
        kind: ``person`` acts only as ``person``; ``integration`` may call the intake
            endpoints its ``scopes`` name; ``admin`` (and ``bootstrap``, the
            ``TOCSIN_API_TOKEN``) manages tokens and may act on behalf of a named person.
        token_id: the credential's public id (None for the bootstrap token).
        token_name: the name its creator gave it (``TOCSIN_API_TOKEN`` for bootstrap).
        person: the person a person token belongs to; None for the other kinds.
        scopes: what an integration token may call; empty for the other kinds.
    """

    model_config = ConfigDict(frozen=True)

    kind: Kind
    token_id: str | None = None
    token_name: str
    person: str | None = None
    scopes: frozenset[Scope] = frozenset()

    @property
    def is_admin(self) -> bool:
        """Admin tokens and the bootstrap token."""
        return self.kind in (Kind.admin, Kind.bootstrap)

    def may(self, scope: Scope) -> bool:
        """Whether the credential carries ``scope``."""
        return scope in self.scopes

    @property
    def label(self) -> str:
        """How the caller is named in logs and records: ``alice (token laptop)``,
        ``integration prometheus``, ``admin ops-bot``, ``bootstrap admin``."""
        if self.kind is Kind.bootstrap:
            return "bootstrap admin"
        if self.kind is Kind.person:
            return f"{self.person} (token {self.token_name})"
        return f"{self.kind} {self.token_name}"

    @classmethod
    def of(cls, record: CredentialRecord) -> Principal:
        """The principal of a stored credential."""
        return cls(
            kind=record.kind,
            token_id=record.id,
            token_name=record.name,
            person=record.person,
            scopes=frozenset(record.scopes),
        )


BOOTSTRAP = Principal(kind=Kind.bootstrap, token_name=BOOTSTRAP_NAME)
