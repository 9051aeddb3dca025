"""Incident activities: the channel and its messages, through the ``Chat`` port."""

from __future__ import annotations

from temporalio import activity

from activities.errors import AdapterError, NotFound, to_application_error
from activities.ports import Chat, ConfigSource
from workflows.chat_models import ChannelInvite, ChannelRef, ChannelRequest, ChannelTopic, ChatPost


class ChatActivities:
    """Opens incident channels and posts to them."""

    def __init__(self, config: ConfigSource, chat: Chat) -> None:
        self._config = config
        self._chat = chat

    @activity.defn(name="open_channel")
    async def open_channel(self, request: ChannelRequest) -> str:
        """Create the incident's channel and invite its people; returns the channel reference."""
        people = self._config.current().people
        try:
            channel = await self._chat.create_channel(request.name, request.private)
            members = [people[p] for p in request.members if p in people]
            if members:
                await self._chat.invite(channel, members)
        except AdapterError as err:
            raise to_application_error(err) from err
        return channel

    @activity.defn(name="invite_to_channel")
    async def invite_to_channel(self, invite: ChannelInvite) -> None:
        """Bring people who took a role (or were paged) into the channel."""
        people = self._config.current().people
        members = [people[p] for p in invite.people if p in people]
        try:
            if members:
                await self._chat.invite(invite.channel, members)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="post_message")
    async def post_message(self, post: ChatPost) -> str:
        """Post one message (or replace one in place); returns the message reference.

        A message that was deleted meanwhile is posted afresh rather than lost.
        """
        try:
            if post.replace is not None:
                try:
                    await self._chat.update(post.channel, post.replace, post.text, post.card)
                except NotFound:
                    pass
                else:
                    return post.replace
            ref = await self._chat.post(post.channel, post.text, post.card)
            if post.pin:
                await self._chat.pin(post.channel, ref)
        except AdapterError as err:
            raise to_application_error(err) from err
        return ref

    @activity.defn(name="set_channel_topic")
    async def set_channel_topic(self, topic: ChannelTopic) -> None:
        try:
            await self._chat.set_topic(topic.channel, topic.topic)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="archive_channel")
    async def archive_channel(self, channel: ChannelRef) -> None:
        """Archive an incident's channel at the end of its life."""
        try:
            await self._chat.archive(channel.channel)
        except AdapterError as err:
            raise to_application_error(err) from err
