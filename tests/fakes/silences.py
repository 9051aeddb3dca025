"""Silences in memory: the ``Silences`` port for workflow and HTTP tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workflows.silence_models import Silence


@dataclass
class MemorySilences:
    """Keeps silences by id and the pages each held, like the SQL adapter."""

    silences: dict[str, Silence] = field(default_factory=dict)
    holds: dict[str, set[str]] = field(default_factory=dict)

    async def add_silence(self, silence: Silence) -> None:
        self.silences[silence.id] = silence

    async def get_silence(self, silence_id: str) -> Silence | None:
        return self.silences.get(silence_id)

    async def active_silences(self, at: datetime) -> list[Silence]:
        return [s for s in self.silences.values() if s.active(at)]

    async def list_silences(self, since: datetime | None) -> list[Silence]:
        found = [s for s in self.silences.values() if since is None or s.until() >= since]
        return sorted(found, key=lambda s: s.created_at, reverse=True)

    async def end_silence(self, silence_id: str, by: str, at: datetime) -> Silence | None:
        silence = self.silences.get(silence_id)
        if silence is None or silence.ended_at is not None or silence.ends_at <= at:
            return silence
        ended = silence.model_copy(update={"ended_at": at, "ended_by": by})
        self.silences[silence_id] = ended
        return ended

    async def hold_page(self, silence_id: str, page_id: str, at: datetime) -> None:
        self.holds.setdefault(silence_id, set()).add(page_id)

    async def held_pages(self, silence_id: str) -> list[str]:
        return sorted(self.holds.get(silence_id, set()))
