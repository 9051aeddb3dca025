"""After an incident: follow-up issues tracked until closed, the postmortem, the log, the archive.

A mixin of :class:`workflows.incident.IncidentWorkflow` (kept apart to keep each module
about one phase). It only orchestrates: issues, postmortems and log rows go through
activities; what GitHub says arrives as the ``issue_changed`` signal, with a durable
periodic check as the safety net for missed webhooks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.chat_models import ChatPost
from workflows.durations import format_duration
from workflows.failures import activity_failure
from workflows.followup_issues import followup_issue_spec
from workflows.incident_models import (
    FollowUp,
    IncidentInput,
    IncidentRecord,
    IncidentState,
    IncidentStatus,
    IssueCheck,
    IssueEvent,
    IssueLink,
    IssueRef,
    PostmortemRequest,
    incident_record,
)

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from activities.tracker import TrackerActivities

TRACKER_TIMEOUT = timedelta(minutes=2)
# Rate limits come back as a retry delay; a wrong install (no token, no repo) is final and
# is retried at the next periodic check instead.
TRACKER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=8,
    non_retryable_error_types=["NotConfigured", "Rejected", "NotFound", "TemplateError"],
)
STORE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=20)


class Aftercare:
    """The incident's life after resolution; mixed into IncidentWorkflow."""

    _state: IncidentState
    _input: IncidentInput
    _outbox: list[ChatPost]
    _logged: IncidentRecord | None
    # The last postmortem attempt failed: tried again at the next periodic check.
    _postmortem_failed: bool = False

    def _record(self, kind: str, text: str, by: str | None = None) -> None:
        raise NotImplementedError

    def _say(self, text: str) -> None:
        raise NotImplementedError

    # -- what the main loop calls -------------------------------------------------------

    def _aftercare_deadlines(self) -> list[datetime]:
        s = self._state
        deadlines = [d for d in (s.messenger_confirm_due, s.followup_check_due) if d is not None]
        deadlines += [self._next_reminder(f) for f in s.followups if f.state == "open"]
        return deadlines

    def _aftercare_ready(self) -> bool:
        """Work that should not wait for a deadline: new follow-ups, an owed postmortem."""
        s = self._state
        pending = any(f.state == "pending" and not f.create_failed for f in s.followups)
        return pending or self._postmortem_wanted()

    async def _aftercare(self) -> None:
        s = self._state
        now = workflow.now()
        await self._create_pending()
        if self._postmortem_wanted():
            await self._publish_postmortem()
        if s.followup_check_due is not None and now >= s.followup_check_due:
            s.followup_check_due = None
            await self._check_issues()
            # Creations that failed (GitHub down, not configured yet) are tried again too.
            for followup in s.followups:
                followup.create_failed = False
            await self._create_pending()
            self._postmortem_failed = False
            if self._postmortem_wanted():
                await self._publish_postmortem()
        self._remind(now)
        if s.messenger_confirm_due and now >= s.messenger_confirm_due:
            s.messenger_confirm_due = None
            if s.messenger_confirmed_at is None:
                who = s.messenger or s.lead or "messenger"
                self._record(
                    "comms-reminder",
                    f"No confirmation that customer communication is updated after "
                    f"{format_duration(timedelta(seconds=self._input.messenger_confirm_seconds))}",
                )
                self._remind_to(
                    f"Reminder for {who}: please confirm customer communication is updated "
                    f"for {s.id} (/incident comms, or `tocsin incident comms {s.id}`)."
                )
        self._schedule_check()
        self._maybe_close()

    def _postmortem_wanted(self) -> bool:
        s = self._state
        return (
            s.status == IncidentStatus.resolved
            and s.postmortem_owed
            and s.postmortem_url is None
            and not s.postmortem_done
            and not self._postmortem_failed
        )

    def _maybe_close(self) -> None:
        """Resolved → closed once the postmortem is done, every follow-up is closed and the
        messenger confirmed customer communication (or the time to do so ran out)."""
        s = self._state
        if s.status != IncidentStatus.resolved or s.messenger_confirm_due is not None:
            return
        if s.postmortem_owed and not s.postmortem_done:
            return
        if any(f.state != "closed" for f in s.followups):
            return
        s.status = IncidentStatus.closed
        s.closed_at = workflow.now()
        s.followup_check_due = None
        if s.followups:
            reason = "every follow-up is closed"
        elif s.postmortem_owed:
            reason = "the postmortem is done"
        else:
            reason = "no postmortem required for this severity and no follow-up open"
        self._record("closed", f"Closed: {reason}")

    def _archive_due(self) -> bool:
        """Whether the channel's work is done (``incidents.archive``)."""
        s = self._state
        if s.archived or s.channel is None:
            return False
        if s.status == IncidentStatus.closed:
            return True
        if self._input.archive != "after_postmortem" or s.status != IncidentStatus.resolved:
            return False
        published = not s.postmortem_owed or s.postmortem_url is not None or s.postmortem_done
        return published and not any(f.state == "pending" for f in s.followups)

    async def _log(self) -> None:
        """Upsert the incident-log row when something in it changed."""
        record = incident_record(self._state)
        if record == self._logged:
            return
        try:
            await workflow.execute_activity_method(
                StoreActivities.record_incident,
                record,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
                summary=f"log {record.status.value}",
            )
        except ActivityError as err:
            self._record("log-failed", f"Could not write the incident log: {activity_failure(err)}")
        self._logged = record

    # -- follow-ups ---------------------------------------------------------------------

    async def _create_pending(self) -> None:
        for followup in self._state.followups:
            # After a failure, one more try per periodic check.
            if followup.state == "pending" and not followup.create_failed:
                await self._create(followup)

    async def _create(self, followup: FollowUp) -> None:
        s = self._state
        linked = followup.issue_url is not None
        try:
            if followup.issue_url is not None:
                issue = await workflow.execute_activity_method(
                    TrackerActivities.link_followup_issue,
                    IssueLink(url=followup.issue_url),
                    start_to_close_timeout=TRACKER_TIMEOUT,
                    retry_policy=TRACKER_RETRY,
                    summary=f"link follow-up {followup.number}",
                )
            else:
                spec = followup_issue_spec(
                    s.id,
                    s.title,
                    followup,
                    repo=followup.repo or "",  # the validator required one
                    labels=self._input.followup_labels,
                )
                issue = await workflow.execute_activity_method(
                    TrackerActivities.create_followup_issue,
                    spec,
                    start_to_close_timeout=TRACKER_TIMEOUT,
                    retry_policy=TRACKER_RETRY,
                    summary=f"create follow-up {followup.number}",
                )
        except ActivityError as err:
            followup.create_failed = True
            self._record(
                "followup-failed",
                f"Could not create the issue for follow-up #{followup.number}: {activity_failure(err)}; "
                "trying again at the next check",
            )
            self._schedule_check(force=True)
            return
        self._track(followup, issue)
        verb = "Linked" if linked else "Opened"
        self._record(
            "followup-issue",
            f"{verb} {issue.url} for follow-up #{followup.number}: {followup.title}",
        )
        self._say(f"Follow-up #{followup.number}: {followup.title} → {issue.url}")
        if issue.state == "closed":
            self._closed(followup, "it was already closed")

    def _track(self, followup: FollowUp, issue: IssueRef) -> None:
        followup.state = issue.state
        followup.repo = issue.repo
        followup.issue_number = issue.number
        followup.issue_url = issue.url
        followup.etag = issue.etag
        if issue.title and followup.title == followup.issue_url:
            followup.title = issue.title

    async def _check_issues(self) -> None:
        """The safety net: ask GitHub (conditionally, so an unchanged issue costs nothing)."""
        s = self._state
        targets: list[tuple[FollowUp | None, IssueRef]] = [
            (f, IssueRef(repo=f.repo or "", number=f.issue_number, url=f.issue_url or ""))
            for f in s.followups
            if f.issue_number is not None
        ]
        if s.postmortem_issue is not None and not s.postmortem_done:
            targets.append((None, s.postmortem_issue))
        for followup, ref in targets:
            etag = followup.etag if followup else ref.etag
            try:
                now = await workflow.execute_activity_method(
                    TrackerActivities.check_issue,
                    IssueCheck(repo=ref.repo, number=ref.number, etag=etag),
                    start_to_close_timeout=TRACKER_TIMEOUT,
                    retry_policy=TRACKER_RETRY,
                    summary=f"check {ref.repo}#{ref.number}",
                )
            except ActivityError as err:
                self._record("check-failed", f"Could not check {ref.url}: {activity_failure(err)}")
                continue
            if now is None:
                continue
            self._apply(IssueEvent(repo=now.repo, number=now.number, state=now.state, url=now.url))
            if followup is not None:
                followup.etag = now.etag
            elif s.postmortem_issue is not None:
                s.postmortem_issue.etag = now.etag

    def _apply(self, event: IssueEvent, source: str = "periodic check") -> bool:
        """An issue's state as GitHub reports it; returns whether it was one of ours."""
        s = self._state
        ours = False
        for followup in s.followups:
            if _same(followup.repo, followup.issue_number, event):
                ours = True
                if event.state == "closed" and followup.state != "closed":
                    by = f" by {event.by}" if event.by else ""
                    self._closed(followup, f"{event.url} closed{by} ({source})")
                elif event.state == "open" and followup.state == "closed":
                    self._reopened(followup, event, source)
        issue = s.postmortem_issue
        if issue is not None and _same(issue.repo, issue.number, event):
            ours = True
            issue.state = event.state
            if event.state == "closed" and not s.postmortem_done:
                s.postmortem_done = True
                self._record("postmortem-done", f"Postmortem {event.url} closed ({source})")
            elif event.state == "open" and s.postmortem_done and s.status != IncidentStatus.closed:
                s.postmortem_done = False
                self._record("postmortem-reopened", f"Postmortem {event.url} reopened ({source})")
        return ours

    def _closed(self, followup: FollowUp, why: str) -> None:
        followup.state = "closed"
        followup.closed_at = workflow.now()
        left = sum(1 for f in self._state.followups if f.state != "closed")
        self._record("followup-closed", f"Follow-up #{followup.number} done: {why}; {left} open")

    def _reopened(self, followup: FollowUp, event: IssueEvent, source: str) -> None:
        s = self._state
        if s.status == IncidentStatus.closed:
            return
        followup.state = "open"
        followup.closed_at = None
        followup.reminders = 0
        followup.added_at = workflow.now()
        self._record(
            "followup-reopened", f"Follow-up #{followup.number} reopened: {event.url} ({source})"
        )

    def _schedule_check(self, force: bool = False) -> None:
        """Keep the periodic check armed while anything is left to watch or retry."""
        s = self._state
        if s.followup_check_due is not None or s.status == IncidentStatus.closed:
            return
        watching = any(f.state != "closed" for f in s.followups) or (
            s.postmortem_owed and not s.postmortem_done
        )
        if watching or force:
            s.followup_check_due = workflow.now() + timedelta(
                seconds=self._input.followup_check_seconds
            )

    def _next_reminder(self, followup: FollowUp) -> datetime:
        every = timedelta(seconds=self._input.followup_remind_seconds)
        return followup.added_at + every * (followup.reminders + 1)

    def _remind(self, now: datetime) -> None:
        """Open follow-ups past ``remind_after``: the assignee first, then the lead as well."""
        s = self._state
        for followup in s.followups:
            if followup.state != "open" or now < self._next_reminder(followup):
                continue
            followup.reminders += 1
            age = format_duration(now - followup.added_at)
            people = [p for p in (followup.assignee,) if p]
            if followup.reminders > 1 or not people:
                people += [p for p in (s.lead,) if p and p not in people]
            who = " and ".join(people) or "the team"
            text = (
                f"Reminder for {who}: follow-up #{followup.number} of {s.id} "
                f"({followup.title}) is still open after {age}: {followup.issue_url}"
            )
            self._record("followup-reminder", text)
            self._remind_to(text)

    def _remind_to(self, text: str) -> None:
        """In the incident channel while it is open, else in the team's channel."""
        s = self._state
        if s.channel is not None and not s.archived:
            self._outbox.append(ChatPost(channel=s.channel, text=text))
        elif self._input.team_channel is not None:
            self._outbox.append(ChatPost(channel=self._input.team_channel, text=text))

    # -- the postmortem -----------------------------------------------------------------

    async def _publish_postmortem(self) -> None:
        s = self._state
        try:
            result = await workflow.execute_activity_method(
                TrackerActivities.publish_postmortem,
                PostmortemRequest(incident=s),
                start_to_close_timeout=TRACKER_TIMEOUT,
                retry_policy=TRACKER_RETRY,
                summary="publish postmortem",
            )
        except ActivityError as err:
            self._postmortem_failed = True
            self._record(
                "postmortem-failed",
                f"Could not publish the postmortem draft: {activity_failure(err)}; trying again at the next check",
            )
            self._schedule_check(force=True)
            return
        emailed = f"; sent to {', '.join(result.emailed)}" if result.emailed else ""
        if result.url is None:
            # Nowhere to publish: the draft goes to the channel and the timeline.
            s.postmortem_done = True
            self._record("postmortem", f"Postmortem draft (not published: no GitHub){emailed}")
            self._say(f"Postmortem draft for {s.id}:\n{result.markdown[:3500]}")
            return
        s.postmortem_url = result.url
        if result.issue is not None:
            s.postmortem_issue = result.issue
            self._record(
                "postmortem",
                f"Postmortem draft published: {result.url}{emailed}; close that issue once it is reviewed",
            )
        else:
            s.postmortem_done = True
            self._record("postmortem", f"Postmortem draft published: {result.url}{emailed}")
        self._say(
            f"Postmortem draft for {s.id}: {result.url} — fill in the root cause and lessons."
        )


def _same(repo: str | None, number: int | None, event: IssueEvent) -> bool:
    return number == event.number and (repo or "").lower() == event.repo.lower()
