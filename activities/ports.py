"""Typed ports: what activities need from the outside world. Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflows.config import Person, TocsinConfig


class ConfigSource(Protocol):
    """The configuration as it is now (reloaded when the file changes)."""

    def current(self) -> TocsinConfig: ...


@dataclass(frozen=True)
class Message:
    """A notification, rendered for people: a subject line and a plain-text body."""

    subject: str
    body: str
    page_id: str
    ack_command: str
    ack_url: str


class Notifier(Protocol):
    """Delivers a message to a person by one contact method.

    Raises:
        activities.errors.AdapterError: a subclass saying whether to retry.
    """

    async def send(self, person: Person, address: str, message: Message) -> str:
        """Send and return where it went, safe to log (no secrets)."""
        ...
