"""Signed one-click links: what a link grants, how it is verified, when it expires, and the
settings and log redaction around it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from starters.links import (
    ExpiredLink,
    InvalidLink,
    LinkGrant,
    LinkKey,
    SignedLinks,
    link_signer,
)
from worker.redaction import Redactor
from worker.settings import Settings, SettingsError, secret_values

KEY = "k" * 16 + "unit-test-link-key-0123"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GRANT = LinkGrant("page", "db-down", "acknowledge", "alice", NOW + timedelta(hours=24))


def payload_of(token: str) -> list[object]:
    _, payload, _ = token.split(".")
    decoded: list[object] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def with_payload(token: str, fields: list[object]) -> str:
    """``token`` with its grant replaced and its signature kept (what a forger can do)."""
    version, _, mac = token.split(".")
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return f"{version}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{mac}"


class TestSignAndVerify:
    """A link verifies to exactly the grant it was signed for, under the key it was signed with."""

    def test_round_trip(self) -> None:
        """The grant comes back whole: kind, subject, action, person, expiry."""
        token = LinkKey(KEY).sign(GRANT)

        assert LinkKey(KEY).verify(token, NOW) == GRANT
        assert token.startswith("l1.")
        assert len(token) < 200

    @pytest.mark.parametrize(
        ("index", "value"),
        [
            (0, "i"),  # kind: an incident
            (1, "db-up"),  # subject: another page
            (2, "e"),  # action: escalate instead of acknowledge
            (3, "mallory"),  # person: someone else
            (4, int((NOW + timedelta(days=300)).timestamp())),  # expiry: later
        ],
    )
    def test_each_field_tampered(self, index: int, value: object) -> None:
        """Changing any one field of the grant, signature kept, is refused as invalid."""
        token = LinkKey(KEY).sign(GRANT)
        fields = payload_of(token)
        fields[index] = value

        with pytest.raises(InvalidLink, match="signature does not match"):
            LinkKey(KEY).verify(with_payload(token, fields), NOW)

    def test_signature_tampered(self) -> None:
        """One character of the signature changed is refused."""
        token = LinkKey(KEY).sign(GRANT)
        flipped = token[:-1] + ("A" if token[-1] != "A" else "B")

        with pytest.raises(InvalidLink):
            LinkKey(KEY).verify(flipped, NOW)

    def test_wrong_key(self) -> None:
        """A link signed with another key does not verify."""
        token = LinkKey("another-key-of-thirty-two-chars-or-more").sign(GRANT)

        with pytest.raises(InvalidLink):
            LinkKey(KEY).verify(token, NOW)

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "x",
            "l1.",
            "l1..",
            "l1.abc.def",
            "l2.WyJwIl0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "../../etc/passwd",
            "l1.é.é",
            "\x00" * 10,
            "l1." + "A" * 5000 + "." + "A" * 43,
        ],
    )
    def test_garbage(self, token: str) -> None:
        """Anything that is not a signed link is InvalidLink, never another error."""
        with pytest.raises(InvalidLink):
            LinkKey(KEY).verify(token, NOW)

    def test_action_must_fit_the_subject(self) -> None:
        """Only pages are acknowledged or escalated: an incident link may only open."""
        with pytest.raises(ValueError, match="cannot acknowledge an incident"):
            LinkKey(KEY).sign(LinkGrant("incident", "INC-1", "acknowledge", "alice", NOW))

        token = LinkKey(KEY).sign(LinkGrant("incident", "INC-1", "open", "alice", NOW))
        assert LinkKey(KEY).verify(token, NOW - timedelta(seconds=1)).kind == "incident"

    def test_key_not_in_repr(self) -> None:
        assert KEY not in repr(LinkKey(KEY))


class TestExpiry:
    """A link works for its TTL after signing and not a second longer (injected clock)."""

    def test_expires_after_ttl(self) -> None:
        clock = [NOW]
        links = SignedLinks(LinkKey(KEY), "https://t.example", timedelta(hours=2), lambda: clock[0])
        token = links.link("page", "db-down", "acknowledge", "alice").rsplit("/", 1)[1]

        clock[0] = NOW + timedelta(hours=2) - timedelta(seconds=1)
        assert links.check(token).person == "alice"
        clock[0] = NOW + timedelta(hours=2)
        with pytest.raises(ExpiredLink) as expired:
            links.check(token)
        assert expired.value.grant.subject == "db-down"
        assert "expired at 2026-11-30 11:00 UTC" in str(expired.value)

    def test_expired_and_tampered_is_invalid(self) -> None:
        """The signature is checked first: an altered expired link says it is not valid."""
        token = LinkKey(KEY).sign(LinkGrant("page", "p", "open", "alice", NOW))
        fields = payload_of(token)
        fields[3] = "bob"

        with pytest.raises(InvalidLink):
            LinkKey(KEY).verify(with_payload(token, fields), NOW + timedelta(days=1))


class TestPageLinks:
    def test_three_links_for_the_person(self) -> None:
        """Acknowledge, escalate and open, each bound to the page and person, under the URL."""
        links = SignedLinks(LinkKey(KEY), "https://t.example/", timedelta(hours=24), lambda: NOW)

        made = links.page_links("db-down", "bob")

        assert made.expires_at == NOW + timedelta(hours=24)
        for action, url in [
            ("acknowledge", made.acknowledge),
            ("escalate", made.escalate),
            ("open", made.open),
        ]:
            assert url.startswith("https://t.example/a/l1.")
            grant = links.check(url.removeprefix("https://t.example/a/"))
            assert (grant.kind, grant.subject, grant.action, grant.person) == (
                "page",
                "db-down",
                action,
                "bob",
            )


class TestLinkSigner:
    def test_off_without_a_key(self) -> None:
        """Without TOCSIN_LINK_KEY there are no links, and the log says how to turn them on."""
        with capture_logs() as logs:
            assert link_signer(Settings(), "https://t.example") is None

        [entry] = logs
        assert "one-click links are off" in entry["event"]
        assert "TOCSIN_LINK_KEY" in entry["event"]

    def test_from_settings(self) -> None:
        settings = Settings(link_key=SecretStr(KEY), link_ttl=timedelta(hours=1))

        links = link_signer(settings, "https://t.example")

        assert links is not None
        token = links.link("page", "p", "open", "alice").rsplit("/", 1)[1]
        grant = LinkKey(KEY).verify(token, datetime.now(UTC))
        assert grant.expires_at <= datetime.now(UTC) + timedelta(hours=1)


class TestSettings:
    def test_defaults(self) -> None:
        settings = Settings.from_env(environ={})

        assert settings.link_key is None
        assert settings.link_ttl == timedelta(hours=24)

    def test_read_from_environment(self) -> None:
        settings = Settings.from_env(environ={"TOCSIN_LINK_KEY": KEY, "TOCSIN_LINK_TTL": "2h"})

        assert settings.link_key is not None
        assert settings.link_key.get_secret_value() == KEY
        assert settings.link_ttl == timedelta(hours=2)
        assert KEY not in repr(settings)

    def test_short_key_refused_without_showing_it(self) -> None:
        with pytest.raises(SettingsError, match=r"TOCSIN_LINK_KEY: .*at least 32") as refused:
            Settings.from_env(environ={"TOCSIN_LINK_KEY": "short-secret"})
        assert "short-secret" not in str(refused.value)

    @pytest.mark.parametrize("ttl", ["1m", "8d", "0s", "soon", "9" * 50 + "w"])
    def test_ttl_bounded(self, ttl: str) -> None:
        with pytest.raises(SettingsError, match="TOCSIN_LINK_TTL"):
            Settings.from_env(environ={"TOCSIN_LINK_TTL": ttl})

    def test_key_is_a_secret_value(self) -> None:
        settings = Settings.from_env(environ={"TOCSIN_LINK_KEY": KEY})

        assert KEY in secret_values(settings, environ={"TOCSIN_LINK_KEY": KEY})


class TestRedaction:
    def test_signature_of_a_link_never_logged(self) -> None:
        """A link pasted into a log line keeps its (readable) grant and loses its signature."""
        token = LinkKey(KEY).sign(GRANT)
        _, payload, mac = token.split(".")

        line = Redactor().text(f"GET https://t.example/a/{token} and again {token}.")

        assert mac not in line
        assert line.count(f"l1.{payload}.[redacted]") == 2
