"""The notify activity: render a page notification and hand it to the right notifier,
once: each delivery has an idempotency key, confirmed in the notification ledger once it
is sent, so a retry (the worker died mid-send) skips what arrived."""

from __future__ import annotations

import hashlib
import logging
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.cli_hint import tocsin_command
from activities.contacts import find_contact
from activities.errors import AdapterError, RateLimited, Unavailable, to_application_error
from activities.ports import (
    ActionLinks,
    ConfigSource,
    DeliveryLookup,
    LinkSigner,
    Message,
    Meter,
    NotificationLedger,
    Notifier,
)
from workflows.config import BUILTIN_METHODS, Person
from workflows.models import NotifyInput, NotifyResult


def _log(level: int, event: str, **fields: object) -> None:
    """An activity log line with its fields (``key=value``), as the worker logs activities.
    Not structlog: workflow code imports this module, and must load no logging library."""
    activity.logger.log(level, "%s %s", event, " ".join(f"{k}={v}" for k, v in fields.items()))


def delivery_key(request: NotifyInput, info: activity.Info) -> str:
    """The idempotency key of one delivery: its page, step, person and contact method, and
    which of the page's notifications it is, as the workflow numbers them (its run and the
    activity id it gave the notification).

    Every retry of the activity, on whichever worker, has the same key (unlike
    ``info.attempt``); a repeat round or a reopened page schedules a new activity, so it
    has a new key and is sent. 32 hex digits (the parts hashed: no length limits).
    """
    parts = (
        request.page_id,
        str(request.step),
        request.person,
        request.method,
        info.workflow_run_id or "",
        info.activity_id,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def render_message(
    request: NotifyInput,
    api_url: str,
    links: ActionLinks | None = None,
    delivery_key: str | None = None,
) -> Message:
    """The page notification every contact method carries: id, summary, step and how to ack.

    With ``links`` (signed for the notified person), the body leads with the one-click
    acknowledge, escalate and open links; the CLI and curl lines follow as a fallback.
    """
    cli = f"{tocsin_command()} page ack {shlex.quote(request.page_id)} --as {shlex.quote(request.person)}"
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
        delivery_key=delivery_key,
    )


class NotifyActivities:
    """Delivers page notifications through the configured notifiers, keyed by method kind.

    Args:
        links: signs the one-click links for the notified person; None: no links.
        ledger: the deliveries confirmed, written after each send and read before a
            retry's; None: none (as before: a retry after a worker died mid-send sends
            again).
        meter: counts notifications by channel and outcome, and the escalation lateness
            of those sent; None: nothing is counted.
    """

    def __init__(
        self,
        config: ConfigSource,
        notifiers: Mapping[str, Notifier],
        api_url: str,
        links: LinkSigner | None = None,
        ledger: NotificationLedger | None = None,
        meter: Meter | None = None,
    ) -> None:
        self._config = config
        self._notifiers = notifiers
        self._api_url = api_url
        self._links = links
        self._ledger = ledger
        self._meter = meter

    @activity.defn(name="notify")
    async def notify(self, request: NotifyInput) -> NotifyResult:
        """Notify one person by one method, once.

        Each delivery is confirmed in the ledger once sent. A retry (an earlier attempt
        may have sent it: the worker died mid-send) sends nothing the ledger has confirmed;
        otherwise a channel that can say whether it arrived is asked (Slack), and any
        other gets it again (e-mail with the same Message-ID, recognisably the same
        message).

        Raises:
            ApplicationError: ``Unavailable``/``RateLimited`` are retried; ``Rejected`` and
                ``NotConfigured`` are not, so the page moves on to the next contact method.
        """
        try:
            person, address, kind, notifier = self._target(request)
        except ApplicationError:
            self._count("unknown", "rejected")
            raise
        # Signed here, at send time: a link never enters the workflow's history.
        links = (
            self._links.page_links(request.page_id, request.person)
            if self._links is not None
            else None
        )
        info = activity.info()
        key = delivery_key(request, info)
        message = render_message(request, self._api_url, links, key)
        context = {"page_id": request.page_id, "person": request.person, "step": request.step}
        earlier = await self._earlier(key, info, notifier, person, address, message, context)
        if earlier is not None:
            return NotifyResult(method=request.method, delivered_to=earlier)
        try:
            delivered_to = await notifier.send(person, address, message)
        except AdapterError as err:
            failure = to_application_error(err)
            self._count(kind, "rejected" if failure.non_retryable else "failed")
            raise failure from err
        self._sent(kind, request)
        await self._confirm(key, request.page_id, delivered_to, context)
        return NotifyResult(method=request.method, delivered_to=delivered_to)

    def _count(self, channel: str, outcome: str) -> None:
        if self._meter is not None:
            self._meter.notification(channel, outcome)

    def _sent(self, channel: str, request: NotifyInput) -> None:
        """Count a notification sent, and how late it went out against its step's due time."""
        if self._meter is None:
            return
        self._meter.notification(channel, "sent")
        if request.due_at is not None:
            late = datetime.now(UTC) - request.due_at
            self._meter.escalation_lateness(request.step, late.total_seconds())

    def _target(self, request: NotifyInput) -> tuple[Person, str, str, Notifier]:
        """The person, their contact address for the method, its notifier's kind, and the
        notifier.

        Raises:
            ApplicationError: ``Rejected`` (the person or the method is gone from the
                config) or ``NotConfigured`` (no notifier of that kind); not retried.
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
        return person, address, kind, notifier

    async def _earlier(
        self,
        key: str,
        info: activity.Info,
        notifier: Notifier,
        person: Person,
        address: str,
        message: Message,
        context: dict[str, object],
    ) -> str | None:
        """On a retry, where an earlier attempt of this delivery went, when known (the
        ledger has it confirmed, or its channel has it); None: send it.

        The first attempt asks nothing: no attempt can have sent it before, and a page's
        first notification does not wait for the database (1,000 reads at once take a
        second on SQLite).
        """
        if self._ledger is None or info.attempt <= 1:
            return None
        try:
            confirmed = await self._ledger.delivered_to(key)
        except AdapterError as err:
            # A ledger that fails does not hold the page up.
            _log(logging.WARNING, "notification ledger failed: not read", **context, error=str(err))
            confirmed = None
        if confirmed is not None:
            _log(logging.INFO, "notification already delivered", **context, to=confirmed)
            return confirmed
        found = await self._find(notifier, person, address, message, info.scheduled_time, context)
        if found is not None:
            _log(logging.INFO, "notification found in its channel", **context, to=found)
            await self._confirm(key, message.page_id, found, context)
            return found
        _log(logging.INFO, "notification sent again", **context, attempt=info.attempt)
        return None

    async def _find(
        self,
        notifier: Notifier,
        person: Person,
        address: str,
        message: Message,
        since: datetime,
        context: dict[str, object],
    ) -> str | None:
        """Where an earlier attempt went, if its channel can say (None: it did not arrive,
        or the channel cannot be asked).

        Raises:
            ApplicationError: the channel is unavailable or rate limited (retried later).
        """
        if not isinstance(notifier, DeliveryLookup):
            return None
        try:
            return await notifier.find_delivery(person, address, message, since)
        except (Unavailable, RateLimited) as err:
            raise to_application_error(err) from err
        except AdapterError as err:
            _log(logging.WARNING, "notification lookup failed", **context, error=str(err))
            return None

    async def _confirm(
        self, key: str, page_id: str, delivered_to: str, context: dict[str, object]
    ) -> None:
        """Confirm ``key`` in the ledger. A failure is logged, not raised: the notification
        has gone, and a retry would only ask the channel or send it again."""
        if self._ledger is None:
            return
        try:
            await self._ledger.confirm_delivery(key, page_id, delivered_to, datetime.now(UTC))
        except AdapterError as err:
            _log(
                logging.WARNING,
                "notification ledger failed: delivery unconfirmed",
                **context,
                error=str(err),
            )
