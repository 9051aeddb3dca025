"""Console sessions and the tokens the console signs: the session cookie, the form tokens
that stop cross-site requests, and the sign-in links mailed to people.

Everything is an HMAC-SHA256 under a key derived from ``TOCSIN_LINK_KEY`` (one secret to
set; a session can never pass for a one-click link, nor the reverse: each kind of token
signs its own context line). A session names the person, the credential they signed in
with (a token's id, or a mailed link) and when it ends; the cookie is HttpOnly,
SameSite=Lax, and Secure when Tocsin is served over https.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starters.links import b64url, unb64url

COOKIE = "tocsin_session"
# Before a session exists (the sign-in forms): a random value the form must repeat.
PRESESSION_COOKIE = "tocsin_signin"
SESSION_TTL = timedelta(hours=12)
SIGNIN_LINK_TTL = timedelta(minutes=15)
MAX_TOKEN_CHARS = 2048
_TOKEN = re.compile(r"(?P<payload>[A-Za-z0-9_-]{1,1800})\.(?P<mac>[A-Za-z0-9_-]{43})")


class BadToken(ValueError):
    """Not signed by this key for this purpose, malformed, or expired."""


class Signer:
    """Signs short JSON lists for one purpose (``context``) with a key derived from the
    link key; its repr never shows the key."""

    def __init__(self, link_key: str, context: str) -> None:
        if not link_key:
            raise ValueError("the console needs TOCSIN_LINK_KEY")
        derived = hmac.new(link_key.encode(), b"tocsin console keys v1", hashlib.sha256)
        self._key = derived.digest()
        self._context = f"tocsin console {context} v1\n".encode()

    def __repr__(self) -> str:
        return "Signer(…)"

    def mac(self, text: str) -> str:
        return b64url(hmac.new(self._key, self._context + text.encode(), hashlib.sha256).digest())

    def sign(self, fields: list[Any]) -> str:
        payload = b64url(json.dumps(fields, separators=(",", ":")).encode())
        return f"{payload}.{self.mac(payload)}"

    def open(self, token: str) -> list[Any]:
        """The fields of a token this signer made (the signature is checked first).

        Raises:
            BadToken: anything else.
        """
        match = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_CHARS else None
        if match is None or not hmac.compare_digest(
            self.mac(match["payload"]).encode(), match["mac"].encode()
        ):
            raise BadToken("not signed by this Tocsin")
        try:
            fields = json.loads(unb64url(match["payload"]))
        except (binascii.Error, ValueError):
            raise BadToken("malformed") from None
        if not isinstance(fields, list):
            raise BadToken("malformed")
        return fields


@dataclass(frozen=True)
class Session:
    """Who is signed in: ``person``, with ``token_id`` (None for a mailed link) named
    ``credential`` (``token laptop``, ``mailed link``), until ``expires_at``; ``nonce``
    makes each sign-in's form tokens its own."""

    person: str
    credential: str
    token_id: str | None
    expires_at: datetime
    nonce: str

    @property
    def via(self) -> str:
        """How timelines name an action taken in the console."""
        return f"console, {self.credential}"


def expiry(now: datetime, ttl: timedelta) -> datetime:
    return (now + ttl).replace(microsecond=0)


class ConsoleKeys:
    """The console's signers: sessions, form tokens and sign-in links."""

    def __init__(self, link_key: str) -> None:
        self._sessions = Signer(link_key, "session")
        self._forms = Signer(link_key, "form")
        self._links = Signer(link_key, "sign-in link")

    def session(self, person: str, credential: str, token_id: str | None, now: datetime) -> str:
        """A new session's cookie value."""
        fields = [person, credential, token_id, int(expiry(now, SESSION_TTL).timestamp())]
        return self._sessions.sign([*fields, secrets.token_urlsafe(12)])

    def open_session(self, cookie: str, now: datetime) -> Session:
        """The session of a cookie, if it has not expired.

        Raises:
            BadToken: forged, malformed or expired.
        """
        fields = self._sessions.open(cookie)
        try:
            person, credential, token_id, ends, nonce = fields
            expires_at = datetime.fromtimestamp(int(ends), UTC)
        except (ValueError, TypeError, OverflowError, OSError):
            raise BadToken("malformed") from None
        if now >= expires_at:
            raise BadToken("expired")
        return Session(str(person), str(credential), token_id, expires_at, str(nonce))

    def form_token(self, nonce: str) -> str:
        """What every form of a session (or of a sign-in page, by its cookie) must carry."""
        return self._forms.mac(nonce)

    def form_token_matches(self, nonce: str, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(
            self.form_token(nonce).encode(), supplied.encode()
        )

    def signin_link(self, person: str, now: datetime) -> str:
        """The token of a sign-in link for ``person`` (valid :data:`SIGNIN_LINK_TTL`)."""
        return self._links.sign([person, int(expiry(now, SIGNIN_LINK_TTL).timestamp())])

    def open_signin_link(self, token: str, now: datetime) -> str:
        """The person a sign-in link is for.

        Raises:
            BadToken: forged, malformed or expired.
        """
        fields = self._links.open(token)
        try:
            person, ends = fields
            expired = now >= datetime.fromtimestamp(int(ends), UTC)
        except (ValueError, TypeError, OverflowError, OSError):
            raise BadToken("malformed") from None
        if expired:
            raise BadToken("expired")
        return str(person)
