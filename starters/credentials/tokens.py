"""The token format and its hashing: ``tocsin_<id>_<secret>``, shown once, stored hashed.

``id`` (12 hex characters) is public: it names the row a request is checked against and
appears in listings and logs. ``secret`` (32 random bytes, URL-safe base64) is what proves
possession; only its argon2id hash is kept. The ``tocsin_`` prefix makes a pasted token
recognisable to secret scanners and to the log redaction (:mod:`worker.redaction`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIX = "tocsin_"
ID_BYTES = 6
SECRET_BYTES = 32
# 12 hex characters, then 43 URL-safe base64 characters (32 bytes, no padding).
TOKEN = re.compile(r"tocsin_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Token:
    """A token split into its parts; the repr never shows the secret."""

    id: str
    secret: str = field(repr=False)

    def reveal(self) -> str:
        """The whole token, to show its holder once (never to log)."""
        return f"{PREFIX}{self.id}_{self.secret}"


def mint() -> Token:
    """A new token with a fresh random id and secret."""
    return Token(id=secrets.token_hex(ID_BYTES), secret=secrets.token_urlsafe(SECRET_BYTES))


def parse(text: str) -> Token | None:
    """The parts of ``text`` when it has the token's shape, else None."""
    match = TOKEN.fullmatch(text.strip())
    if match is None:
        return None
    return Token(id=match["id"], secret=match["secret"])


def looks_like_token(text: str) -> bool:
    """Whether ``text`` starts like a Tocsin token (it may still be malformed)."""
    return text.strip().startswith(PREFIX)


def fingerprint(text: str) -> str:
    """SHA-256 of the whole token: a cache key that cannot be turned back into it."""
    return hashlib.sha256(text.strip().encode()).hexdigest()


class Hasher:
    """argon2id over secrets (argon2-cffi's RFC 9106 defaults: ~0.1 s and 64 MiB each).

    Deliberately slow: callers verify once and cache (:class:`Authenticator`). Tests pass
    a cheap ``PasswordHasher``.
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, secret_hash: str, secret: str) -> bool:
        """Whether ``secret`` is the one ``secret_hash`` was made from (False for a hash
        that does not parse: a damaged row admits nobody)."""
        try:
            return self._hasher.verify(secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return False
