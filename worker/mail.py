"""The SMTP relay of ``TOCSIN_SMTP_*``: email pages, postmortems (the worker) and the
console's sign-in links (the API)."""

from __future__ import annotations

from activities.adapters.smtp import SmtpSettings
from worker.settings import Settings


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    """The SMTP relay for email pages and postmortems, when ``TOCSIN_SMTP_HOST`` is set."""
    if not settings.smtp_host:
        return None
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout,
    )
