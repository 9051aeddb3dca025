"""``/silence``: set a silence on a service or team, list them, end one (see
:mod:`starters.slack.silence_request` for what it reads).

The setter is the Tocsin person the Slack user maps to (recorded as set ``via`` their
Slack user), never a name in the text. Bad input is answered in the ack, ephemeral; the
store is written after the ack, through the same :class:`~starters.silences.SilenceDesk`
as the API, so its refusals read as the API's. A silence set or ended is said in the
channel: everyone there should know why the pages stopped (or start again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from temporalio.service import RPCError

from activities.adapters.slack_blocks import silence_commands as blocks
from activities.errors import AdapterError
from starters.errors import InvalidRequest, Rejected
from starters.http.silences import NOT_CONFIGURED, UNAVAILABLE
from starters.silences import SilenceDesk, SilenceNotFound
from starters.slack.context import NOT_IN_CONFIG, SlackContext
from starters.slack.silence_request import SilenceAsk, silence_request

log = structlog.get_logger("tocsin.slack")

COMMAND = "/silence"
# Ending worked, telling the held pages did not: they page when the silence would have ended.
NOT_TOLD = (
    "Silence `{id}` is ended, but Temporal did not answer, so the pages it held were not "
    "told: they page when it would have ended."
)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add ``/silence`` to ``app``."""

    @app.command(COMMAND)
    async def silence(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await on_command(ctx, ack, respond, command)


async def on_command(
    ctx: SlackContext, ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]
) -> None:
    """``/silence …`` as the Slack user's Tocsin person."""
    person = ctx.person_for(str(command.get("user_id", "")))
    if person is None:
        await ack(text=NOT_IN_CONFIG, response_type="ephemeral")
        return
    try:
        ask = silence_request(str(command.get("text", "")), ctx.config.current(), ctx.person_for)
    except ValueError as err:
        await ack(text=str(err), response_type="ephemeral")
        return
    if ask.verb == "help":
        await ack(text=blocks.SILENCE_USAGE, response_type="ephemeral")
        return
    if ctx.silences is None:
        await ack(
            text=f"Silences are not available here: {NOT_CONFIGURED}.", response_type="ephemeral"
        )
        return
    await ack()
    desk = SilenceDesk(ctx.silences, ctx.config, ctx.tocsin.temporal)
    bound = log.bind(by=person, action=ask.verb)
    try:
        text, public = await _run(ctx, desk, ask, person)
    except AdapterError:
        text, public = f"Nothing was done: {UNAVAILABLE}.", False
    bound.info("slack silence command", public=public)
    await respond(
        text=text, response_type="in_channel" if public else "ephemeral", replace_original=False
    )


async def _run(
    ctx: SlackContext, desk: SilenceDesk, ask: SilenceAsk, person: str
) -> tuple[str, bool]:
    """Do what ``ask`` says as ``person``: the answer, and whether the channel sees it.

    Raises:
        AdapterError: the store failed.
    """
    now = datetime.now(UTC)
    if ask.verb == "list":
        found = await desk.list(now, everything=ask.everything)
        return blocks.silence_list_text(found, now, everything=ask.everything), False
    if ask.verb == "end":
        try:
            ended = await desk.end(ask.silence_id, person, now)
        except (SilenceNotFound, Rejected) as err:
            return f"Could not end silence `{ask.silence_id}`: {err}", False
        except RPCError:
            return NOT_TOLD.format(id=ask.silence_id), False
        return blocks.silence_ended_text(ended), True
    if ask.new is None:
        raise TypeError("a set request carries its silence")  # silence_request's rule
    try:
        made = await desk.add(ask.new, person, ctx.acted(person)["via"], now)
    except InvalidRequest as err:
        return f"Could not silence {ask.what}: {err}", False
    return blocks.silence_set_text(made, now), True
