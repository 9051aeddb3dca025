"""API credentials in memory (the ``Credentials`` port), and a cheap argon2 hasher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher

from activities.credential_models import CredentialRecord
from activities.errors import Rejected, Unavailable
from starters.credentials.tokens import Hasher


class CountingHasher(Hasher):
    """argon2id at its cheapest parameters (tests need no work factor), counting checks."""

    def __init__(self) -> None:
        super().__init__(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        self.verified = 0

    def verify(self, secret_hash: str, secret: str) -> bool:
        self.verified += 1
        return super().verify(secret_hash, secret)


@dataclass
class MemoryCredentials:
    """Credentials by id; counts reads, records touches; ``down`` makes every call fail."""

    rows: dict[str, CredentialRecord] = field(default_factory=dict)
    reads: int = 0
    touched: list[tuple[str, datetime]] = field(default_factory=list)
    down: bool = False
    touch_down: bool = False

    def _check(self) -> None:
        if self.down:
            raise Unavailable("credentials: connection refused")

    async def create(self, record: CredentialRecord) -> None:
        self._check()
        if record.id in self.rows:
            raise Rejected(f"credential {record.id} exists")
        self.rows[record.id] = record

    async def get(self, credential_id: str) -> CredentialRecord | None:
        self._check()
        self.reads += 1
        return self.rows.get(credential_id)

    async def list_all(self) -> list[CredentialRecord]:
        self._check()
        return sorted(self.rows.values(), key=lambda r: (r.created_at, r.id), reverse=True)

    async def revoke(self, credential_id: str, at: datetime) -> CredentialRecord | None:
        self._check()
        record = self.rows.get(credential_id)
        if record is not None and record.revoked_at is None:
            record = self.rows[credential_id] = record.model_copy(update={"revoked_at": at})
        return record

    async def touch(self, credential_id: str, at: datetime) -> None:
        self._check()
        if self.touch_down:
            raise Unavailable("credentials: disk full")
        self.touched.append((credential_id, at))
        if credential_id in self.rows:
            record = self.rows[credential_id]
            self.rows[credential_id] = record.model_copy(update={"last_used_at": at})
