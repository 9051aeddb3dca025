"""Typed ports: what activities need from the outside world. Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflows.config import Person, TocsinConfig
from workflows.incident_config import Rollback
from workflows.models import RollbackRequest, RollbackResult


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


class RollbackRunner(Protocol):
    """Runs one kind of rollback (GitHub Actions, signed webhook, local command).

    Returns a result with ``ok=False`` when the rollback ran and failed (non-zero exit,
    rejected dispatch); raises :class:`activities.errors.Unavailable` when it could not
    be run at all and retrying may help.
    """

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult: ...


class Chat(Protocol):
    """Where an incident's conversation happens (console by default, Slack later)."""

    async def create_channel(self, name: str, private: bool) -> str:
        """Create (or find) the channel; return its reference for later calls."""
        ...

    async def invite(self, channel: str, people: list[Person]) -> None: ...

    async def post(self, channel: str, text: str) -> str:
        """Post a message; return a reference to it."""
        ...
