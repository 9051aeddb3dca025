"""Keeping secrets out of log output: known secret values, secret-bearing fields, URL
credentials and query tokens are replaced before a line is written, in every format.

Pure text work, no I/O: :mod:`worker.logging` runs it over each event and each rendered
line, and the settings say which values are secret.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# Shorter values are not treated as secrets: replacing every "1" or "abc" would shred the
# log and hide nothing (a 5-character token is no secret anyway).
MIN_SECRET_LENGTH = 6

# A field whose name says it holds a secret: its value is never shown.
_SECRET_WORDS = (
    r"token|secret|passw(?:or)?d|passphrase|authorization|api[_-]?key|signature|"  # noqa: S105 - names of secret fields, not a secret
    r"credential|cookie|routing[_-]?key|integration[_-]?key|private[_-]?key|database[_-]?url"
)
SECRET_FIELD = re.compile(rf"(?i)(?:{_SECRET_WORDS})")

# Each pattern with the lowercase words a line must contain for it to be tried at all: most
# log lines contain none of them, and the check costs far less than the search.
_TEXT_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # scheme://user:password@host — keep the user, drop the password.
    (("://",), re.compile(r"(?P<head>://[^\s/@:]*:)[^\s/@]+@"), rf"\g<head>{REDACTED}@"),
    # ?token=…, &api_key=…, &sig=… in any URL.
    (
        ("?", "&", ";"),
        re.compile(
            r"(?i)(?P<head>[?&;][\w.-]*(?:token|key|secret|passw(?:or)?d|sig|signature|auth)"
            r"[\w.-]*=)[^&\s'\"#<>]+"
        ),
        rf"\g<head>{REDACTED}",
    ),
    # Authorization header values.
    (
        ("bearer", "basic", "digest", "geniekey"),
        re.compile(r"(?i)\b(?P<head>(?:bearer|basic|digest|geniekey)\s+)[\w.~+/=-]{6,}"),
        rf"\g<head>{REDACTED}",
    ),
    # token='…', password=…, "api_key": "…", 'signing_secret': '…' in reprs and JSON (the
    # match starts at the secret word: the rest of the key's name stays as it is).
    (
        (
            "token",
            "secret",
            "passw",
            "passp",
            "authorization",
            "apikey",
            "api_key",
            "api-key",
            "signature",
            "credential",
            "cookie",
            "routing",
            "integration",
            "private",
            "database",
        ),
        re.compile(
            rf"(?i)(?P<head>(?:{_SECRET_WORDS})[\w-]*(?:=|['\"]\s*:\s*)['\"]?)"
            r"(?!\[redacted\])(?!\(redacted\))(?!\*+['\"])(?!None\b)(?!SecretStr\()"
            r"[^'\"\s,;)}\]&]+"
        ),
        rf"\g<head>{REDACTED}",
    ),
    # Tocsin API tokens (tocsin_<id>_<secret>, starters/credentials/tokens.py) pasted
    # anywhere: the public id stays, for finding the token; the secret goes. Last, so that
    # the patterns above take a token whole where they apply (Bearer …, token=…).
    (
        ("tocsin_",),
        re.compile(r"(?P<head>tocsin_[0-9a-f]{12}_)[A-Za-z0-9_-]+"),
        rf"\g<head>{REDACTED}",
    ),
    # One-click links (l1.<grant>.<signature>, starters/links.py): whoever holds one may act
    # as its person until it expires. The grant stays readable; the signature goes.
    (
        ("l1.",),
        re.compile(r"(?<![\w.-])(?P<head>l1\.[A-Za-z0-9_-]{8,}\.)[A-Za-z0-9_-]{43}"),
        rf"\g<head>{REDACTED}",
    ),
)
_PATTERNS = tuple(
    (re.compile("|".join(re.escape(w) for w in words)), pattern, replacement)
    for words, pattern, replacement in _TEXT_PATTERNS
)
# A run of token-like characters at the end of a cut string may be the first half of a
# secret that the cut split (known secrets are replaced before any cut): it is dropped.
_TRAILING_WORD = re.compile(r"[\w.~+/=%:-]{1,64}$")
_LEADING_WORD = re.compile(r"^[\w.~+/=%:-]{1,64}")


@functools.lru_cache(maxsize=4096)
def secret_field(key: str) -> bool:
    """Whether a field of this name holds a secret (names repeat: the answer is kept)."""
    return SECRET_FIELD.search(key) is not None


class Redactor:
    """Replaces secrets in log events and rendered lines; thread-safe to extend.

    Args:
        secrets: values to hide wherever they appear (shorter ones than
            :data:`MIN_SECRET_LENGTH` are ignored).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Hide these values too (a token generated at start, a config's ``${NAME}``)."""
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH} - self._values
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            # Longest first: a secret that contains another is replaced whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def text(self, value: str) -> str:
        """``value`` with every known secret and secret-looking part replaced."""
        pattern = self._pattern
        if pattern is not None:
            value = pattern.sub(REDACTED, value)
        lower = value.lower()
        for words, known, replacement in _PATTERNS:
            if words.search(lower):
                value = known.sub(replacement, value)
        return value

    def event(self, event: Mapping[str, Any], max_chars: int) -> dict[str, Any]:
        """A copy of a log event: secret fields hidden, strings cut to ``max_chars``.

        A string that is cut is redacted first (so no secret is cut in half); the rest is
        left to :meth:`text` on the rendered line, which sees every value once.
        """
        clean: dict[str, Any] = {}
        for key, value in event.items():
            if value is not None and not isinstance(value, bool) and secret_field(key):
                clean[key] = REDACTED
            elif isinstance(value, str) and len(value) > max_chars:
                clean[key] = cut(self.text(cut(value, max_chars * 4)), max_chars)
            else:
                clean[key] = value
        return clean


def cut(text: str, max_chars: int) -> str:
    """``text`` if short enough, else its head and its tail with a marker saying how much
    was dropped between them (a traceback's tail names the exception).

    Neither part ends or starts inside a word, so a secret split by a cut is not half shown.
    """
    if len(text) <= max_chars:
        return text
    keep_tail = max_chars // 4
    head = _TRAILING_WORD.sub("", text[: max_chars - keep_tail])
    tail = _LEADING_WORD.sub("", text[len(text) - keep_tail :]) if keep_tail else ""
    return f"{head}… [{len(text) - len(head) - len(tail)} characters cut] …{tail}"
