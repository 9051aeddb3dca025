"""The notify activity: render a page notification and hand it to the right notifier."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import UTC

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contacts import find_contact
from activities.errors import AdapterError, to_application_error
from activities.ports import ActionLinks, ConfigSource, LinkSigner, Message, Notifier
from workflows.config import BUILTIN_METHODS
from workflows.models import NotifyInput, NotifyResult


def render_message(request: NotifyInput, api_url: str, links: ActionLinks | None = None) -> Message:
    """The page notification every contact method carries: id, summary, step and how to ack.

    With ``links`` (signed for the notified person), the body leads with the one-click
    acknowledge, escalate and open links; the CLI and curl lines follow as a fallback.
    """
    cli = f"tocsin page ack {shlex.quote(request.page_id)} --as {shlex.quote(request.person)}"
    url = f"{api_url.rstrip('/')}/api/pages/{request.page_id}/ack"
    curl = (
        f'curl -X POST -H "Authorization: Bearer $TOCSIN_API_TOKEN" '
        f"-H 'Content-Type: application/json' -d '{{\"by\": \"{request.person}\"}}' {url}"
    )
    subject = (
        f"[Tocsin] PAGE [{request.team}] {request.summary} "
        f"(step {request.step}/{request.step_count})"
    )
    lines = [
        f"{request.person_name}, you are paged for team {request.team}.",
        "",
        f"Page:    {request.page_id}",
        f"Summary: {request.summary}",
        f"Step:    {request.step} of {request.step_count}",
    ]
    if request.details:
        lines += ["", request.details]
    if links is not None:
        lines += [
            "",
            f"Acknowledge: {links.acknowledge}",
            f"Escalate:    {links.escalate}",
            f"Open:        {links.open}",
            f"(Each link asks you to confirm; they work until "
            f"{links.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.)",
        ]
    fallback = "Or acknowledge with:" if links is not None else "Acknowledge with:"
    lines += ["", fallback, f"  {cli}", f"  {curl}"]
    return Message(
        subject=subject,
        body="\n".join(lines),
        page_id=request.page_id,
        ack_command=cli,
        ack_url=url,
        links=links,
    )


class NotifyActivities:
    """Delivers page notifications through the configured notifiers, keyed by method kind.

    Args:
        links: signs the one-click links for the notified person; None: no links.
    """

    def __init__(
        self,
        config: ConfigSource,
        notifiers: Mapping[str, Notifier],
        api_url: str,
        links: LinkSigner | None = None,
    ) -> None:
        self._config = config
        self._notifiers = notifiers
        self._api_url = api_url
        self._links = links

    @activity.defn(name="notify")
    async def notify(self, request: NotifyInput) -> NotifyResult:
        """Notify one person by one method.

        Raises:
            ApplicationError: ``Unavailable``/``RateLimited`` are retried; ``Rejected`` and
                ``NotConfigured`` are not, so the page moves on to the next contact method.
        """
        person = self._config.current().people.get(request.person)
        if person is None:
            raise ApplicationError(
                f"{request.person!r} is no longer in the configuration",
                type="Rejected",
                non_retryable=True,
            )
        address = find_contact(person, request.method)
        if address is None:
            raise ApplicationError(
                f"{request.person} no longer has contact method {request.method}",
                type="Rejected",
                non_retryable=True,
            )
        kind = address if address in BUILTIN_METHODS else "apprise"
        notifier = self._notifiers.get(kind)
        if notifier is None:
            raise ApplicationError(
                f"{kind} notifications are not configured", type="NotConfigured", non_retryable=True
            )
        # Signed here, at send time: a link never enters the workflow's history.
        links = (
            self._links.page_links(request.page_id, request.person)
            if self._links is not None
            else None
        )
        message = render_message(request, self._api_url, links)
        try:
            delivered_to = await notifier.send(person, address, message)
        except AdapterError as err:
            raise to_application_error(err) from err
        return NotifyResult(method=request.method, delivered_to=delivered_to)
