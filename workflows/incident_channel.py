"""The incident channel as the incident workflow keeps it.

Workflow code. Decisions queue posts and invitations; each flush sends them in order,
then brings the pinned card and the topic up to date when they differ from what the
channel shows. A chat outage is retried for a while, then reported through ``failed``
and skipped: the incident's decisions and timers never wait on chat, and the timeline
keeps every message.
"""

from __future__ import annotations

from collections.abc import Callable

from workflows import incident_calls as calls
from workflows.chat_models import ChannelInvite, ChannelRef, ChannelTopic, ChatPost, IncidentCard
from workflows.incident_models import IncidentState
from workflows.incident_views import card_text, channel_topic


class ChannelKeeper:
    """Queued posts and invitations, and what the channel's card and topic show now."""

    def __init__(
        self,
        state: Callable[[], IncidentState],
        failed: Callable[[str], None],
        card_posted: Callable[[str | None], None],
    ) -> None:
        self._state = state
        self._failed = failed
        self._card_posted = card_posted
        self.outbox: list[ChatPost] = []
        self.invites: list[str] = []
        self._card_shown: IncidentCard | None = None
        self._topic_shown: str | None = None

    def pending(self) -> bool:
        return bool(self.outbox) or bool(self.invites)

    async def post_card(self, post: ChatPost) -> None:
        """Post the pinned incident card; :meth:`flush` keeps it up to date."""
        self._card_shown = post.card if isinstance(post.card, IncidentCard) else None
        self._card_posted(await self.post(post, "post the incident card"))

    async def flush(self) -> None:
        """Invite, post what is queued in order, then update the card and the topic."""
        channel = self._state().channel
        if self.invites and channel is not None:
            people, self.invites = sorted(set(self.invites)), []
            failed = await calls.invite(ChannelInvite(channel=channel, people=people))
            if failed:
                self._failed(f"Could not invite {', '.join(people)}: {failed.reason}")
        while self.outbox:
            await self.post(self.outbox.pop(0))
        s = self._state()
        if channel is not None and s.card_ref is not None and self._card_changed(s):
            card = IncidentCard.of(s)
            self._card_shown = card
            post = ChatPost(channel=channel, text=card_text(s), card=card, replace=s.card_ref)
            self._card_posted(await self.post(post, "update the incident card") or s.card_ref)
        topic = channel_topic(self._state())
        if channel is not None and topic != self._topic_shown:
            self._topic_shown = topic
            failed = await calls.set_topic(ChannelTopic(channel=channel, topic=topic))
            if failed:
                self._failed(f"Could not set the channel topic: {failed.reason}")

    async def post(self, post: ChatPost, summary: str | None = None) -> str | None:
        """Post (or replace) one message; returns its reference, None when chat failed."""
        ref = await calls.post(post, summary)
        if isinstance(ref, calls.Failed):
            self._failed(f"Could not post to {post.channel}: {ref.reason}")
            return None
        return ref

    async def archive(self) -> bool:
        """Archive the channel (once); whether it is archived now."""
        channel = self._state().channel
        if channel is None or self._state().archived:
            return False
        failed = await calls.archive(ChannelRef(channel=channel))
        if failed:
            self._failed(f"Could not archive {channel}: {failed.reason}")
            return False
        return True

    def _card_changed(self, s: IncidentState) -> bool:
        """Whether the card shows something stale (its "last event" line alone does not count)."""
        if self._card_shown is None:
            return True
        shown = self._card_shown.model_copy(update={"last": None})
        return IncidentCard.of(s).model_copy(update={"last": None}) != shown
