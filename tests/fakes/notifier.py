"""A recording notifier for workflow tests, with scripted failures per contact method."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.errors import AdapterError
from activities.ports import Message
from workflows.config import Person


@dataclass
class Sent:
    person: str
    address: str
    message: Message


@dataclass
class RecordingNotifier:
    """Records every delivery; ``failures[address]`` makes that address raise instead."""

    sent: list[Sent] = field(default_factory=list)
    failures: dict[str, AdapterError] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)

    async def send(self, person: Person, address: str, message: Message) -> str:
        self.attempts[address] = self.attempts.get(address, 0) + 1
        if address in self.failures:
            raise self.failures[address]
        self.sent.append(Sent(person=person.name, address=address, message=message))
        return address
