"""What an incident decision asks the workflow to do, and the builder that makes decisions.

The incident's rules (:mod:`workflows.incident_rules`, :mod:`workflows.incident_aftercare`)
are pure: given the state, an event and the time, they return the next state and a list
of commands. :class:`workflows.incident.IncidentWorkflow` carries the commands out, in
order: chat posts and invitations are queued for the next flush, search attributes are
brought up to date, role pages are started and closed, a rollback is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workflows.actors import Acted
from workflows.chat_models import ChatPost
from workflows.incident_models import AnnouncementMail, IncidentState
from workflows.models import PageInput, TimelineEntry


@dataclass(frozen=True)
class Shown:
    """The incident's search attributes as they should read at one moment."""

    status: str
    severity: str
    lead: str | None

    @classmethod
    def of(cls, state: IncidentState) -> Shown:
        return cls(status=state.status.value, severity=state.severity, lead=state.lead)


@dataclass(frozen=True)
class Publish:
    """Bring the search attributes (when they differ) and the current details up to date."""

    shown: Shown


@dataclass(frozen=True)
class Post:
    """Queue a chat message; the next flush sends the queue in order."""

    post: ChatPost


@dataclass(frozen=True)
class Mail:
    """Mail an announcement at the next flush; its outcome comes back as ``mail_sent``."""

    mail: AnnouncementMail


@dataclass(frozen=True)
class Invite:
    """Invite a person to the incident channel at the next flush."""

    person: str


@dataclass(frozen=True)
class PostCard:
    """Post the pinned incident card now; its reference comes back as ``card_posted``."""

    post: ChatPost


@dataclass(frozen=True)
class StartPage:
    """Start a child page looking for a role; its ack comes back as ``page_acknowledged``."""

    page: PageInput


@dataclass(frozen=True)
class ClosePage:
    """Resolve a role page whose need is met (it may already be gone)."""

    page_id: str
    why: str


@dataclass(frozen=True)
class RunRollback:
    """Run the decided rollback in the main loop; its result comes back as ``rollback_done``."""


@dataclass(frozen=True)
class Wake:
    """Wake the main loop: something changed that it acts on."""


Command = Publish | Post | Mail | Invite | PostCard | StartPage | ClosePage | RunRollback | Wake


@dataclass
class Step:
    """A decision: the state after an event, and what to do about it."""

    state: IncidentState
    commands: list[Command] = field(default_factory=list)


class Decision:
    """Builds a :class:`Step` from a copy of the state; the caller's state is not touched."""

    def __init__(self, state: IncidentState, now: datetime, request: Acted | None = None) -> None:
        self.state = state.model_copy(deep=True)
        self.now = now
        self.commands: list[Command] = []
        self.request = request

    def record(self, kind: str, text: str, by: str | None = None) -> None:
        """A timeline entry; the search attributes are published as they read now. An entry
        by the actor of the request being decided names the credential they used."""
        request = self.request
        via = request.via if request is not None and by is not None and by == request.by else None
        entry = TimelineEntry(at=self.now, kind=kind, text=text, by=by, via=via)
        self.state.timeline.append(entry)
        self.commands.append(Publish(Shown.of(self.state)))

    def say(self, text: str) -> None:
        """Tell the incident channel (while it is open) and record it."""
        self.post_to_channel(text)
        self.record("chat", text)

    def post_to_channel(self, text: str) -> None:
        s = self.state
        if s.channel is not None and not s.archived:
            self.post(s.channel, text)

    def post(self, channel: str, text: str) -> None:
        self.commands.append(Post(ChatPost(channel=channel, text=text)))

    def do(self, command: Command) -> None:
        self.commands.append(command)

    def done(self) -> Step:
        return Step(self.state, self.commands)
