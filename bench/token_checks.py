"""What a token check costs: the first (argon2id) check of a token, a cached one, and a
burst of wrong secrets against one known token id (throttled after five a minute).

In-process, no server: the Authenticator of ``starters/credentials/verify.py`` over a
credential kept in memory, with argon2-cffi's default parameters (as ``tocsin api`` uses).
Not part of the test run. Usage::

    .venv/bin/python bench/token_checks.py [--guesses 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from activities.credential_models import CredentialRecord, Kind
from starters.credentials.tokens import Hasher, mint
from starters.credentials.verify import FAILURES_ALLOWED, Authenticator


class OneCredential:
    """The ``Credentials`` port with one stored token."""

    def __init__(self, record: CredentialRecord) -> None:
        self.record = record

    async def get(self, credential_id: str) -> CredentialRecord | None:
        return self.record if credential_id == self.record.id else None

    async def touch(self, credential_id: str, at: datetime) -> None:
        return None


async def main(guesses: int) -> None:
    hasher = Hasher()
    token = mint()
    record = CredentialRecord(
        id=token.id,
        name="laptop",
        kind=Kind.person,
        person="alice",
        scopes=[],
        secret_hash=hasher.hash(token.secret),
        created_at=datetime.now(UTC),
        created_by="bench",
    )
    checks = Authenticator("b" * 32, OneCredential(record), hasher=hasher)  # type: ignore[arg-type]
    started = time.perf_counter()
    await checks.authenticate(token.reveal())
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(1000):
        await checks.authenticate(token.reveal())
    cached = (time.perf_counter() - started) / 1000
    wrong = [f"tocsin_{token.id}_{mint().secret}" for _ in range(guesses)]
    started = time.perf_counter()
    for guess in wrong:
        await checks.authenticate(guess)
    burst = time.perf_counter() - started
    print(f"first check (argon2id):           {first * 1000:8.0f} ms")
    print(f"cached check:                     {cached * 1e6:8.0f} us")
    print(
        f"{guesses} wrong secrets, one token id: {burst:8.2f} s "
        f"({min(guesses, FAILURES_ALLOWED)} hashed; unthrottled ~{guesses * first:.0f} s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guesses", type=int, default=100)
    asyncio.run(main(parser.parse_args().guesses))
