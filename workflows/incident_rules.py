"""An incident's decisions while it is open: roles, deadlines, rollback first, updates.

Every method is a pure function of ``(state, event, now)`` returning a :class:`Step` (the
next state and the commands to carry out); nothing here talks to Temporal, so each rule
is unit-tested without a server. What happens after resolution is in
:mod:`workflows.incident_aftercare`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.actors import Acted
from workflows.chat_models import ChannelRequest, ChatPost, IncidentCard
from workflows.durations import format_duration
from workflows.ids import incident_workflow_id
from workflows.incident_aftercare import AftercareRules
from workflows.incident_commands import (
    ClosePage,
    Decision,
    Mail,
    PostCard,
    StartPage,
    Step,
)
from workflows.incident_config import split_announce
from workflows.incident_models import (
    AnnouncementMail,
    IncidentInput,
    IncidentState,
    RolePage,
    SeverityPolicy,
)
from workflows.incident_views import (
    announcement_mail,
    card_text,
    channel_name,
    incident_summary,
)
from workflows.models import PageInput, RollbackResult


class IncidentRules:
    """The open phase of one incident, configured by its :class:`IncidentInput`."""

    def __init__(self, config: IncidentInput) -> None:
        self.config = config
        self.aftercare = AftercareRules(config)
        # Set by runs since the patch: email: targets are mailed and slack: read as the
        # channel; before, every announce target was a chat channel as written.
        self.announce_by_mail = False

    def first_state(self, now: datetime) -> IncidentState:
        """The incident as it is declared, before anything has happened to it."""
        incident = self.config
        return IncidentState(
            id=incident.id,
            title=incident.title,
            description=incident.description,
            severity=incident.severity.name,
            service=incident.service,
            team=incident.team,
            customer_impact=incident.customer_impact,
            security=incident.security,
            private=incident.security,
            declared_by=incident.declared_by,
            declared_at=now,
            number=incident.number,
            from_page=incident.from_page,
            severity_policy=incident.severity,
        )

    # -- declaration (the main loop runs these in order, with the channel in between) --

    def declare(self, state: IncidentState, now: datetime) -> Step:
        declarer = Acted(by=self.config.declared_by, via=self.config.declared_via)
        d = Decision(state, now, declarer)
        s = d.state
        source = f" (from page {s.from_page})" if s.from_page else ""
        d.record(
            "declared",
            f"{s.id} declared by {s.declared_by}{source}: {s.title} [{s.severity}]",
            s.declared_by,
        )
        return d.done()

    def channel_request(self, state: IncidentState) -> ChannelRequest:
        return ChannelRequest(
            incident_id=state.id,
            name=channel_name(state.id, state.title),
            private=state.private,
            members=[state.declared_by],
        )

    def channel_opened(self, state: IncidentState, channel: str, now: datetime) -> Step:
        """The channel exists: record it and pin the incident card there."""
        d = Decision(state, now)
        d.state.channel = channel
        d.record("channel", f"Channel {channel} opened")
        text = card_text(d.state)
        d.record("chat", text)
        card = IncidentCard.of(d.state)
        d.do(PostCard(ChatPost(channel=channel, text=text, card=card, pin=True)))
        return d.done()

    def card_posted(self, state: IncidentState, ref: str | None, now: datetime) -> Step:
        d = Decision(state, now)
        d.state.card_ref = ref
        return d.done()

    def announce(self, state: IncidentState, now: datetime) -> Step:
        """Announce where the severity says (never a security incident); page security."""
        d = Decision(state, now)
        s = d.state
        announce = self.severity(s).announce
        if not s.private:
            chat, mail = self.announce_targets(self.severity(s))
            for target in chat:
                d.post(target, f":rotating_light: {incident_summary(s)} — join {s.channel}")
            if mail:
                d.do(Mail(announcement_mail(s, mail)))
            if announce:
                d.record("announced", f"Announced in {', '.join(announce)}")
        else:
            d.record("private", "Security incident: private, not announced")
        if s.security and self.config.security_team:
            self.page_role(
                d, "security", self.config.security_team, f"{s.id} security incident: {s.title}"
            )
        return d.done()

    def arm(self, state: IncidentState, now: datetime) -> Step:
        """The open phase's clocks, from the declaration: the lead and messenger pages,
        rollback (asked now, once the channel exists), status updates."""
        d = Decision(state, now)
        s = d.state
        lead_timeout = timedelta(seconds=self.config.lead_timeout_seconds)
        if self.severity(s).page:
            s.lead_page_due = s.declared_at + lead_timeout
        if s.customer_impact and self.config.support_team:
            s.messenger_page_due = s.declared_at + lead_timeout
        self.prompt_rollback(d)
        s.update_due = s.declared_at + self.update_interval(s)
        return d.done()

    # -- the clock ----------------------------------------------------------------------

    def deadlines(self, state: IncidentState) -> list[datetime]:
        """Every instant the main loop must wake at, open phase and aftercare alike."""
        s = state
        open_phase = (
            s.lead_page_due,
            s.messenger_page_due,
            s.rollback_prompt_due,
            s.owner_page_due,
            s.update_due,
        )
        return [d for d in open_phase if d is not None] + self.aftercare.deadlines(s)

    def due(self, state: IncidentState, now: datetime) -> Step:
        """Deadlines that have passed: role pages, rollback re-prompts, update reminders."""
        d = Decision(state, now)
        s = d.state
        if s.lead_page_due and now >= s.lead_page_due:
            s.lead_page_due = None
            if s.lead is None:
                self.page_role(
                    d, "lead", s.team, f"We have an incident, please help: {s.id} {s.title}"
                )
        if s.messenger_page_due and now >= s.messenger_page_due:
            s.messenger_page_due = None
            if s.messenger is None and self.config.support_team:
                summary = f"{s.id} affects customers, we need a messenger: {s.title}"
                self.page_role(d, "messenger", self.config.support_team, summary)
        if s.rollback_prompt_due and now >= s.rollback_prompt_due:
            s.rollback_prompt_due = None
            if s.rollback.decision is None:
                self.prompt_rollback(d)
            elif s.rollback.result is not None and s.rollback.resolved_it is None:
                self.prompt_outcome(d)
        if s.owner_page_due and now >= s.owner_page_due:
            s.owner_page_due = None
            if s.resolution_owner is None:
                self.page_role(
                    d, "resolution", s.team, f"{s.id} needs a resolution owner: {s.title}"
                )
        if s.update_due and now >= s.update_due:
            self._remind_update(d)
        return d.done()

    def close_open_phase(self, state: IncidentState, now: datetime) -> Step:
        """Role pages, prompts and update reminders end with the incident's open phase (a
        declaration still under way when it was resolved may have set them after)."""
        d = Decision(state, now)
        clear_open_deadlines(d.state)
        return d.done()

    def wind_down(self, state: IncidentState, now: datetime) -> Step:
        """Close every role page still open: the incident no longer needs them."""
        d = Decision(state, now)
        for page in d.state.pages:
            if not page.closed:
                page.closed = True
                d.do(ClosePage(page.page_id, f"{d.state.id} resolved"))
        return d.done()

    # -- rollback ----------------------------------------------------------------------

    def rollback_started(self, state: IncidentState, now: datetime) -> Step:
        d = Decision(state, now)
        d.state.rollback.requested = False
        d.state.rollback.running = True
        return d.done()

    def rollback_done(self, state: IncidentState, result: RollbackResult, now: datetime) -> Step:
        d = Decision(state, now)
        s = d.state
        s.rollback.running = False
        s.rollback.result = result
        if result.ok:
            s.rollback.succeeded_at = now
            s.rollback.succeeded_by = s.rollback.decided_by
        outcome = "succeeded" if result.ok else "failed"
        detail = f"\n{result.output[-1500:]}" if result.output else ""
        d.record(
            "rollback-result",
            f"Rollback of {s.service} {outcome} ({result.runner}): {result.summary}{detail}",
        )
        d.say(
            f"Rollback of {s.service} {outcome}: {result.summary}"
            + (f" {result.url}" if result.url else "")
        )
        self.prompt_outcome(d)
        return d.done()

    # -- results of the main loop's calls ---------------------------------------------

    def mail_sent(
        self, state: IncidentState, mail: AnnouncementMail, sent: list[str], now: datetime
    ) -> Step:
        d = Decision(state, now)
        d.record("announced-mail", f"Mailed “{mail.subject}” to {', '.join(sent)}")
        return d.done()

    def mail_failed(
        self, state: IncidentState, mail: AnnouncementMail, reason: str, now: datetime
    ) -> Step:
        d = Decision(state, now)
        targets = ", ".join(f"email:{t}" for t in mail.to)
        d.record("announce-failed", f"Could not mail “{mail.subject}” to {targets}: {reason}")
        return d.done()

    def chat_failed(self, state: IncidentState, what: str, now: datetime) -> Step:
        d = Decision(state, now)
        d.record("chat-failed", what)
        return d.done()

    def archived(self, state: IncidentState, now: datetime) -> Step:
        d = Decision(state, now)
        d.state.archived = True
        d.record("archived", f"Channel {d.state.channel} archived")
        return d.done()

    # -- policy ------------------------------------------------------------------------

    def severity(self, state: IncidentState) -> SeverityPolicy:
        return state.severity_policy or self.config.severity

    def announce_targets(self, policy: SeverityPolicy) -> tuple[list[str], list[str]]:
        """The severity's announce targets: (chat channels, mail recipients)."""
        if not self.announce_by_mail:
            return list(policy.announce), []
        return split_announce(policy.announce)

    def update_interval(self, state: IncidentState) -> timedelta:
        return timedelta(seconds=self.severity(state).update_interval_seconds)

    def prompt_interval(self) -> timedelta:
        return timedelta(seconds=self.config.prompt_interval_seconds)

    # -- parts of decisions ------------------------------------------------------------

    def page_role(self, d: Decision, purpose: str, team: str, summary: str) -> None:
        """Open a child page for a role; its acknowledgement comes back as a signal."""
        s = d.state
        count = sum(1 for p in s.pages if p.purpose == purpose) + 1
        key = f"{s.id.lower()}-{purpose}-{count}"
        d.do(
            StartPage(
                PageInput(
                    key=key,
                    team=team,
                    summary=summary,
                    created_by="tocsin",
                    source="incident",
                    notify_workflow=incident_workflow_id(s.id),
                    purpose=purpose,
                )
            )
        )
        s.pages.append(RolePage(purpose=purpose, page_id=key, team=team))
        d.record("page", f"Paged team {team} for a {purpose}: page {key}")
        d.say(f"Paged {team} on call for a {purpose} (page {key})")

    def prompt_rollback(self, d: Decision) -> None:
        s = d.state
        s.rollback.prompts += 1
        target = f"`{s.service}`" if s.service else "the affected service"
        lead = s.lead or "incident lead"
        d.say(
            f"{lead}: Roll back {target} to the last known good state? "
            "Choose: roll back / revert a change / not now"
        )
        d.record(
            "prompt", f"Asked {lead} whether to roll back {target} (prompt {s.rollback.prompts})"
        )
        s.rollback_prompt_due = d.now + self.prompt_interval()

    def ask_new_lead(self, d: Decision) -> None:
        """Rollback first: a new lead is asked at once if nobody has decided yet."""
        if d.state.rollback.decision is None:
            self.prompt_rollback(d)

    def prompt_outcome(self, d: Decision) -> None:
        d.say(f"{d.state.lead or 'incident lead'}: did the rollback resolve it? (yes / no)")
        d.state.rollback_prompt_due = d.now + self.prompt_interval()

    def _remind_update(self, d: Decision) -> None:
        s = d.state
        s.reminders += 1
        since = format_duration(self.update_interval(s) * s.reminders)
        lead = s.lead or "lead (nobody yet)"
        d.say(f"Reminder for {lead}: no status update for {since}. Post one with /incident update.")
        if s.reminders >= 2 and not s.private:
            # Chat only: a company-wide mailing list does not hear about late updates.
            for target in self.announce_targets(self.severity(s))[0]:
                d.post(target, f"{s.id}: no status update for {since} (lead: {lead})")
        s.update_due = d.now + self.update_interval(s)


def clear_open_deadlines(s: IncidentState) -> None:
    s.lead_page_due = s.messenger_page_due = s.rollback_prompt_due = None
    s.owner_page_due = s.update_due = None
