"""Tocsin ids (``[a-z0-9][a-z0-9_-]*``, 64 characters at most) made from Opsgenie names, and
time zone names checked as ``tocsin.yaml`` checks them."""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_LENGTH = 64
_OTHER = re.compile(r"[^a-z0-9_-]+")
_EDGES = "-_"


def slug(text: str, fallback: str = "x") -> str:
    """``Platform Team`` → ``platform-team``, ``alice.ng@acme.example`` → ``alice-ng-acme-example``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = _OTHER.sub("-", ascii_text.lower()).strip(_EDGES)
    return cleaned[: MAX_LENGTH - 4].strip(_EDGES) or fallback


def person_slug(username: str) -> str:
    """A person's id from the local part of their Opsgenie username (an email address)."""
    return slug(username.split("@", 1)[0], fallback="person")


class Ids:
    """Hands out ids unique within one namespace of ``tocsin.yaml`` (people, teams, …)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def new(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``… when taken."""
        candidate, n = base, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{base}-{n}"
        self._taken.add(candidate)
        return candidate


def known_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA time zone Tocsin accepts (``Europe/Berlin``, not ``CET+1``)."""
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
