"""Creating, listing and revoking tokens: the rules both the API and the CLI apply.

A token is shown once, in :class:`IssuedToken`; listings carry neither it nor its hash.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

import structlog
from pydantic import BaseModel, Field

from activities.credential_models import CredentialRecord, Kind, Scope
from activities.ports import Credentials
from starters.credentials.tokens import Hasher, mint
from starters.credentials.verify import utc_now
from starters.errors import InvalidRequest
from workflows.config import TocsinConfig

log = structlog.get_logger("tocsin.auth")

SCOPE_NAMES = ", ".join(s.value for s in Scope)
# A name is shown in listings and logs: one line of printable text.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class NewToken(BaseModel):
    """A token to create: who holds it and what it may do.

    ``person`` tokens need ``person`` (a person id of the config) and act only as that
    person; ``integration`` tokens need at least one of ``scopes`` and may call only those
    intake endpoints; ``admin`` tokens manage tokens and may act on behalf of a person.
    """

    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    kind: Literal["person", "integration", "admin"] = "person"
    person: str | None = Field(default=None, min_length=1, max_length=128)
    scopes: list[Scope] = Field(default_factory=list, max_length=16)


class TokenInfo(BaseModel):
    """A token as listings show it: never the token, never its hash."""

    id: str
    name: str
    kind: Kind
    person: str | None = None
    scopes: list[Scope] = Field(default_factory=list)
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def of(cls, record: CredentialRecord) -> TokenInfo:
        return cls.model_validate(record.model_dump())


class IssuedToken(TokenInfo):
    """A token just created, with the token itself: shown this once, stored only hashed."""

    token: str = Field(description="Send as 'Authorization: Bearer <token>'; shown only now.")


class UnknownToken(LookupError):
    """No token has that id."""


def check_new_token(new: NewToken, config: TocsinConfig, source: str = "the config") -> None:
    """Refuse a token that could not be used as asked (``source`` names the config file).

    Raises:
        InvalidRequest: the sentence names the field and what is wrong.
    """
    if new.kind == Kind.person:
        if new.person is None:
            raise InvalidRequest("person: a person token needs the person it acts as")
        if new.person not in config.people:
            raise InvalidRequest(
                f"person: unknown person {new.person!r} (not among the people of {source})"
            )
    elif new.person is not None:
        raise InvalidRequest(
            f"person: only person tokens belong to a person, not {new.kind} tokens"
        )
    if new.kind == Kind.integration and not new.scopes:
        raise InvalidRequest(
            f"scopes: an integration token needs at least one scope ({SCOPE_NAMES})"
        )
    if new.kind != Kind.integration and new.scopes:
        raise InvalidRequest(
            f"scopes: only integration tokens carry scopes; what {new.kind} tokens may do "
            "follows from their kind"
        )


async def issue(
    store: Credentials,
    new: NewToken,
    config: TocsinConfig,
    created_by: str,
    *,
    hasher: Hasher,
    source: str = "the config",
    now: datetime | None = None,
) -> IssuedToken:
    """Check ``new``, mint its token and store the token's hash.

    Raises:
        InvalidRequest: ``new`` breaks a rule of :func:`check_new_token`.
        AdapterError: the database failed.
    """
    check_new_token(new, config, source)
    token = mint()
    record = CredentialRecord(
        id=token.id,
        name=new.name,
        kind=Kind(new.kind),
        person=new.person,
        scopes=tuple(dict.fromkeys(new.scopes)),
        # argon2 takes ~0.1 s and 64 MiB: not on the event loop.
        secret_hash=await asyncio.to_thread(hasher.hash, token.secret),
        created_at=now or utc_now(),
        created_by=created_by,
    )
    await store.create(record)
    log.info(
        "token created",
        principal_id=record.id,
        name=record.name,
        kind=str(record.kind),
        person=record.person,
        by=created_by,
    )
    return IssuedToken(**TokenInfo.of(record).model_dump(), token=token.reveal())


async def list_tokens(store: Credentials) -> list[TokenInfo]:
    """Every token, revoked ones too, newest first."""
    return [TokenInfo.of(record) for record in await store.list_all()]


async def revoke(
    store: Credentials, token_id: str, by: str, *, now: datetime | None = None
) -> TokenInfo:
    """Revoke the token (again: no change); refused from the next request on.

    Raises:
        UnknownToken: no token has this id.
        AdapterError: the database failed.
    """
    record = await store.revoke(token_id, now or utc_now())
    if record is None:
        raise UnknownToken(f"no token {token_id!r}")
    log.info("token revoked", principal_id=record.id, name=record.name, by=by)
    return TokenInfo.of(record)
