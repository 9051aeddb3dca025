"""Typed ports: what activities need from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from activities.credential_models import CredentialRecord
from workflows.archive_models import AlertSpill, TimelineEntries, TimelineSpill
from workflows.chat_models import IncidentCard
from workflows.check_models import ProbeResult
from workflows.config import Person, TocsinConfig
from workflows.incident_config import Rollback
from workflows.incident_models import (
    FileSpec,
    IncidentRecord,
    IncidentState,
    IssueCheck,
    IssueRef,
    IssueSpec,
    LogQuery,
)
from workflows.models import AlertList, PageCard, RollbackRequest, RollbackResult
from workflows.page_log import PageLogEntry
from workflows.rotation_models import (
    ReportQuery,
    RotationPlan,
    ShiftReport,
    TeamActivity,
    TeamActivityQuery,
)
from workflows.silence_models import Silence

Card = IncidentCard | PageCard


class ConfigSource(Protocol):
    """The configuration as it is now (reloaded when the file changes)."""

    def current(self) -> TocsinConfig: ...


@dataclass(frozen=True)
class ActionLinks:
    """Signed one-click links for one person on one page, each to a confirmation page in
    the browser (a GET never acts; its button does), valid until ``expires_at``."""

    acknowledge: str
    escalate: str
    open: str
    expires_at: datetime


class LinkSigner(Protocol):
    """Signs one-click links (``starters.links.SignedLinks`` under ``TOCSIN_LINK_KEY``)."""

    def page_links(self, page_id: str, person: str) -> ActionLinks:
        """Acknowledge, escalate and open ``page_id`` as ``person``."""
        ...


@dataclass(frozen=True)
class Message:
    """A notification, rendered for people: a subject line and a plain-text body.

    ``links`` are in the body too; None when one-click links are off. They are
    capabilities (whoever holds one may act as the person): never log them.
    ``delivery_key`` is the delivery's idempotency key (the same on every retry of it):
    a channel that can recognise a message sent again carries it (Slack message metadata,
    the e-mail's Message-ID).
    """

    subject: str
    body: str
    page_id: str
    ack_command: str
    ack_url: str
    links: ActionLinks | None = None
    delivery_key: str | None = None


class Notifier(Protocol):
    """Delivers a message to a person by one contact method.

    Raises:
        activities.errors.AdapterError: a subclass saying whether to retry.
    """

    async def send(self, person: Person, address: str, message: Message) -> str:
        """Send and return where it went, safe to log (no secrets)."""
        ...


class Meter(Protocol):
    """Counts what the worker does for ``/metrics``, by bounded labels only (a channel,
    an outcome, never a page or a person)."""

    def notification(self, channel: str, outcome: str) -> None:
        """One notification ended: ``sent``, ``failed`` (retried) or ``rejected``."""
        ...

    def escalation_lateness(self, step: int, seconds: float) -> None:
        """Step ``step``'s notification went out ``seconds`` after its due time."""
        ...

    def handoff(self, outcome: str) -> None:
        """One handoff message: ``sent`` or ``failed``."""
        ...


@runtime_checkable
class DeliveryLookup(Protocol):
    """A notifier whose channel can say whether a message arrived (Slack: the message
    metadata carries the delivery key), asked when an earlier attempt may have sent it.

    Raises:
        activities.errors.AdapterError: ``Unavailable``/``RateLimited`` to retry; any other
            means the channel cannot be asked (the message is then sent again).
    """

    async def find_delivery(
        self, person: Person, address: str, message: Message, since: datetime
    ) -> str | None:
        """Where ``message`` (by its ``delivery_key``) went, when the channel has it from
        ``since`` on; None when it does not."""
        ...


@runtime_checkable
class NotificationLedger(Protocol):
    """Page notifications delivered, by idempotency key, durable and shared by every worker:
    a notify activity retried after a worker died skips what was confirmed.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def delivered_to(self, key: str) -> str | None:
        """Where the delivery ``key`` went, once confirmed; None when it is not."""
        ...

    async def confirm_delivery(
        self, key: str, page_id: str, delivered_to: str, at: datetime
    ) -> None:
        """Record that ``key`` was delivered at ``at`` (``delivered_to``: where, safe to
        log); a second confirmation keeps the first."""
        ...


class RollbackRunner(Protocol):
    """Runs one kind of rollback (GitHub Actions, signed webhook, local command).

    Returns a result with ``ok=False`` when the rollback ran and failed (non-zero exit,
    rejected dispatch); raises :class:`activities.errors.Unavailable` when it could not
    be run at all and retrying may help.
    """

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult: ...


class Chat(Protocol):
    """Where an incident's conversation happens (console by default, or Slack).

    Channels are references the adapter hands out (Slack ids) or ``#names``. A ``card`` is
    the structured form of a message (an incident or a page with its buttons); ``text``
    is always given too, for clients that cannot show the card.
    """

    async def create_channel(self, name: str, private: bool) -> str:
        """Create the channel; return its reference for later calls."""
        ...

    async def invite(self, channel: str, people: list[Person]) -> None: ...

    async def post(self, channel: str, text: str, card: Card | None = None) -> str:
        """Post a message; return a reference to it (for ``update`` and ``pin``)."""
        ...

    async def update(self, channel: str, ref: str, text: str, card: Card | None = None) -> None:
        """Replace a message posted earlier, in place."""
        ...

    async def set_topic(self, channel: str, topic: str) -> None: ...

    async def pin(self, channel: str, ref: str) -> None: ...

    async def archive(self, channel: str) -> None: ...

    async def set_usergroup(self, usergroup: str, people: list[Person]) -> None:
        """Make a user group (``@delivery-support``) exactly these people."""
        ...


class Tracker(Protocol):
    """Where follow-ups and postmortems live (GitHub issues and files).

    Raises (every method):
        activities.errors.AdapterError: ``RateLimited`` with the delay to honour,
            ``Unavailable`` to retry, ``NotFound``/``Rejected``/``NotConfigured`` not to.
    """

    async def create_issue(self, spec: IssueSpec) -> IssueRef:
        """Create the issue, or return the one an earlier try with the same key made."""
        ...

    async def get_issue(self, check: IssueCheck) -> IssueRef | None:
        """The issue's state now; None when ``check.etag`` still matches (unchanged)."""
        ...

    async def link_issue(self, url: str) -> IssueRef:
        """An existing issue, from the URL someone pasted."""
        ...

    async def add_label(self, repo: str, number: int, label: str) -> None:
        """Add ``label`` to the issue (created in the repository if it does not exist);
        the issue's other labels stay."""
        ...

    async def publish_file(self, spec: FileSpec) -> str:
        """Commit the file (create or update); return its web URL."""
        ...


class RotationSource(Protocol):
    """The live plan of a rotation (its RotationWorkflow's overrides and swaps)."""

    async def plan(self, name: str) -> RotationPlan | None:
        """None when the rotation has no running workflow (the config alone then applies)."""
        ...


class TeamActivitySource(Protocol):
    """A team's pages and incidents in a window, and what is still open (for handoffs)."""

    async def activity(self, query: TeamActivityQuery) -> TeamActivity: ...


class Store(Protocol):
    """The incident log (one row per incident, upserted at each status change) and the
    archive of what long-lived workflows spill before they continue as new: timeline
    entries and alerts, keyed by subject (the workflow id) and sequence number.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def upsert_incident(self, record: IncidentRecord) -> None: ...

    async def list_incidents(self, query: LogQuery) -> list[IncidentRecord]: ...

    async def archive_timeline(self, spill: TimelineSpill) -> None:
        """Store the entries; one already stored under its (subject, seq) stays as it is."""
        ...

    async def read_timeline(
        self, subject: str, offset: int = 0, limit: int = 500
    ) -> TimelineEntries:
        """Archived entries of ``subject`` with sequence numbers from ``offset``, oldest
        first, at most ``limit``; ``total``: how many it has archived."""
        ...

    async def archive_alerts(self, spill: AlertSpill) -> None:
        """Store the alerts; one already stored under its (subject, seq) stays as it is."""
        ...

    async def read_alerts(self, subject: str, offset: int = 0, limit: int = 500) -> AlertList:
        """Archived alerts of ``subject``, like :meth:`read_timeline`."""
        ...


@runtime_checkable
class DeliveryLog(Protocol):
    """Webhook deliveries already processed, remembered for a bounded while (durable), so a
    replayed delivery is acknowledged instead of processed again.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def remember_delivery(self, source: str, delivery_id: str, at: datetime) -> bool:
        """Record ``source``'s delivery as seen at ``at``; True when it is new.

        Atomic: of two identical deliveries recorded at once, exactly one gets True.
        """
        ...

    async def forget_delivery(self, source: str, delivery_id: str) -> None:
        """Drop the record again: the delivery was not processed after all, and its
        redelivery must be."""
        ...


@runtime_checkable
class FollowupIssues(Protocol):
    """Issues linked to incidents' follow-ups by URL, so the GitHub webhook finds the
    incidents of an issue that carries no ``INC-<n>`` label (never labelled, or the label
    was removed). Owner and repository names match in any case, as on GitHub.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def remember_followup_issue(
        self, repo: str, number: int, incident_id: str, at: datetime
    ) -> None:
        """Record that ``incident_id`` follows ``repo#number``; recording it again is a no-op."""
        ...

    async def incidents_for_issue(self, repo: str, number: int) -> list[str]:
        """The incidents that linked ``repo#number``, in the order they linked it."""
        ...


@runtime_checkable
class Silences(Protocol):
    """Ad-hoc silences (:class:`~workflows.silence_models.Silence`), and the pages each
    holds, so ending one early can tell those pages at once.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def add_silence(self, silence: Silence) -> None: ...

    async def get_silence(self, silence_id: str) -> Silence | None: ...

    async def active_silences(self, at: datetime) -> list[Silence]:
        """Silences in force at ``at`` (begun, not over, not ended early)."""
        ...

    async def list_silences(self, since: datetime | None) -> list[Silence]:
        """Silences still holding at or after ``since`` (every one for None), newest first."""
        ...

    async def end_silence(self, silence_id: str, by: str, at: datetime) -> Silence | None:
        """End it at ``at`` (one already over is returned as it was); None when unknown."""
        ...

    async def hold_page(self, silence_id: str, page_id: str, at: datetime) -> None:
        """Record that the silence holds the page (a workflow id); again is a no-op."""
        ...

    async def held_pages(self, silence_id: str) -> list[str]:
        """The pages (workflow ids) the silence has held."""
        ...


@runtime_checkable
class ShiftReports(Protocol):
    """Shifts' on-call reports, kept for good (Temporal forgets a finished shift after its
    retention), by id: the shift's workflow id.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def keep_shift_report(self, report: ShiftReport) -> None:
        """Keep ``report`` under its id; keeping it again replaces the first copy."""
        ...

    async def list_shift_reports(self, query: ReportQuery) -> list[ShiftReport]:
        """Reports matching ``query``, newest shift first, at most ``query.limit``."""
        ...

    async def get_shift_report(self, report_id: str) -> ShiftReport | None:
        """The report kept under ``report_id``, or None."""
        ...


@runtime_checkable
class PageLog(Protocol):
    """The page log: one row per page opening (page id and ``opened_at``), upserted as the
    page moves; what the noise report reads.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def record_page(self, entry: PageLogEntry) -> None:
        """Write the opening's row; a write older than the row's (lower ``version``) is
        ignored, the same write twice leaves one row."""
        ...

    async def record_pages(self, entries: Sequence[PageLogEntry]) -> None:
        """:meth:`record_page` for many rows at once (one transaction)."""
        ...

    async def list_pages(self, start: datetime, end: datetime) -> list[PageLogEntry]:
        """Openings in ``[start, end)``, oldest first."""
        ...


class ReportRenderer(Protocol):
    """Renders a shift's on-call report to text with the config's template
    (``reports.oncall_template``, relative to ``config_dir``), else the built-in one.

    Raises ``activities.errors.Rejected`` for a template that cannot be read or rendered.
    """

    def __call__(
        self, report: ShiftReport, config: TocsinConfig, config_dir: Path | None = None
    ) -> str: ...


class Credentials(Protocol):
    """API credentials (person, integration and admin tokens), kept hashed in the incident
    log's database. Records carry the hash of the secret, never the token.

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to
            (``create`` with an id already taken).
    """

    async def create(self, record: CredentialRecord) -> None: ...

    async def get(self, credential_id: str) -> CredentialRecord | None:
        """The credential with this id, revoked or not; None when there is none."""
        ...

    async def list_all(self) -> list[CredentialRecord]:
        """Every credential, revoked ones too, newest first."""
        ...

    async def revoke(self, credential_id: str, at: datetime) -> CredentialRecord | None:
        """Mark it revoked at ``at`` (a second revoke keeps the first time); the record as
        it is now, or None when there is no such credential."""
        ...

    async def touch(self, credential_id: str, at: datetime) -> None:
        """Record that the credential was used at ``at``."""
        ...


class PostmortemRenderer(Protocol):
    """Renders an incident's postmortem draft to Markdown with a ``(name, text)`` template.

    Raises ``activities.postmortem.TemplateProblem`` for a template that does not render.
    """

    def __call__(
        self,
        incident: IncidentState,
        config: TocsinConfig,
        *,
        incident_url: str | None = None,
        template: tuple[str, str] | None = None,
    ) -> str: ...


@runtime_checkable
class CheckResults(Protocol):
    """Uptime checks' probe results, kept 30 days (older rows are pruned as rows are added).

    Raises (every method):
        activities.errors.AdapterError: ``Unavailable`` to retry, ``Rejected`` not to.
    """

    async def record_check_result(self, result: ProbeResult) -> None:
        """Keep one probe's result; the same (check, time) again is a no-op."""
        ...

    async def list_check_results(self, since: datetime) -> list[ProbeResult]:
        """Results at or after ``since``, by check then time (without certificate dates)."""
        ...
