"""Email over SMTP with the standard library, run in a thread (smtplib is blocking).

A page's mail has a Message-ID made from its delivery key: a copy sent again after an
attempt was cut off (the worker died) is the same message to the recipient's mail system.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from activities.errors import NotConfigured, Rejected, Unavailable
from activities.ports import Message
from workflows.config import Person


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


def message_id(delivery_key: str, sender: str) -> str:
    """``<tocsin.<key>@<the sender's domain>>``: the same for every copy of one delivery."""
    _, at, domain = sender.rpartition("@")
    domain = domain.strip().rstrip(">") if at else ""
    return f"<tocsin.{delivery_key}@{domain or 'localhost'}>"


class SmtpNotifier:
    """Sends the page to ``people.<id>.email``."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, person: Person, address: str, message: Message) -> str:
        if not person.email:
            raise NotConfigured(f"{person.name} has no email address")
        email = EmailMessage()
        email["From"] = self._settings.sender
        email["To"] = person.email
        email["Subject"] = message.subject
        email["X-Tocsin-Page"] = message.page_id
        if message.delivery_key is not None:
            email["Message-ID"] = message_id(message.delivery_key, self._settings.sender)
        email.set_content(message.body)
        await asyncio.to_thread(deliver, self._settings, email)
        return f"email {person.email}"


def deliver(s: SmtpSettings, email: EmailMessage) -> None:
    """Send one message over SMTP (blocking: call it in a thread).

    Raises:
        Rejected: the server refused the sender, a recipient or the login.
        Unavailable: the server could not be reached or failed (worth a retry).
    """
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
