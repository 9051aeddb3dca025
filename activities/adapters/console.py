"""Console notifier: a structured log line saying who is paged and how to acknowledge."""

from __future__ import annotations

import structlog

from activities.ports import Message
from workflows.config import Person

log = structlog.get_logger("tocsin.page")


class ConsoleNotifier:
    """Writes the page to the process log; works with no account anywhere."""

    async def send(self, person: Person, address: str, message: Message) -> str:
        log.warning(
            "PAGE",
            person=person.name,
            page_id=message.page_id,
            subject=message.subject,
            ack=message.ack_command,
        )
        return "console"
