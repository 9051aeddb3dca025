"""Creating, listing and revoking tokens: the rules the API and the CLI share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from activities.credential_models import Kind, Scope
from starters.credentials.issue import (
    NewToken,
    UnknownToken,
    check_new_token,
    issue,
    list_tokens,
    revoke,
)
from starters.credentials.tokens import parse
from starters.errors import InvalidRequest
from tests.fakes.credentials import CountingHasher, MemoryCredentials
from worker.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
CONFIG = load_config(EXAMPLE)
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def new(**fields: object) -> NewToken:
    return NewToken.model_validate({"name": "laptop", **fields})


class TestRules:
    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({}, "person: a person token needs the person it acts as"),
            ({"person": "zed"}, "person: unknown person 'zed' (not among the people of x.yaml)"),
            (
                {"kind": "admin", "person": "alice"},
                "person: only person tokens belong to a person, not admin tokens",
            ),
            (
                {"kind": "integration"},
                "scopes: an integration token needs at least one scope (intake:alertmanager, "
                "intake:events, intake:heartbeat, pages:create)",
            ),
            (
                {"kind": "admin", "scopes": ["pages:create"]},
                "scopes: only integration tokens carry scopes; what admin tokens may do "
                "follows from their kind",
            ),
            (
                {"person": "alice", "scopes": ["intake:events"]},
                "scopes: only integration tokens carry scopes; what person tokens may do "
                "follows from their kind",
            ),
        ],
    )
    def test_refused(self, fields: dict[str, object], message: str) -> None:
        """Each token that could not be used as asked is refused with the field and why."""
        with pytest.raises(InvalidRequest) as refused:
            check_new_token(new(**fields), CONFIG, "x.yaml")

        assert str(refused.value) == message

    @pytest.mark.parametrize(
        "fields",
        [
            {"person": "alice"},
            {"kind": "admin"},
            {"kind": "integration", "scopes": ["intake:alertmanager"]},
            {"kind": "integration", "scopes": ["intake:events", "pages:create"]},
        ],
    )
    def test_accepted(self, fields: dict[str, object]) -> None:
        """Person tokens with a known person, admins, integrations with scopes."""
        check_new_token(new(**fields), CONFIG)

    @pytest.mark.parametrize(
        "fields",
        [
            {"kind": "bootstrap"},
            {"kind": "integration", "scopes": ["incidents:declare"]},
            {"name": ""},
            {"name": "x" * 65},
            {"name": "two\nlines"},
        ],
    )
    def test_malformed(self, fields: dict[str, object]) -> None:
        """The bootstrap kind, unknown scopes and unprintable names do not validate."""
        with pytest.raises(ValidationError) as refused:
            new(person="alice", **fields)

        [error] = refused.value.errors()
        assert error["loc"][0] in fields


class TestIssue:
    async def test_stores_the_hash_shows_the_token_once(self) -> None:
        """The token is in the answer only; the store keeps its id and an argon2 hash."""
        store = MemoryCredentials()

        issued = await issue(
            store, new(person="alice"), CONFIG, "admin ops", hasher=CountingHasher(), now=T0
        )

        record = store.rows[issued.id]
        assert issued.token.startswith(f"tocsin_{issued.id}_")
        assert record.secret_hash.startswith("$argon2id$")
        assert issued.token not in record.model_dump_json()
        parsed = parse(issued.token)
        assert parsed is not None
        assert parsed.secret not in record.secret_hash
        assert (record.kind, record.person, record.created_by) == (
            Kind.person,
            "alice",
            "admin ops",
        )

    async def test_duplicate_scopes_kept_once(self) -> None:
        """A scope named twice is stored once, in the order given."""
        store = MemoryCredentials()
        scopes = ["pages:create", "intake:events", "pages:create"]

        issued = await issue(
            store, new(kind="integration", scopes=scopes), CONFIG, "t", hasher=CountingHasher()
        )

        assert issued.scopes == [Scope.pages_create, Scope.intake_events]

    async def test_list_has_no_token(self) -> None:
        """A listing names each token, newest first, without the token or its hash."""
        store = MemoryCredentials()
        first = await issue(
            store, new(person="alice"), CONFIG, "t", hasher=CountingHasher(), now=T0
        )
        second = await issue(
            store, new(kind="admin"), CONFIG, "t", hasher=CountingHasher(), now=T0 + timedelta(1)
        )

        listed = await list_tokens(store)

        assert [t.id for t in listed] == [second.id, first.id]
        dumped = "".join(t.model_dump_json() for t in listed)
        assert first.token not in dumped
        assert "argon2" not in dumped
        assert "token" not in listed[0].model_dump()

    async def test_revoke(self) -> None:
        """Revoking marks the time once; an unknown id is UnknownToken."""
        store = MemoryCredentials()
        issued = await issue(store, new(person="alice"), CONFIG, "t", hasher=CountingHasher())

        first = await revoke(store, issued.id, "t", now=T0)
        again = await revoke(store, issued.id, "t", now=T0 + timedelta(hours=1))

        assert first.revoked_at == again.revoked_at == T0
        with pytest.raises(UnknownToken, match="no token 'nope'"):
            await revoke(store, "nope", "t")
