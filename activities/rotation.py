"""Handoff activities: the team's pages and incidents, its Slack user group, the on-call
report's text, mail and keeping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.errors import AdapterError, to_application_error
from activities.ports import (
    Chat,
    ConfigSource,
    Meter,
    ReportRenderer,
    ShiftReports,
    TeamActivitySource,
)
from activities.tracker import Mailer, recipient_addresses
from workflows.ids import page_workflow_id, shift_workflow_id
from workflows.models import PageInput
from workflows.page_views import initial_search_attributes, page_summary
from workflows.rotation_models import (
    ReportMail,
    ShiftInput,
    ShiftReport,
    TeamActivity,
    TeamActivityQuery,
    UsergroupUpdate,
)


class RotationActivities:
    """What a ShiftWorkflow needs from outside: Temporal's view of the team, chat, mail,
    the report's template and the store that keeps reports.

    ``render`` and ``reports`` None: reports are posted with the workflow's own text and
    not kept (the activities say so). ``config_dir`` is where a relative
    ``reports.oncall_template`` is looked up (the config file's directory). ``meter``
    counts the handoffs (shifts started, or a start that failed).
    """

    def __init__(
        self,
        client: Client,
        config: ConfigSource,
        source: TeamActivitySource,
        chat: Chat,
        mailer: Mailer | None,
        *,
        render: ReportRenderer | None = None,
        reports: ShiftReports | None = None,
        config_dir: Path | None = None,
        meter: Meter | None = None,
    ) -> None:
        self._client = client
        self._meter = meter
        self._config = config
        self._source = source
        self._chat = chat
        self._mailer = mailer
        self._render = render
        self._reports = reports
        self._config_dir = config_dir

    @activity.defn(name="start_shift")
    async def start_shift(self, shift: ShiftInput) -> str:
        """Start the shift's workflow on this task queue; a shift already started (or
        done) is left alone, so a retried or repeated start never runs a shift twice.

        Started from an activity rather than as a child: the rotation continues as new at
        every handoff, and its shifts are independent of its runs.
        """
        try:
            started = await self._start_once(
                "ShiftWorkflow",
                shift,
                shift_workflow_id(shift.rotation, shift.start),
                static_summary=f"{shift.rotation} shift from {shift.start:%Y-%m-%d %H:%M}Z",
            )
        except Exception:
            self._count_handoff("failed")
            raise
        self._count_handoff("sent")
        return started

    def _count_handoff(self, outcome: str) -> None:
        if self._meter is not None:
            self._meter.handoff(outcome)

    @activity.defn(name="start_test_page")
    async def start_test_page(self, page: PageInput) -> str:
        """Start the handoff's test page (once: a retried start finds the first)."""
        return await self._start_once(
            "PageWorkflow",
            page,
            page_workflow_id(page.key),
            static_summary=page_summary(page.team, page.summary),
            search_attributes=initial_search_attributes(page.team),
        )

    async def _start_once(
        self, workflow: str, arg: BaseModel, workflow_id: str, **options: Any
    ) -> str:
        """Start ``workflow`` on this task queue unless that id was ever started: one that is
        running or has run (even finished) is left alone, so a retry never runs it twice."""
        try:
            await self._client.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                **options,
            )
        except WorkflowAlreadyStartedError:
            activity.logger.info("%s already started", workflow_id)
        return workflow_id

    @activity.defn(name="team_activity")
    async def team_activity(self, query: TeamActivityQuery) -> TeamActivity:
        """Pages and incidents of the team in ``[start, end)``, and those still open."""
        try:
            return await self._source.activity(query)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="set_usergroup")
    async def set_usergroup(self, update: UsergroupUpdate) -> None:
        """Make the team's Slack user group exactly the people now on call."""
        people = self._config.current().people
        members = [people[p] for p in update.people if p in people]
        try:
            await self._chat.set_usergroup(update.usergroup, members)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="email_report")
    async def email_report(self, mail: ReportMail) -> list[str]:
        """Mail the on-call report; returns the addresses it went to."""
        if self._mailer is None:
            raise ApplicationError(
                "reports cannot be mailed: TOCSIN_SMTP_HOST is not set",
                type="NotConfigured",
                non_retryable=True,
            )
        to = recipient_addresses(self._config.current(), mail.to)
        if not to:
            return []
        try:
            await self._mailer.send_mail(to, mail.subject, mail.body)
        except AdapterError as err:
            raise to_application_error(err) from err
        return to

    @activity.defn(name="render_report")
    async def render_report(self, report: ShiftReport) -> str:
        """The on-call report's text from the configured template, else the built-in one.

        Raises:
            ApplicationError: ``Rejected`` (final) when the template cannot be read or
                rendered; ``NotConfigured`` without a renderer.
        """
        if self._render is None:
            raise ApplicationError(
                "no report template renderer in this worker",
                type="NotConfigured",
                non_retryable=True,
            )
        try:
            return self._render(report, self._config.current(), self._config_dir)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="keep_report")
    async def keep_report(self, report: ShiftReport) -> None:
        """Keep the report in the SQL store (idempotent: kept again, it replaces itself).

        Raises:
            ApplicationError: ``Unavailable`` (retried) when the database cannot be
                reached; ``Rejected`` or ``NotConfigured`` (final).
        """
        if self._reports is None:
            raise ApplicationError(
                "reports cannot be kept: this worker has no store for them",
                type="NotConfigured",
                non_retryable=True,
            )
        try:
            await self._reports.keep_shift_report(report)
        except AdapterError as err:
            raise to_application_error(err) from err
