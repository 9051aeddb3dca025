"""Follow-up issues and the postmortem, as the incident workflow drives them after
resolution.

Workflow code. What to do is decided by :class:`workflows.incident_aftercare.AftercareRules`;
this runs the tracker calls those decisions need, one at a time and in order, and feeds
each result back in through ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

from workflows import incident_calls as calls
from workflows.incident_aftercare import AftercareRules
from workflows.incident_commands import Step
from workflows.incident_models import IncidentState, IssueLink, PostmortemRequest

# A linked issue is recorded and labelled as the incident's (link_followup_issue is told
# the incident); links made by runs before this patch were only read.
LINK_RECORDED = "followup-link-recorded"


class Tracking:
    """The tracker side of aftercare: issues opened, checked, the postmortem published."""

    def __init__(
        self,
        rules: AftercareRules,
        state: Callable[[], IncidentState],
        apply: Callable[[Step], None],
    ) -> None:
        self._rules = rules
        self._state = state
        self._apply = apply
        # The last postmortem attempt failed: tried again at the next periodic check.
        self.postmortem_failed = False

    def ready(self) -> bool:
        """Work that should not wait for a deadline: new follow-ups, an owed postmortem."""
        return self._rules.ready(self._state(), self.postmortem_failed)

    async def run(self, woke: datetime) -> None:
        """What is due since the loop woke at ``woke``; then reminders and maybe closing."""
        rules = self._rules
        await self._create_pending()
        if rules.postmortem_wanted(self._state(), self.postmortem_failed):
            await self._publish_postmortem()
        if rules.check_due(self._state(), woke):
            self._apply(rules.start_check(self._state(), workflow.now()))
            await self._check_issues()
            self._apply(rules.retry_creations(self._state(), workflow.now()))
            await self._create_pending()
            self.postmortem_failed = False
            if rules.postmortem_wanted(self._state(), self.postmortem_failed):
                await self._publish_postmortem()
        self._apply(rules.tick(self._state(), woke, workflow.now()))

    async def _create_pending(self) -> None:
        """Open (or link) the issues of new follow-ups, one at a time, in order."""
        rules = self._rules
        # By position, so follow-ups added while one is being created are seen too.
        position = 0
        while position < len(self._state().followups):
            followup = self._state().followups[position]
            position += 1
            if followup.state != "pending" or followup.create_failed:
                continue
            number = followup.number
            request = rules.creation(self._state(), followup)
            if isinstance(request, IssueLink) and workflow.patched(LINK_RECORDED):
                # So the GitHub webhook finds this incident by the issue's repo and number.
                request = request.model_copy(update={"incident_id": self._state().id})
            issue = await calls.followup_issue(request, number)
            if isinstance(issue, calls.Failed):
                step = rules.followup_failed(self._state(), number, issue.reason, workflow.now())
            else:
                step = rules.followup_created(self._state(), number, issue, workflow.now())
            self._apply(step)

    async def _check_issues(self) -> None:
        """The safety net: ask GitHub (conditionally, so an unchanged issue costs nothing)."""
        rules = self._rules
        for target in rules.check_targets(self._state()):
            issue = await calls.check_issue(target.check)
            if isinstance(issue, calls.Failed):
                reason = issue.reason
                self._apply(rules.check_failed(self._state(), target.url, reason, workflow.now()))
            elif issue is not None:
                self._apply(rules.issue_checked(self._state(), target, issue, workflow.now()))

    async def _publish_postmortem(self) -> None:
        rules = self._rules
        result = await calls.publish_postmortem(PostmortemRequest(incident=self._state()))
        if isinstance(result, calls.Failed):
            self.postmortem_failed = True
            self._apply(rules.postmortem_failed(self._state(), result.reason, workflow.now()))
        else:
            self._apply(rules.postmortem_published(self._state(), result, workflow.now()))
