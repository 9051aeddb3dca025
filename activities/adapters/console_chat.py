"""Console chat: the default ``Chat`` when no Slack is configured; messages go to the log.

The incident workflow keeps every message in its timeline too, so nothing said in the
channel is lost without Slack.
"""

from __future__ import annotations

import structlog

from workflows.config import Person

log = structlog.get_logger("tocsin.chat")


class ConsoleChat:
    """Channels are names; posting logs the message with its channel."""

    async def create_channel(self, name: str, private: bool) -> str:
        log.info("channel created", channel=name, private=private)
        return name

    async def invite(self, channel: str, people: list[Person]) -> None:
        log.info("invited", channel=channel, people=[p.name for p in people])

    async def post(self, channel: str, text: str) -> str:
        log.warning("CHAT", channel=channel, text=text)
        return channel
