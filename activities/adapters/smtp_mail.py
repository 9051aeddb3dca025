"""Plain-text mail to a list of addresses over SMTP (the postmortem), run in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from email.message import EmailMessage

from activities.adapters.smtp import SmtpSettings, deliver


class SmtpMailer:
    """Sends one message to several recipients with the page notifier's SMTP settings."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send_mail(
        self, to: Sequence[str], subject: str, body: str, headers: dict[str, str] | None = None
    ) -> None:
        """Send ``body`` as text/plain to every address in ``to`` (one message)."""
        email = EmailMessage()
        email["From"] = self._settings.sender
        email["To"] = ", ".join(to)
        email["Subject"] = subject
        for name, value in (headers or {}).items():
            email[name] = value
        email.set_content(body)
        await asyncio.to_thread(deliver, self._settings, email)
