"""An incident's decisions after resolution: follow-up issues tracked until closed, the
postmortem, customer communication confirmed, reminders, closing.

Pure like :mod:`workflows.incident_rules`: ``(state, event, now) → Step``. The workflow
runs the tracker activities these decisions ask for and feeds their results back in;
what GitHub says arrives as the ``issue_changed`` signal, with a durable periodic check
as the safety net for missed webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.durations import format_duration
from workflows.followup_issues import followup_issue_spec
from workflows.incident_commands import Decision, Step, Wake
from workflows.incident_models import (
    FollowUp,
    IncidentInput,
    IncidentState,
    IncidentStatus,
    IssueCheck,
    IssueEvent,
    IssueLink,
    IssueRef,
    IssueSpec,
    PostmortemResult,
)


@dataclass(frozen=True)
class CheckTarget:
    """An issue the periodic check asks GitHub about: a follow-up's, or the postmortem's."""

    followup: int | None  # the follow-up's number; None for the postmortem issue
    check: IssueCheck
    url: str


class AftercareRules:
    """Resolved until closed, configured by the incident's :class:`IncidentInput`."""

    def __init__(self, config: IncidentInput) -> None:
        self.config = config

    # -- what the main loop asks --------------------------------------------------------

    def deadlines(self, s: IncidentState) -> list[datetime]:
        deadlines = [d for d in (s.messenger_confirm_due, s.followup_check_due) if d is not None]
        deadlines += [self._next_reminder(f) for f in s.followups if f.state == "open"]
        return deadlines

    def ready(self, s: IncidentState, postmortem_failed: bool) -> bool:
        """Work that should not wait for a deadline: new follow-ups, an owed postmortem."""
        return bool(self.pending(s)) or self.postmortem_wanted(s, postmortem_failed)

    def pending(self, s: IncidentState) -> list[FollowUp]:
        """Follow-ups waiting for their issue (after a failure, one more try per check)."""
        return [f for f in s.followups if f.state == "pending" and not f.create_failed]

    def postmortem_wanted(self, s: IncidentState, failed: bool) -> bool:
        return (
            s.status == IncidentStatus.resolved
            and s.postmortem_owed
            and s.postmortem_url is None
            and not s.postmortem_done
            and not failed
        )

    def check_due(self, s: IncidentState, now: datetime) -> bool:
        return s.followup_check_due is not None and now >= s.followup_check_due

    def archive_due(self, s: IncidentState) -> bool:
        """Whether the channel's work is done (``incidents.archive``)."""
        if s.archived or s.channel is None:
            return False
        if s.status == IncidentStatus.closed:
            return True
        if self.config.archive != "after_postmortem" or s.status != IncidentStatus.resolved:
            return False
        published = not s.postmortem_owed or s.postmortem_url is not None or s.postmortem_done
        return published and not any(f.state == "pending" for f in s.followups)

    def creation(self, s: IncidentState, followup: FollowUp) -> IssueLink | IssueSpec:
        """What to ask the tracker for a follow-up: link its issue, or open one."""
        if followup.issue_url is not None:
            return IssueLink(url=followup.issue_url)
        return followup_issue_spec(
            s.id,
            s.title,
            followup,
            repo=followup.repo or "",  # the validator required one
            labels=self.config.followup_labels,
        )

    def check_targets(self, s: IncidentState) -> list[CheckTarget]:
        targets = [
            CheckTarget(
                followup=f.number,
                check=IssueCheck(repo=f.repo or "", number=f.issue_number, etag=f.etag),
                url=f.issue_url or "",
            )
            for f in s.followups
            if f.issue_number is not None
        ]
        issue = s.postmortem_issue
        if issue is not None and not s.postmortem_done:
            check = IssueCheck(repo=issue.repo, number=issue.number, etag=issue.etag)
            targets.append(CheckTarget(followup=None, check=check, url=issue.url))
        return targets

    # -- events -------------------------------------------------------------------------

    def followup_created(
        self, s: IncidentState, number: int, issue: IssueRef, now: datetime
    ) -> Step:
        d = Decision(s, now)
        followup = _followup(d.state, number)
        linked = followup.issue_url is not None
        followup.state = issue.state
        followup.repo = issue.repo
        followup.issue_number = issue.number
        followup.issue_url = issue.url
        followup.etag = issue.etag
        if issue.title and followup.title == followup.issue_url:
            followup.title = issue.title
        verb = "Linked" if linked else "Opened"
        d.record("followup-issue", f"{verb} {issue.url} for follow-up #{number}: {followup.title}")
        d.say(f"Follow-up #{number}: {followup.title} → {issue.url}")
        if issue.state == "closed":
            _closed(d, followup, "it was already closed")
        return d.done()

    def followup_failed(self, s: IncidentState, number: int, reason: str, now: datetime) -> Step:
        d = Decision(s, now)
        _followup(d.state, number).create_failed = True
        d.record(
            "followup-failed",
            f"Could not create the issue for follow-up #{number}: {reason}; "
            "trying again at the next check",
        )
        self._schedule_check(d, force=True)
        return d.done()

    def start_check(self, s: IncidentState, now: datetime) -> Step:
        d = Decision(s, now)
        d.state.followup_check_due = None
        return d.done()

    def check_failed(self, s: IncidentState, url: str, reason: str, now: datetime) -> Step:
        d = Decision(s, now)
        d.record("check-failed", f"Could not check {url}: {reason}")
        return d.done()

    def issue_checked(
        self, s: IncidentState, target: CheckTarget, issue: IssueRef, now: datetime
    ) -> Step:
        """What the periodic check found for a changed issue."""
        d = Decision(s, now)
        event = IssueEvent(repo=issue.repo, number=issue.number, state=issue.state, url=issue.url)
        _apply(d, event, "periodic check")
        if target.followup is not None:
            _followup(d.state, target.followup).etag = issue.etag
        elif d.state.postmortem_issue is not None:
            d.state.postmortem_issue.etag = issue.etag
        return d.done()

    def retry_creations(self, s: IncidentState, now: datetime) -> Step:
        """Creations that failed (GitHub down, not configured yet) are tried again."""
        d = Decision(s, now)
        for followup in d.state.followups:
            followup.create_failed = False
        return d.done()

    def issue_changed(self, s: IncidentState, event: IssueEvent, now: datetime) -> Step:
        """GitHub says an issue closed or reopened (the webhook); unknown issues are ignored."""
        d = Decision(s, now)
        if _apply(d, event, "webhook"):
            d.do(Wake())
        return d.done()

    def postmortem_published(
        self, s: IncidentState, result: PostmortemResult, now: datetime
    ) -> Step:
        d = Decision(s, now)
        s = d.state
        emailed = f"; sent to {', '.join(result.emailed)}" if result.emailed else ""
        if result.url is None:
            # Nowhere to publish: the draft goes to the channel and the timeline.
            s.postmortem_done = True
            d.record("postmortem", f"Postmortem draft (not published: no GitHub){emailed}")
            d.say(f"Postmortem draft for {s.id}:\n{result.markdown[:3500]}")
            return d.done()
        s.postmortem_url = result.url
        if result.issue is not None:
            s.postmortem_issue = result.issue
            d.record(
                "postmortem",
                f"Postmortem draft published: {result.url}{emailed}; "
                "close that issue once it is reviewed",
            )
        else:
            s.postmortem_done = True
            d.record("postmortem", f"Postmortem draft published: {result.url}{emailed}")
        d.say(f"Postmortem draft for {s.id}: {result.url} — fill in the root cause and lessons.")
        return d.done()

    def postmortem_failed(self, s: IncidentState, reason: str, now: datetime) -> Step:
        d = Decision(s, now)
        d.record(
            "postmortem-failed",
            f"Could not publish the postmortem draft: {reason}; trying again at the next check",
        )
        self._schedule_check(d, force=True)
        return d.done()

    def tick(self, s: IncidentState, due_at: datetime, now: datetime) -> Step:
        """Reminders due at ``due_at`` (when the loop woke), the check re-armed, maybe closed."""
        d = Decision(s, now)
        self._remind(d, due_at)
        s = d.state
        if s.messenger_confirm_due and due_at >= s.messenger_confirm_due:
            s.messenger_confirm_due = None
            if s.messenger_confirmed_at is None:
                who = s.messenger or s.lead or "messenger"
                wait = timedelta(seconds=self.config.messenger_confirm_seconds)
                d.record(
                    "comms-reminder",
                    "No confirmation that customer communication is updated after "
                    f"{format_duration(wait)}",
                )
                self._remind_to(
                    d,
                    f"Reminder for {who}: please confirm customer communication is updated "
                    f"for {s.id} (/incident comms, or `tocsin incident comms {s.id}`).",
                )
        self._schedule_check(d)
        self.maybe_close(d)
        return d.done()

    def log_failed(self, s: IncidentState, reason: str, now: datetime) -> Step:
        d = Decision(s, now)
        d.record("log-failed", f"Could not write the incident log: {reason}")
        return d.done()

    # -- parts of decisions ------------------------------------------------------------

    def maybe_close(self, d: Decision) -> None:
        """Resolved → closed once the postmortem is done, every follow-up is closed and the
        messenger confirmed customer communication (or the time to do so ran out)."""
        s = d.state
        if s.status != IncidentStatus.resolved or s.messenger_confirm_due is not None:
            return
        if s.postmortem_owed and not s.postmortem_done:
            return
        if any(f.state != "closed" for f in s.followups):
            return
        s.status = IncidentStatus.closed
        s.closed_at = d.now
        s.followup_check_due = None
        if s.followups:
            reason = "every follow-up is closed"
        elif s.postmortem_owed:
            reason = "the postmortem is done"
        else:
            reason = "no postmortem required for this severity and no follow-up open"
        d.record("closed", f"Closed: {reason}")

    def _schedule_check(self, d: Decision, force: bool = False) -> None:
        """Keep the periodic check armed while anything is left to watch or retry."""
        s = d.state
        if s.followup_check_due is not None or s.status == IncidentStatus.closed:
            return
        watching = any(f.state != "closed" for f in s.followups) or (
            s.postmortem_owed and not s.postmortem_done
        )
        if watching or force:
            s.followup_check_due = d.now + timedelta(seconds=self.config.followup_check_seconds)

    def _next_reminder(self, followup: FollowUp) -> datetime:
        every = timedelta(seconds=self.config.followup_remind_seconds)
        return followup.added_at + every * (followup.reminders + 1)

    def _remind(self, d: Decision, due_at: datetime) -> None:
        """Open follow-ups past ``remind_after``: the assignee first, then the lead as well."""
        s = d.state
        for followup in s.followups:
            if followup.state != "open" or due_at < self._next_reminder(followup):
                continue
            followup.reminders += 1
            age = format_duration(due_at - followup.added_at)
            people = [p for p in (followup.assignee,) if p]
            if followup.reminders > 1 or not people:
                people += [p for p in (s.lead,) if p and p not in people]
            who = " and ".join(people) or "the team"
            text = (
                f"Reminder for {who}: follow-up #{followup.number} of {s.id} "
                f"({followup.title}) is still open after {age}: {followup.issue_url}"
            )
            d.record("followup-reminder", text)
            self._remind_to(d, text)

    def _remind_to(self, d: Decision, text: str) -> None:
        """In the incident channel while it is open, else in the team's channel."""
        s = d.state
        if s.channel is not None and not s.archived:
            d.post(s.channel, text)
        elif self.config.team_channel is not None:
            d.post(self.config.team_channel, text)


def _apply(d: Decision, event: IssueEvent, source: str) -> bool:
    """An issue's state as GitHub reports it; returns whether it was one of ours."""
    s = d.state
    ours = False
    for followup in s.followups:
        if _same(followup.repo, followup.issue_number, event):
            ours = True
            if event.state == "closed" and followup.state != "closed":
                by = f" by {event.by}" if event.by else ""
                _closed(d, followup, f"{event.url} closed{by} ({source})")
            elif event.state == "open" and followup.state == "closed":
                _reopened(d, followup, event, source)
    issue = s.postmortem_issue
    if issue is not None and _same(issue.repo, issue.number, event):
        ours = True
        issue.state = event.state
        if event.state == "closed" and not s.postmortem_done:
            s.postmortem_done = True
            d.record("postmortem-done", f"Postmortem {event.url} closed ({source})")
        elif event.state == "open" and s.postmortem_done and s.status != IncidentStatus.closed:
            s.postmortem_done = False
            d.record("postmortem-reopened", f"Postmortem {event.url} reopened ({source})")
    return ours


def _closed(d: Decision, followup: FollowUp, why: str) -> None:
    followup.state = "closed"
    followup.closed_at = d.now
    left = sum(1 for f in d.state.followups if f.state != "closed")
    d.record("followup-closed", f"Follow-up #{followup.number} done: {why}; {left} open")


def _reopened(d: Decision, followup: FollowUp, event: IssueEvent, source: str) -> None:
    if d.state.status == IncidentStatus.closed:
        return
    followup.state = "open"
    followup.closed_at = None
    followup.reminders = 0
    followup.added_at = d.now
    d.record("followup-reopened", f"Follow-up #{followup.number} reopened: {event.url} ({source})")


def _followup(s: IncidentState, number: int) -> FollowUp:
    return s.followups[number - 1]


def _same(repo: str | None, number: int | None, event: IssueEvent) -> bool:
    return number == event.number and (repo or "").lower() == event.repo.lower()
