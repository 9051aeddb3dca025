"""From a presented token to a :class:`Principal`: the bootstrap token, or a stored
credential checked against its argon2 hash.

argon2 is slow on purpose (~0.1 s); a successful check is remembered in this process for
:data:`CACHE_TTL` seconds, keyed by the SHA-256 of the whole token. The credential's row
is still read on every request (a primary-key lookup): a revoked token is refused at once,
cache or not. Unknown ids and revoked rows are refused before any hashing, so guessing
costs the server a lookup, not an argon2 run. A known id with wrong secrets is hashed at
most :data:`FAILURES_ALLOWED` times per :data:`FAILURE_WINDOW` (then refused unhashed
until the window passes; a token verified before keeps working from the cache), and at
most :data:`HASHING_AT_ONCE` checks run together (each takes 64 MiB).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from activities.credential_models import CredentialRecord
from activities.errors import AdapterError
from activities.ports import Credentials
from starters.credentials.principal import BOOTSTRAP, Principal
from starters.credentials.tokens import Hasher, fingerprint, parse

log = structlog.get_logger("tocsin.auth")

CACHE_TTL = 60.0
# Verified tokens remembered at most (expired ones go first when it is full).
CACHE_SIZE = 10_000
FAILURES_ALLOWED = 5
FAILURE_WINDOW = 60.0
HASHING_AT_ONCE = 2


def utc_now() -> datetime:
    return datetime.now(UTC)


class Authenticator:
    """Resolves bearer tokens for one process (one cache per instance).

    Args:
        bootstrap: ``TOCSIN_API_TOKEN``, the bootstrap admin.
        credentials: the stored credentials; None when this process has no database
            (then only the bootstrap token is accepted).
        hasher: the argon2 hasher (tests pass a cheap one).
        ttl: seconds a successful argon2 check is remembered.
        clock: monotonic seconds, for the cache; ``now``: wall-clock time for last use.
    """

    def __init__(
        self,
        bootstrap: str,
        credentials: Credentials | None,
        *,
        hasher: Hasher | None = None,
        ttl: float = CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._bootstrap = bootstrap.encode()
        self.credentials = credentials
        self.hasher = hasher or Hasher()
        self._ttl = ttl
        self._clock = clock
        self._now = now
        # fingerprint of the token -> (credential id, monotonic expiry)
        self._verified: dict[str, tuple[str, float]] = {}
        # credential id -> monotonic times of its recent wrong secrets (ids that exist only)
        self._failures: dict[str, list[float]] = {}
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)

    async def authenticate(self, supplied: str) -> Principal | None:
        """The principal of ``supplied``; None for an unknown, revoked or wrong token.

        Raises:
            AdapterError: the credentials' database failed (not the caller's fault).
        """
        if hmac.compare_digest(supplied.strip().encode(), self._bootstrap):
            return BOOTSTRAP
        token = parse(supplied)
        store = self.credentials
        if token is None or store is None:
            return None
        record = await store.get(token.id)
        if record is None or record.revoked:
            return None
        if not await self._verify(record, token.secret, fingerprint(supplied)):
            return None
        return Principal.of(record)

    async def _verify(self, record: CredentialRecord, secret: str, key: str) -> bool:
        """Whether ``secret`` is the record's (cached for the TTL under ``key``)."""
        cached = self._verified.get(key)
        if cached is not None and cached[0] == record.id and cached[1] > self._clock():
            return True
        if self._throttled(record.id):
            return False
        # In a thread: argon2 holds no lock of the event loop's for its ~0.1 s.
        async with self._hashing:
            right = await asyncio.to_thread(self.hasher.verify, record.secret_hash, secret)
        if not right:
            failures = self._failures.setdefault(record.id, [])
            failures.append(self._clock())
            if len(failures) == FAILURES_ALLOWED:  # once per window, not per guess
                log.warning(
                    "wrong secrets for a token: refused unchecked for a minute",
                    principal_id=record.id,
                    failures=FAILURES_ALLOWED,
                )
            return False
        self._failures.pop(record.id, None)
        self._remember(key, record.id)
        if self.credentials is not None:
            await _touch(self.credentials, record.id, self._now())
        return True

    def _throttled(self, credential_id: str) -> bool:
        """Whether ``credential_id`` had :data:`FAILURES_ALLOWED` wrong secrets this window."""
        since = self._clock() - FAILURE_WINDOW
        recent = [t for t in self._failures.get(credential_id, ()) if t > since]
        if recent:
            self._failures[credential_id] = recent
        else:
            self._failures.pop(credential_id, None)
        return len(recent) >= FAILURES_ALLOWED

    def _remember(self, key: str, credential_id: str) -> None:
        now = self._clock()
        if len(self._verified) >= CACHE_SIZE:
            self._verified = {k: v for k, v in self._verified.items() if v[1] > now}
            while len(self._verified) >= CACHE_SIZE:
                del self._verified[next(iter(self._verified))]
        self._verified[key] = (credential_id, now + self._ttl)


async def _touch(store: Credentials, credential_id: str, at: datetime) -> None:
    # Once per verification, not per request: at most one write per token and TTL.
    # Bookkeeping only: a failed write is logged and the caller is let through.
    # (Log fields named *token*/*credential* are redacted whole: the id goes as principal_id.)
    try:
        await store.touch(credential_id, at)
    except AdapterError as err:
        log.warning("token last use not recorded", principal_id=credential_id, error=str(err))
