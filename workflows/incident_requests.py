"""An incident's answers to what people ask while it runs: take a role, decide on the
rollback, post an update, change severity, resolve, add a follow-up, confirm customer
communication; and a role page's acknowledgement.

Pure like :mod:`workflows.incident_rules` (whose parts these decisions share): each
method is ``(state, request, now) → Step``. What is refused, and why, is decided before
by :mod:`workflows.incident_checks`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.durations import format_duration
from workflows.incident_checks import OPEN, edited_fields, updates_status
from workflows.incident_commands import ClosePage, Decision, Invite, Mail, RunRollback, Step, Wake
from workflows.incident_models import (
    CommsConfirmation,
    FollowUp,
    FollowUpRequest,
    IncidentEdit,
    IncidentState,
    IncidentStatus,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    SeverityChange,
    StatusUpdate,
    UpdateInput,
)
from workflows.incident_rules import IncidentRules, clear_open_deadlines
from workflows.incident_views import announcement_mail, incident_summary
from workflows.models import PageAcknowledged

DECISION_WORDS = {"roll_back": "roll back", "revert": "revert a change", "not_now": "not now"}


class IncidentRequests:
    """What people ask of one incident, decided with its :class:`IncidentRules`."""

    def __init__(self, rules: IncidentRules) -> None:
        self.rules = rules
        self.config = rules.config

    def assign_lead(self, state: IncidentState, role: RoleInput, now: datetime) -> Step:
        d = Decision(state, now, role)
        s = d.state
        previous = s.lead
        s.lead = role.person
        s.acknowledged_at = s.acknowledged_at or now
        s.lead_page_due = None
        if s.status == IncidentStatus.triage:
            s.status = IncidentStatus.active
        change = f" (was {previous})" if previous else ""
        d.record("lead", f"{role.person} is the incident lead{change}", role.by)
        d.say(f"{role.person} is now the incident lead")
        _fulfil(d, "lead", role.person)
        self.rules.ask_new_lead(d)
        return d.done()

    def assign_messenger(self, state: IncidentState, role: RoleInput, now: datetime) -> Step:
        d = Decision(state, now, role)
        d.state.messenger = role.person
        d.state.messenger_page_due = None
        d.record("messenger", f"{role.person} is the messenger", role.by)
        d.say(f"{role.person} is now the messenger (customer communication)")
        _fulfil(d, "messenger", role.person)
        return d.done()

    def assign_resolution_owner(self, state: IncidentState, role: RoleInput, now: datetime) -> Step:
        d = Decision(state, now, role)
        d.state.resolution_owner = role.person
        d.state.owner_page_due = None
        d.record("owner", f"{role.person} owns the resolution", role.by)
        d.say(f"{role.person} owns the resolution")
        _fulfil(d, "resolution", role.person)
        return d.done()

    def decide_rollback(
        self, state: IncidentState, decision: RollbackDecision, now: datetime
    ) -> Step:
        d = Decision(state, now, decision)
        s = d.state
        s.rollback.decision = decision.choice
        s.rollback.decided_by = decision.by
        s.rollback.decided_at = now
        s.rollback.result = None
        s.rollback.resolved_it = None
        words = DECISION_WORDS[decision.choice]
        d.record("rollback-decision", f"Rollback decision: {words}", decision.by)
        d.say(f"{decision.by} decided: {words}")
        if decision.choice == "not_now":
            s.rollback_prompt_due = now + self.rules.prompt_interval()
        else:
            s.rollback_prompt_due = None
            if s.service is None:
                d.record("rollback-result", "No service named: nothing to roll back automatically")
            else:
                s.rollback.requested = True
                d.do(RunRollback())
        d.do(Wake())
        return d.done()

    def report_rollback_outcome(
        self, state: IncidentState, outcome: RollbackOutcome, now: datetime
    ) -> Step:
        d = Decision(state, now, outcome)
        s = d.state
        s.rollback.resolved_it = outcome.resolved
        s.rollback_prompt_due = None
        if outcome.resolved:
            d.record("rollback-outcome", "The rollback resolved it", outcome.by)
            d.say("Rollback resolved it: resolve the incident when you are satisfied")
        else:
            d.record("rollback-outcome", "The rollback did not resolve it", outcome.by)
            d.say(
                f"Who owns the resolution? Without an owner in "
                f"{format_duration(self.rules.prompt_interval())}, {s.team} on call is paged."
            )
            s.owner_page_due = now + self.rules.prompt_interval()
        d.do(Wake())
        return d.done()

    def post_update(
        self, state: IncidentState, update: UpdateInput, now: datetime, *, notes: bool = False
    ) -> Step:
        """A status update: to the channel and the timeline; resets the reminder clock.

        With ``notes`` (runs since the patch), an update from someone other than the lead
        or the messenger, while there is a lead, is a note, marked as such.
        """
        if notes and not updates_status(state, update.by):
            return self._note(state, update, now, "not a status update: those come from")
        d = Decision(state, now, update)
        s = d.state
        s.updates.append(StatusUpdate(at=now, by=update.by, text=update.text))
        s.last_update_at = now
        s.reminders = 0
        s.update_due = now + self.rules.update_interval(s)
        d.record("update", update.text, update.by)
        d.say(f"Status update from {update.by}: {update.text}")
        return d.done()

    def add_note(self, state: IncidentState, note: NoteInput, now: datetime) -> Step:
        """A note for the timeline, said in the channel; the update clock is not reset."""
        return self._note(state, note, now)

    def _note(
        self, state: IncidentState, note: NoteInput | UpdateInput, now: datetime, why: str = ""
    ) -> Step:
        d = Decision(state, now, note)
        s = d.state
        d.record("note", note.text, note.by)
        if why:
            roles = " or ".join(p for p in (s.lead, s.messenger) if p)
            d.say(f"Note from {note.by} ({why} {roles}): {note.text}")
        else:
            d.say(f"Note from {note.by}: {note.text}")
        return d.done()

    def change_severity(self, state: IncidentState, change: SeverityChange, now: datetime) -> Step:
        """A new severity; its policy (updates, announcements, paging) applies from now on."""
        d = Decision(state, now, change)
        s = d.state
        before = s.severity
        s.severity = change.severity.name
        s.severity_policy = change.severity
        s.update_due = now + self.rules.update_interval(s)
        if (
            change.severity.page
            and s.lead is None
            and s.lead_page_due is None
            and not any(p.purpose == "lead" for p in s.pages)
        ):
            s.lead_page_due = now + timedelta(seconds=self.config.lead_timeout_seconds)
        d.record("severity", f"Severity {before} → {s.severity}", change.by)
        d.say(f"Severity changed from {before} to {s.severity} by {change.by}")
        if not s.private:
            chat, mail = self.rules.announce_targets(change.severity)
            for target in chat:
                d.post(target, f"{incident_summary(s)} (was {before})")
            if mail:
                d.do(Mail(announcement_mail(s, mail, was=before)))
        return d.done()

    def edit(self, state: IncidentState, edit: IncidentEdit, now: datetime) -> Step:
        """A new title, description or summary: recorded, and said in the channel; the
        card, the topic and the incident log follow."""
        d = Decision(state, now, edit)
        s = d.state
        changed = edited_fields(s, edit)
        if "title" in changed and edit.title is not None:
            d.record("edited", f"Title: {s.title} → {edit.title}", edit.by)
            s.title = edit.title
            d.say(f"{edit.by} changed the title to: {s.title}")
        if "description" in changed:
            s.description = edit.description or None
            text = f"Description: {s.description}" if s.description else "Description cleared"
            d.record("edited", text, edit.by)
            d.say(f"{edit.by} {'changed' if s.description else 'cleared'} the description")
        if "summary" in changed:
            s.summary = edit.summary or None
            s.summary_by = edit.by
            s.summary_at = now
            if s.summary:
                d.record("summary", f"Summary: {s.summary}", edit.by)
                d.say(f"Summary from {edit.by}: {s.summary}")
            else:
                d.record("summary", "Summary cleared", edit.by)
                d.say(f"{edit.by} cleared the summary")
        d.do(Wake())
        return d.done()

    def resolve(self, state: IncidentState, resolution: ResolveInput, now: datetime) -> Step:
        """Resolve: fixed, rolled back, or a false positive; aftercare takes over."""
        d = Decision(state, now, resolution)
        s = d.state
        s.resolved_at = now
        s.resolved_by = resolution.by
        s.resolution = resolution.resolution
        s.resolution_summary = resolution.summary
        s.status = IncidentStatus.resolved
        d.record(
            "resolved", f"Resolved ({resolution.resolution}): {resolution.summary}", resolution.by
        )
        d.say(f"{s.id} resolved by {resolution.by} ({resolution.resolution}): {resolution.summary}")
        clear_open_deadlines(s)
        if self.rules.severity(s).postmortem:
            s.postmortem_owed = True
            d.record(
                "postmortem", "Postmortem required: the incident stays resolved until it is done"
            )
        if s.messenger is not None or s.customer_impact:
            s.messenger_confirm_due = now + timedelta(seconds=self.config.messenger_confirm_seconds)
            d.say(
                f"{s.messenger or 'Messenger'}: please confirm that customer communication is "
                "updated (/incident comms)."
            )
        self.rules.aftercare.maybe_close(d)
        d.do(Wake())
        return d.done()

    def add_followup(self, state: IncidentState, request: FollowUpRequest, now: datetime) -> Step:
        """A follow-up: a new issue is opened for it, or an existing one is linked."""
        d = Decision(state, now, request)
        s = d.state
        followup = FollowUp(
            number=len(s.followups) + 1,
            title=request.title or request.issue_url or "",
            body=request.body,
            assignee=request.assignee,
            repo=request.repo or self.config.followup_repo,
            issue_url=request.issue_url,
            added_by=request.by,
            added_at=now,
        )
        s.followups.append(followup)
        d.record("followup", f"Follow-up #{followup.number} added: {followup.title}", request.by)
        d.do(Wake())
        return d.done()

    def confirm_customer_comms(
        self, state: IncidentState, confirmation: CommsConfirmation, now: datetime
    ) -> Step:
        d = Decision(state, now, confirmation)
        s = d.state
        s.messenger_confirmed_by = confirmation.by
        s.messenger_confirmed_at = now
        s.messenger_confirm_due = None
        note = f": {confirmation.note}" if confirmation.note else ""
        d.record(
            "comms",
            f"{confirmation.by} confirmed customer communication is updated{note}",
            confirmation.by,
        )
        d.do(Wake())
        return d.done()

    def page_acknowledged(self, state: IncidentState, ack: PageAcknowledged, now: datetime) -> Step:
        """A role page was acknowledged: the acknowledger takes the role unless someone has."""
        d = Decision(state, now)
        s = d.state
        page = next((p for p in s.pages if p.page_id == ack.page_id), None)
        if page is None or s.status not in OPEN:
            return d.done()
        page.acknowledged_by = ack.by
        page.closed = True
        d.do(Invite(ack.by))
        # The acknowledger has the role (or it was already taken): the page's work is done.
        d.do(ClosePage(page.page_id, f"{ack.by} answered it"))
        d.record("page-ack", f"{ack.by} acknowledged page {ack.page_id} ({page.purpose})", ack.by)
        if page.purpose == "lead" and s.lead is None:
            s.lead = ack.by
            s.acknowledged_at = s.acknowledged_at or now
            s.status = IncidentStatus.active
            d.record("lead", f"{ack.by} is the incident lead (acknowledged the page)", ack.by)
            d.say(f"{ack.by} acknowledged the page and is now the incident lead")
            self.rules.ask_new_lead(d)
        elif page.purpose == "messenger" and s.messenger is None:
            s.messenger = ack.by
            d.record("messenger", f"{ack.by} is the messenger (acknowledged the page)", ack.by)
            d.say(f"{ack.by} is now the messenger")
        elif page.purpose == "resolution" and s.resolution_owner is None:
            s.resolution_owner = ack.by
            d.record("owner", f"{ack.by} owns the resolution (acknowledged the page)", ack.by)
            d.say(f"{ack.by} owns the resolution")
        d.do(Wake())
        return d.done()


def _fulfil(d: Decision, purpose: str, person: str) -> None:
    """A role was filled: invite the person; close the page that was looking for it."""
    d.do(Invite(person))
    d.do(Wake())
    for page in d.state.pages:
        if page.purpose == purpose and not page.closed:
            page.closed = True
            d.do(ClosePage(page.page_id, f"{person} took the {purpose} role"))
