"""API tokens: the format, argon2 hashing, resolving a token to its principal (cache and
revocation), and a token never readable in a log line."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from activities.credential_models import CredentialRecord, Kind, Scope
from activities.errors import Unavailable
from starters.credentials import BOOTSTRAP, Authenticator, Principal
from starters.credentials.issue import IssuedToken, NewToken, issue
from starters.credentials.tokens import Hasher, fingerprint, looks_like_token, mint, parse
from tests.fakes.credentials import CountingHasher, MemoryCredentials
from worker.config import load_config
from worker.logging import configure_logging
from worker.redaction import Redactor

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
CONFIG = load_config(EXAMPLE)
BOOT = "bootstrap-token-value"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Clock:
    """Monotonic seconds that a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    def __init__(self) -> None:
        self.store = MemoryCredentials()
        self.hasher = CountingHasher()
        self.clock = Clock()
        self.auth = Authenticator(
            BOOT, self.store, hasher=self.hasher, ttl=60, clock=self.clock, now=lambda: T0
        )

    async def issue(self, **fields: object) -> IssuedToken:
        new = NewToken.model_validate({"name": "laptop", "person": "alice", **fields})
        return await issue(self.store, new, CONFIG, "test", hasher=self.hasher, now=T0)


@pytest.fixture
def setup() -> Setup:
    return Setup()


class TestTokenFormat:
    def test_minted_token_parses_back(self) -> None:
        """A minted token is tocsin_<12 hex>_<43 url-safe>, and parses into its parts."""
        token = mint()
        text = token.reveal()

        assert text.startswith(f"tocsin_{token.id}_")
        assert len(token.id) == 12
        assert len(token.secret) == 43
        assert parse(text) == token
        assert looks_like_token(text)

    def test_secrets_differ(self) -> None:
        """Two tokens share neither id nor secret."""
        first, second = mint(), mint()

        assert first.id != second.id
        assert first.secret != second.secret

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "tocsin_",
            "tocsin_0123456789ab",
            "tocsin_0123456789AB_" + "a" * 43,
            "tocsin_0123456789ab_" + "a" * 42,
            "tocsin_0123456789ab_" + "a" * 44,
            "tocsin_0123456789ab_" + "a" * 42 + "!",
            "other_0123456789ab_" + "a" * 43,
        ],
    )
    def test_malformed_tokens_do_not_parse(self, text: str) -> None:
        """Anything but the exact shape is not a token."""
        assert parse(text) is None

    def test_repr_hides_the_secret(self) -> None:
        """The parts' repr shows the id only."""
        token = mint()

        assert token.secret not in repr(token)
        assert token.id in repr(token)

    def test_fingerprint_is_not_the_token(self) -> None:
        """The cache key is a SHA-256: stable, and without the secret in it."""
        text = mint().reveal()

        assert fingerprint(text) == fingerprint(text)
        assert len(fingerprint(text)) == 64
        assert parse(text).secret not in fingerprint(text)  # type: ignore[union-attr]


class TestHasher:
    def test_argon2id_by_default(self) -> None:
        """Secrets are hashed with argon2id; the hash holds no trace of the secret."""
        secret = mint().secret
        hashed = Hasher().hash(secret)

        assert hashed.startswith("$argon2id$")
        assert secret not in hashed

    def test_verify(self) -> None:
        """The right secret verifies; another one, or a damaged hash, does not."""
        hasher = CountingHasher()
        secret = mint().secret
        hashed = hasher.hash(secret)

        assert hasher.verify(hashed, secret)
        assert not hasher.verify(hashed, mint().secret)
        assert not hasher.verify("not-a-hash", secret)


class TestAuthenticator:
    async def test_bootstrap_token(self, setup: Setup) -> None:
        """TOCSIN_API_TOKEN is the bootstrap admin, without touching the store."""
        principal = await setup.auth.authenticate(BOOT)

        assert principal == BOOTSTRAP
        assert principal is not None
        assert principal.is_admin
        assert setup.store.reads == 0

    async def test_person_token(self, setup: Setup) -> None:
        """A stored person token resolves to its person, and its last use is recorded."""
        issued = await setup.issue()

        principal = await setup.auth.authenticate(issued.token)

        assert principal == Principal(
            kind=Kind.person, token_id=issued.id, token_name="laptop", person="alice"
        )
        assert setup.store.touched == [(issued.id, T0)]

    async def test_integration_token_carries_its_scopes(self, setup: Setup) -> None:
        """An integration token's principal has its scopes and no person."""
        issued = await setup.issue(
            kind="integration", person=None, scopes=["intake:events", "pages:create"]
        )

        principal = await setup.auth.authenticate(issued.token)

        assert principal is not None
        assert principal.scopes == {Scope.intake_events, Scope.pages_create}
        assert principal.may(Scope.pages_create)
        assert not principal.may(Scope.intake_alertmanager)
        assert principal.person is None

    @pytest.mark.parametrize(
        "supplied", ["nope", BOOT[:-1], "tocsin_0123456789ab_" + "a" * 43, "tocsin_x"]
    )
    async def test_unknown_tokens_cost_no_hashing(self, setup: Setup, supplied: str) -> None:
        """Unknown, malformed or almost-bootstrap tokens are refused before argon2 runs."""
        assert await setup.auth.authenticate(supplied) is None
        assert setup.hasher.verified == 0

    async def test_wrong_secret(self, setup: Setup) -> None:
        """A known id with another secret is refused (and nothing is cached or touched)."""
        issued = await setup.issue()
        forged = f"tocsin_{issued.id}_{mint().secret}"

        assert await setup.auth.authenticate(forged) is None
        assert await setup.auth.authenticate(forged) is None
        assert setup.hasher.verified == 2
        assert setup.store.touched == []

    async def test_wrong_secrets_hashed_a_few_times_a_minute(self, setup: Setup) -> None:
        """Guessing the secret of a known id costs five argon2 runs a minute, no more; the
        holder's token, verified before, keeps working meanwhile."""
        issued = await setup.issue()
        assert await setup.auth.authenticate(issued.token) is not None
        guesses = [f"tocsin_{issued.id}_{mint().secret}" for _ in range(20)]

        for guess in guesses:
            assert await setup.auth.authenticate(guess) is None
        assert setup.hasher.verified == 1 + 5
        assert await setup.auth.authenticate(issued.token) is not None

        setup.clock.now += 61
        assert await setup.auth.authenticate(guesses[0]) is None
        assert setup.hasher.verified == 1 + 5 + 1

    async def test_a_right_secret_clears_the_count(self, setup: Setup) -> None:
        """Four typos then the real token: the next typo is hashed again (no lock-out)."""
        issued = await setup.issue()
        typo = f"tocsin_{issued.id}_{mint().secret}"
        for _ in range(4):
            assert await setup.auth.authenticate(typo) is None
        assert await setup.auth.authenticate(issued.token) is not None

        assert await setup.auth.authenticate(typo) is None
        assert setup.hasher.verified == 6

    async def test_verification_is_cached_for_the_ttl(self, setup: Setup) -> None:
        """argon2 runs once per token per TTL; the row is still read on every request."""
        issued = await setup.issue()

        for _ in range(3):
            assert await setup.auth.authenticate(issued.token) is not None
        setup.clock.now += 59
        assert await setup.auth.authenticate(issued.token) is not None
        assert setup.hasher.verified == 1
        setup.clock.now += 2
        assert await setup.auth.authenticate(issued.token) is not None

        assert setup.hasher.verified == 2
        assert setup.store.reads == 5
        assert len(setup.store.touched) == 2

    async def test_revocation_applies_at_once(self, setup: Setup) -> None:
        """A revoked token is refused on its next request, though it was just verified."""
        issued = await setup.issue()
        assert await setup.auth.authenticate(issued.token) is not None

        await setup.store.revoke(issued.id, T0)

        assert await setup.auth.authenticate(issued.token) is None

    async def test_cache_does_not_admit_another_secret(self, setup: Setup) -> None:
        """Caching one token of an id admits no other secret under that id."""
        issued = await setup.issue()
        assert await setup.auth.authenticate(issued.token) is not None

        assert await setup.auth.authenticate(f"tocsin_{issued.id}_{mint().secret}") is None

    async def test_without_a_store_only_bootstrap(self) -> None:
        """A process without a database accepts the bootstrap token alone."""
        auth = Authenticator(BOOT, None)

        assert await auth.authenticate(BOOT) == BOOTSTRAP
        assert await auth.authenticate(mint().reveal()) is None

    async def test_store_down_raises(self, setup: Setup) -> None:
        """A failing database is an error (the caller answers 503), not a refusal."""
        issued = await setup.issue()
        setup.store.down = True

        with pytest.raises(Unavailable, match="connection refused"):
            await setup.auth.authenticate(issued.token)

    async def test_failed_touch_is_logged_not_fatal(self, setup: Setup) -> None:
        """Recording the last use is bookkeeping: when it fails the caller still gets in."""
        issued = await setup.issue()
        setup.store.touch_down = True

        with capture_logs() as logs:
            principal = await setup.auth.authenticate(issued.token)

        assert principal is not None
        [event] = [e for e in logs if e["event"] == "token last use not recorded"]
        assert event["principal_id"] == issued.id


class TestPrincipal:
    @pytest.mark.parametrize(
        ("principal", "label", "admin"),
        [
            (BOOTSTRAP, "bootstrap admin", True),
            (Principal(kind=Kind.admin, token_name="ops-bot"), "admin ops-bot", True),
            (
                Principal(kind=Kind.person, token_name="laptop", person="alice"),
                "alice (token laptop)",
                False,
            ),
            (
                Principal(kind=Kind.integration, token_name="prometheus"),
                "integration prometheus",
                False,
            ),
        ],
    )
    def test_labels(self, principal: Principal, label: str, admin: bool) -> None:
        """Each kind is named so a log or a record says who acted."""
        assert principal.label == label
        assert principal.is_admin is admin


class TestNoSecretShown:
    def test_record_hides_its_hash(self) -> None:
        """A record's repr and JSON leave the hash out."""
        record = CredentialRecord(
            id="0123456789ab",
            name="laptop",
            kind=Kind.person,
            person="alice",
            secret_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            created_at=T0,
            created_by="test",
        )

        assert "argon2" not in repr(record)
        assert "argon2" not in record.model_dump_json()
        assert "secret_hash" not in record.model_dump()

    def test_token_redacted_in_any_text(self) -> None:
        """A token pasted into a message loses its secret, keeps its id."""
        token = mint()
        line = f"curl -H 'X: {token.reveal()}' failed; note={token.reveal()}."

        clean = Redactor().text(line)

        assert token.secret not in clean
        assert f"tocsin_{token.id}_[redacted]" in clean

    @pytest.mark.parametrize("fmt", ["console", "json"])
    def test_token_never_reaches_the_log(self, fmt: str) -> None:
        """Logged as a message, a field or an exception, a token is written without its
        secret, in both formats."""
        out = io.StringIO()
        token = mint().reveal()
        configure_logging(fmt, "info", stream=out)  # type: ignore[arg-type]
        log = structlog.get_logger("test")
        try:
            log.info(f"user pasted {token}", detail=f"see {token}", header=f"Bearer {token}")
            try:
                raise ValueError(f"bad token {token}")
            except ValueError:
                log.exception("failed")
        finally:
            configure_logging("console", "info")

        text = out.getvalue()
        assert "user pasted" in text
        assert parse(token).secret not in text  # type: ignore[union-attr]
        if fmt == "json":
            assert all(json.loads(line) for line in text.splitlines())
