"""ShiftWorkflow: one shift of a rotation, from the handoff that starts it to the report.

At the start it takes the outgoing shift's notes (by signal, bounded wait), announces the
handoff in the team's channel with what is still open, moves the team's Slack user group
to the incoming people, and sends the incoming engineer a test page that must be
acknowledged (else it escalates to the next layer): proof that Tocsin can reach them.
During the shift it collects notes; before the end it reminds the outgoing engineer to
finish them; at the end it produces the on-call report (its text from the configured
template, recovery days suggested after off-hours pages and worked incidents), posts and
mails it, keeps it in the SQL store, and hands its notes to the next shift.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

from workflows.chat_models import ChatPost
from workflows.failures import activity_failure
from workflows.ids import page_workflow_id, rotation_workflow_id
from workflows.models import InlineStep, PageAcknowledged, PageActionInput, PageInput
from workflows.page import PageWorkflow
from workflows.rotation_models import (
    NoteRequest,
    ReportMail,
    ShiftInput,
    ShiftNote,
    ShiftReport,
    ShiftState,
    TeamActivity,
    TeamActivityQuery,
    UsergroupUpdate,
)
from workflows.shift_report import announcement, recovery_days, report_text

with workflow.unsafe.imports_passed_through():
    from activities.incident import ChatActivities
    from activities.rotation import RotationActivities

# Shifts from this version on render their report from the configured template, suggest
# recovery days after worked incidents too, and keep the report in the SQL store.
REPORT_KEPT = "shift-report-kept"
# How long the incoming shift waits for the outgoing shift's notes.
HANDOFF_WAIT = timedelta(minutes=10)
# After the test page's own timeout, the next layer has this long.
ESCALATION_STEP = timedelta(minutes=10)
TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=["Rejected", "NotConfigured", "NotFound"],
)


@workflow.defn
class ShiftWorkflow:
    """A shift: handoff in, test page, notes, reminder, report, handoff out."""

    @workflow.init
    def __init__(self, shift: ShiftInput) -> None:
        self._shift = shift
        self._state = ShiftState(
            rotation=shift.rotation, start=shift.start, end=shift.end, holders=shift.holders
        )

    @workflow.run
    async def run(self, shift: ShiftInput) -> ShiftReport:
        s = self._state
        if shift.previous_shift is not None:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: s.handed_over is not None,
                    timeout=HANDOFF_WAIT,
                    timeout_summary="outgoing shift's notes",
                )
        await self._announce()
        await self._move_usergroup()
        await self._test_page()
        closer = asyncio.create_task(self._close_test_page())
        s.phase = "on"
        reminder = shift.end - timedelta(seconds=shift.reminder_before_seconds)
        if reminder > workflow.now():
            await workflow.sleep(reminder - workflow.now(), summary="handoff reminder")
            await self._remind()
        s.phase = "reminded"
        if shift.end > workflow.now():
            await workflow.sleep(shift.end - workflow.now(), summary="end of shift")
        report = await self._report()
        s.phase = "ended"
        await closer
        await self._hand_over(report)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return report

    # -- phases -------------------------------------------------------------------------

    async def _announce(self) -> None:
        shift = self._shift
        activity = await self._activity(shift.start - timedelta(seconds=1), shift.start)
        text = announcement(
            shift, self._state.handed_over, activity.open_pages, activity.open_incidents
        )
        await self._post(text, "announce handoff")

    async def _move_usergroup(self) -> None:
        shift = self._shift
        people = sorted({p for p in shift.holders.values() if p})
        if shift.usergroup is None or not people:
            return
        try:
            await workflow.execute_activity_method(
                RotationActivities.set_usergroup,
                UsergroupUpdate(usergroup=shift.usergroup, people=people),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
                summary=f"user group {shift.usergroup}",
            )
        except ActivityError as err:
            self._warn(f"Could not move user group {shift.usergroup}: {activity_failure(err)}")

    async def _test_page(self) -> None:
        """The incoming engineer must acknowledge a page: proof that Tocsin reaches them."""
        shift = self._shift
        layers = list(shift.holders)
        incoming = shift.holders[layers[0]] if layers else None
        if incoming is None or shift.team is None:
            self._warn("No test page: nobody holds the first layer")
            return
        steps = [
            InlineStep(
                targets=[f"person:{incoming}"],
                ack_timeout_seconds=shift.test_page_timeout_seconds,
            )
        ]
        backup = [f"rotation:{shift.rotation}/{layer}" for layer in layers[1:2]] or [
            f"team:{shift.team}"
        ]
        steps.append(
            InlineStep(targets=backup, ack_timeout_seconds=ESCALATION_STEP.total_seconds())
        )
        key = f"test-{shift.rotation}-{shift.start:%Y%m%dT%H%MZ}".lower()
        summary = f"Test page for your {shift.rotation} shift: acknowledge it to show Tocsin can reach you"
        page = PageInput(
            key=key,
            team=shift.team,
            summary=summary,
            created_by="tocsin",
            source="handoff",
            team_members=[p for p in shift.holders.values() if p],
            notify_workflow=workflow.info().workflow_id,
            purpose="test",
            steps=steps,
        )
        try:
            # Not a child: the page must not be tied to this shift's run.
            await workflow.execute_activity_method(
                RotationActivities.start_test_page,
                page,
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
                summary="start test page",
            )
        except ActivityError as err:
            self._warn(f"Could not start the test page: {activity_failure(err)}")
            return
        self._state.test_page = key

    async def _remind(self) -> None:
        shift = self._shift
        outgoing = ", ".join(sorted({p for p in shift.holders.values() if p})) or "on-call"
        left = max(shift.end - workflow.now(), timedelta(0))
        await self._post(
            f"Reminder for {outgoing}: the `{shift.rotation}` shift hands over in "
            f"{_hours(left)}. Add your handoff notes (`tocsin shift note {shift.rotation} …` "
            "or `/oncall note …`); the on-call report goes out at the handoff.",
            "handoff reminder",
        )

    async def _report(self) -> ShiftReport:
        shift = self._shift
        s = self._state
        activity = await self._activity(shift.start, shift.end)
        report = ShiftReport(
            rotation=shift.rotation,
            start=shift.start,
            end=shift.end,
            holders=shift.holders,
            notes=list(s.notes),
            activity=activity,
            test_page=s.test_page,
            test_page_acknowledged_by=s.test_page_acknowledged_by,
            recovery_day=any(p.off_hours and not p.test for p in activity.pages),
        )
        kept = workflow.patched(REPORT_KEPT)
        if kept:
            report.id = workflow.info().workflow_id
            report.team = shift.team
            report.timezone = shift.timezone
            report.recovery = recovery_days(activity, shift.holders)
            report.recovery_day = bool(report.recovery)
        report.text = report_text(report, shift.timezone)
        if kept:
            report.text = await self._render(report)
        s.report = report
        await self._post(report.text, "post on-call report")
        if shift.report_to:
            try:
                await workflow.execute_activity_method(
                    RotationActivities.email_report,
                    ReportMail(
                        to=shift.report_to,
                        subject=f"[Tocsin] On-call report: {shift.rotation} "
                        f"{shift.start:%Y-%m-%d} to {shift.end:%Y-%m-%d}",
                        body=report.text,
                    ),
                    start_to_close_timeout=TIMEOUT,
                    retry_policy=RETRY,
                    summary="mail on-call report",
                )
            except ActivityError as err:
                self._warn(f"Could not mail the report: {activity_failure(err)}")
        if kept:
            await self._keep(report)
        return report

    async def _render(self, report: ShiftReport) -> str:
        """The report's text from the configured template; the built-in text (already in
        ``report.text``) when it cannot be rendered."""
        try:
            return await workflow.execute_activity_method(
                RotationActivities.render_report,
                report,
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
                summary="render on-call report",
            )
        except ActivityError as err:
            self._warn(f"Report template not used: {activity_failure(err)}")
            return report.text

    async def _keep(self, report: ShiftReport) -> None:
        """Keep the report in the SQL store, where the API, CLI and console read it."""
        try:
            await workflow.execute_activity_method(
                RotationActivities.keep_report,
                report,
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
                summary="keep on-call report",
            )
        except ActivityError as err:
            self._warn(f"Could not keep the report: {activity_failure(err)}")

    async def _close_test_page(self) -> None:
        """The test page has done its job once answered; unanswered, it ends with the shift."""
        s = self._state
        if s.test_page is None:
            return
        await workflow.wait_condition(
            lambda: s.test_page_acknowledged_by is not None or s.phase == "ended"
        )
        note = "test page answered" if s.test_page_acknowledged_by else "the shift ended"
        handle = workflow.get_external_workflow_handle(page_workflow_id(s.test_page))
        try:
            await handle.signal(PageWorkflow.close, PageActionInput(by="tocsin", note=note))
        except FailureError as err:  # the test page has already ended
            workflow.logger.info("test page %s already ended (%s)", s.test_page, err)

    async def _hand_over(self, report: ShiftReport) -> None:
        """Give this shift's report (and notes) to the rotation, which hands it to the next
        shift as soon as that one runs (it may start a moment after this one ends)."""
        rotation = workflow.get_external_workflow_handle(rotation_workflow_id(self._shift.rotation))
        try:
            await rotation.signal("shift_ended", report)
        except FailureError as err:  # the server could not signal it: the rotation ended
            self._warn(f"Notes not handed over: rotation {self._shift.rotation} is gone ({err})")

    # -- messages -----------------------------------------------------------------------

    @workflow.update
    def add_note(self, note: NoteRequest) -> ShiftState:
        """A handoff note for the next shift (and the report)."""
        self._state.notes.append(ShiftNote(at=workflow.now(), by=note.by, text=note.text))
        return self._state

    @add_note.validator
    def _validate_note(self, note: NoteRequest) -> None:
        if self._state.phase == "ended":
            raise ValueError("this shift has ended: add the note to the current shift")
        people = self._shift.people
        if people and note.by not in people:
            raise ValueError(f"{note.by!r} is not a person in Tocsin's config")

    @workflow.signal
    def receive_handoff(self, report: ShiftReport) -> None:
        """The outgoing shift's report, with its notes."""
        self._state.handed_over = report

    @workflow.signal
    def page_acknowledged(self, ack: PageAcknowledged) -> None:
        """The test page was acknowledged."""
        if ack.page_id == self._state.test_page:
            self._state.test_page_acknowledged_by = ack.by

    @workflow.query
    def get_state(self) -> ShiftState:
        return self._state

    # -- helpers ------------------------------------------------------------------------

    async def _activity(self, start: datetime, end: datetime) -> TeamActivity:
        shift = self._shift
        if shift.team is None:
            return TeamActivity()
        try:
            return await workflow.execute_activity_method(
                RotationActivities.team_activity,
                TeamActivityQuery(
                    team=shift.team,
                    start=start,
                    end=end,
                    timezone=shift.timezone,
                    workday_start_hour=shift.workday_start_hour,
                    workday_end_hour=shift.workday_end_hour,
                ),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
                summary="team pages and incidents",
            )
        except ActivityError as err:
            self._warn(f"Could not list the team's pages and incidents: {activity_failure(err)}")
            return TeamActivity()

    async def _post(self, text: str, summary: str) -> None:
        channel = self._shift.channel
        workflow.logger.info("shift %s: %s", self._shift.rotation, text.splitlines()[0])
        if channel is None:
            return
        try:
            await workflow.execute_activity_method(
                ChatActivities.post_message,
                ChatPost(channel=channel, text=text),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
                summary=summary,
            )
        except ActivityError as err:
            self._warn(f"Could not post to {channel}: {activity_failure(err)}")

    def _warn(self, text: str) -> None:
        self._state.warnings.append(text)
        workflow.logger.warning("shift %s: %s", self._shift.rotation, text)


def _hours(left: timedelta) -> str:
    return f"{max(round(left.total_seconds() / 3600), 1)}h"
