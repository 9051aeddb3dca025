"""Signed one-click links: acknowledge, escalate or open a page (or open an incident) from
a notification, as the person it was sent to, without a token.

A link grants one action on one subject to one person until it expires, and is signed
with HMAC-SHA256 under ``TOCSIN_LINK_KEY``::

    <public url>/a/l1.<payload>.<signature>

``payload`` is the grant (URL-safe base64 of a short JSON list; readable, not secret),
``signature`` the HMAC of it (URL-safe base64, 43 characters). Changing any part of the
grant breaks the signature; a link signed with another key does not verify; an expired
one is refused even though its signature holds. The worker signs (it renders the
notifications), the API verifies (``starters/http/links.py``): both need the same key.

Pure: no I/O but the one log line of :func:`link_signer`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog

from activities.ports import ActionLinks
from worker.settings import Settings

log = structlog.get_logger("tocsin.links")

SubjectKind = Literal["page", "incident"]
LinkAction = Literal["acknowledge", "escalate", "open"]
# What a link may do to each kind of subject (an incident has nothing to acknowledge).
ACTIONS: dict[SubjectKind, tuple[LinkAction, ...]] = {
    "page": ("acknowledge", "escalate", "open"),
    "incident": ("open",),
}
# In the signed payload, one letter each (links stay short enough for any mail client).
KIND_CODES: dict[SubjectKind, str] = {"page": "p", "incident": "i"}
ACTION_CODES: dict[LinkAction, str] = {"acknowledge": "a", "escalate": "e", "open": "o"}
KINDS = {code: kind for kind, code in KIND_CODES.items()}
ACTIONS_BY_CODE = {code: action for action, code in ACTION_CODES.items()}
PATH = "/a/"
VERSION = "l1"
# The signed text starts with what it is, so no other HMAC under this key can pass for it.
CONTEXT = b"tocsin one-click link v1\n"
# A link is about 100 characters; anything much longer is not one of ours.
MAX_TOKEN_CHARS = 1024
TOKEN = re.compile(r"l1\.(?P<payload>[A-Za-z0-9_-]{1,900})\.(?P<mac>[A-Za-z0-9_-]{43})")
LINKS_OFF = (
    "one-click links are off: set TOCSIN_LINK_KEY (at least 32 characters, the same value "
    "for `tocsin worker` and `tocsin api`) to put signed acknowledge/escalate/open links "
    "in notifications"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LinkGrant:
    """What a link allows: ``action`` on the ``kind`` ``subject``, as ``person``, until
    ``expires_at`` (whole seconds, UTC)."""

    kind: SubjectKind
    subject: str
    action: LinkAction
    person: str
    expires_at: datetime


class InvalidLink(ValueError):
    """Not a link this Tocsin signed: cut, altered, or signed with another key."""


class ExpiredLink(ValueError):
    """A genuine link, past its expiry."""

    def __init__(self, grant: LinkGrant) -> None:
        super().__init__(f"the link expired at {grant.expires_at:%Y-%m-%d %H:%M} UTC")
        self.grant = grant


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding, as signed links, console sessions and Opsgenie
    request ids write their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes :func:`b64url` wrote (``binascii.Error`` for text it cannot have)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkKey:
    """Signs and verifies link tokens (the part after ``/a/``) with one key.

    Args:
        key: ``TOCSIN_LINK_KEY``; its repr never shows it.
    """

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the link key must not be empty")
        self._key = key.encode()

    def __repr__(self) -> str:
        return "LinkKey(…)"

    def _mac(self, payload: str) -> str:
        return b64url(hmac.new(self._key, CONTEXT + payload.encode(), hashlib.sha256).digest())

    def sign(self, grant: LinkGrant) -> str:
        """The token for ``grant``.

        Raises:
            ValueError: the action does not apply to the subject's kind.
        """
        if grant.action not in ACTIONS[grant.kind]:
            raise ValueError(f"a link cannot {grant.action} an {grant.kind}")
        fields = [
            KIND_CODES[grant.kind],
            grant.subject,
            ACTION_CODES[grant.action],
            grant.person,
            int(grant.expires_at.timestamp()),
        ]
        payload = b64url(json.dumps(fields, separators=(",", ":")).encode())
        return f"{VERSION}.{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: datetime) -> LinkGrant:
        """The grant of a token this key signed, if it has not expired at ``now``.

        The signature is checked (in constant time) before anything of the payload is
        read.

        Raises:
            InvalidLink: not a token, or not signed with this key.
            ExpiredLink: signed with this key, expired.
        """
        match = TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_CHARS else None
        if match is None:
            raise InvalidLink("this is not a Tocsin link (it is cut or altered)")
        payload = match["payload"]
        if not hmac.compare_digest(self._mac(payload).encode(), match["mac"].encode()):
            raise InvalidLink(
                "this link's signature does not match: it was altered, or it was not made "
                "by this Tocsin"
            )
        grant = _grant(payload)
        if now >= grant.expires_at:
            raise ExpiredLink(grant)
        return grant


def _grant(payload: str) -> LinkGrant:
    """The grant in a payload whose signature holds (so only a bug makes it malformed)."""
    try:
        kind_code, subject, action_code, person, expires = json.loads(unb64url(payload))
        expires_at = datetime.fromtimestamp(int(expires), UTC)
        kind, action = KINDS[kind_code], ACTIONS_BY_CODE[action_code]
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError, OSError):
        raise InvalidLink("this link's content is malformed") from None
    if (
        kind not in ACTIONS
        or action not in ACTIONS[kind]
        or not all(isinstance(text, str) and text for text in (subject, person))
    ):
        raise InvalidLink("this link's content is malformed")
    return LinkGrant(kind, subject, action, person, expires_at)


class SignedLinks:
    """One-click links as the worker puts them in notifications, and as the API checks them.

    Args:
        key: the signing key.
        base_url: the public URL of the API (``TOCSIN_PUBLIC_URL``).
        ttl: how long a link works (``TOCSIN_LINK_TTL``).
        clock: the current time (tests pass their own).
    """

    def __init__(
        self,
        key: LinkKey,
        base_url: str,
        ttl: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.key = key
        self._base = base_url.rstrip("/")
        self._ttl = ttl
        self._clock = clock

    def url(self, token: str) -> str:
        return f"{self._base}{PATH}{token}"

    def expiry(self) -> datetime:
        """When a link signed now expires (whole seconds)."""
        return (self._clock() + self._ttl).replace(microsecond=0)

    def link(self, kind: SubjectKind, subject: str, action: LinkAction, person: str) -> str:
        """The signed URL for ``action`` on the subject as ``person``, for one TTL."""
        return self.url(self.key.sign(LinkGrant(kind, subject, action, person, self.expiry())))

    def page_links(self, page_id: str, person: str) -> ActionLinks:
        """Acknowledge, escalate and open ``page_id`` as ``person`` (the notify activity's
        :class:`~activities.ports.LinkSigner`)."""
        expires = self.expiry()

        def url(action: LinkAction) -> str:
            return self.url(self.key.sign(LinkGrant("page", page_id, action, person, expires)))

        return ActionLinks(
            acknowledge=url("acknowledge"),
            escalate=url("escalate"),
            open=url("open"),
            expires_at=expires,
        )

    def check(self, token: str) -> LinkGrant:
        """The grant of a link token, now (raises like :meth:`LinkKey.verify`)."""
        return self.key.verify(token, self._clock())


def link_signer(settings: Settings, base_url: str) -> SignedLinks | None:
    """The links of ``TOCSIN_LINK_KEY`` at ``base_url``; None (logged) without a key.

    Never a made-up key: outside ``tocsin dev`` (which keeps one in its data dir) links
    are simply left out of notifications, and ``/a/…`` answers that they are off.
    """
    key = settings.link_key.get_secret_value() if settings.link_key is not None else ""
    if not key:
        log.info(LINKS_OFF)
        return None
    return SignedLinks(LinkKey(key), base_url, settings.link_ttl)
