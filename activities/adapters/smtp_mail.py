"""Plain-text mail to a list of addresses over SMTP (the postmortem), run in a thread."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from activities.adapters.smtp import SmtpSettings
from activities.errors import Rejected, Unavailable


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
        await asyncio.to_thread(self._deliver, email)

    def _deliver(self, email: EmailMessage) -> None:
        s = self._settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.user and s.password:
                    client.login(s.user, s.password)
                client.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as err:
            raise Rejected(f"SMTP server refused the message: {err}") from None
        except smtplib.SMTPAuthenticationError:
            raise Rejected("SMTP authentication failed") from None
        except (smtplib.SMTPException, OSError) as err:
            raise Unavailable(f"SMTP {s.host}:{s.port} unavailable: {err}") from None
