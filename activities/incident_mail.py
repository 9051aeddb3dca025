"""Incident announcements by e-mail: a severity's ``email:`` targets, through SMTP.

A target is an address, a person id (their ``email``) or a team id (its members' emails),
resolved with the config of the moment, as the postmortem's recipients are. Without SMTP,
or when a target reaches nobody, the activity fails as ``NotConfigured`` (not retried) and
the incident's timeline says so; a refused message is ``Rejected``, an SMTP outage is
retried.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import AdapterError, to_application_error
from activities.ports import ConfigSource
from activities.tracker import Mailer, incident_link, recipient_addresses
from workflows.incident_models import AnnouncementMail

NO_SMTP = (
    "SMTP is not configured: set TOCSIN_SMTP_HOST (and TOCSIN_SMTP_FROM) on the worker "
    "to announce incidents by e-mail"
)


class IncidentMailActivities:
    """Mails incident announcements with the worker's SMTP settings."""

    def __init__(self, config: ConfigSource, mailer: Mailer | None, api_url: str) -> None:
        """Bind the activity to its adapter.

        Args:
            config: people and teams, to resolve the targets.
            mailer: SMTP, or None when no SMTP host is set.
            api_url: the public URL of the HTTP API (the mail links to the incident).
        """
        self._config = config
        self._mailer = mailer
        self._api_url = api_url

    @activity.defn(name="mail_announcement")
    async def mail_announcement(self, mail: AnnouncementMail) -> list[str]:
        """Send the announcement (one message to every address); returns the addresses.

        Raises:
            ApplicationError: ``NotConfigured`` (no SMTP, nobody to mail) and ``Rejected``
                are final; ``Unavailable`` is retried.
        """
        to = recipient_addresses(self._config.current(), mail.to)
        if not to:
            targets = ", ".join(f"email:{t}" for t in mail.to)
            raise ApplicationError(
                f"no e-mail address for {targets}", type="NotConfigured", non_retryable=True
            )
        if self._mailer is None:
            raise ApplicationError(NO_SMTP, type="NotConfigured", non_retryable=True)
        body = f"{mail.body}\n\n{incident_link(self._api_url, mail.incident_id)}\n"
        try:
            await self._mailer.send_mail(
                to, mail.subject, body, {"X-Tocsin-Incident": mail.incident_id}
            )
        except AdapterError as err:
            raise to_application_error(err) from err
        activity.logger.info("announcement of %s mailed to %d addresses", mail.incident_id, len(to))
        return to
