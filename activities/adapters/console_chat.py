"""Console chat: the default ``Chat`` when no Slack is configured; messages go to the log.

The incident workflow keeps every message in its timeline too, so nothing said in the
channel is lost without Slack.
"""

from __future__ import annotations

import itertools

import structlog

from activities.ports import Card
from workflows.config import Person

log = structlog.get_logger("tocsin.chat")


class ConsoleChat:
    """Channels are names; posting logs the message with its channel."""

    def __init__(self) -> None:
        self._refs = itertools.count(1)

    async def create_channel(self, name: str, private: bool) -> str:
        log.info("channel created", channel=name, private=private)
        return name

    async def invite(self, channel: str, people: list[Person]) -> None:
        log.info("invited", channel=channel, people=[p.name for p in people])

    async def post(self, channel: str, text: str, card: Card | None = None) -> str:
        ref = f"{channel}/{next(self._refs)}"
        log.warning("CHAT", channel=channel, text=text, ref=ref)
        return ref

    async def update(self, channel: str, ref: str, text: str, card: Card | None = None) -> None:
        log.info("CHAT updated", channel=channel, ref=ref, text=text)

    async def set_topic(self, channel: str, topic: str) -> None:
        log.info("topic", channel=channel, topic=topic)

    async def pin(self, channel: str, ref: str) -> None:
        log.info("pinned", channel=channel, ref=ref)

    async def archive(self, channel: str) -> None:
        log.info("channel archived", channel=channel)

    async def set_usergroup(self, usergroup: str, people: list[Person]) -> None:
        log.info("user group", usergroup=usergroup, people=[p.name for p in people])
