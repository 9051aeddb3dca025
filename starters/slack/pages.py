"""Page listeners: ``/oncall``, ``/page`` (paging, and acting on a page: see
:mod:`starters.slack.page_subcommands`), and the page buttons: Acknowledge / Escalate on
a triggered page, Snooze 1h / Un-acknowledge on an acknowledged one.

Every listener acks first (Slack wants that within 3 seconds) and only then talks to
Temporal through :class:`~starters.api.TocsinClient`; with ``process_before_response``
off, bolt answers Slack at the ack and the rest runs in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.service import RPCError

from activities.adapters.slack_blocks import commands as blocks
from activities.adapters.slack_blocks.cards import (
    ACK_ACTION,
    ESCALATE_ACTION,
    SNOOZE_ACTION,
    SNOOZE_BUTTON,
    UNACK_ACTION,
)
from starters.checks import NewPage, oncall_entries
from starters.errors import InvalidRequest, TocsinError
from starters.page_responders import Snooze
from starters.slack.context import NOT_IN_CONFIG, SlackContext
from starters.slack.page_request import PageAsk, page_request
from starters.slack.page_subcommands import (
    DOING,
    USAGE,
    PageSubcommand,
    page_call,
    page_subcommand,
)
from starters.slack.text import typed
from workflows.models import PageActionInput, PageState
from workflows.rotation_models import NoteRequest

log = structlog.get_logger("tocsin.slack")

TEMPORAL_DOWN = "Tocsin cannot reach Temporal right now: nothing was done, try again."


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the page commands and buttons to ``app``."""

    async def oncall(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        text = str(command.get("text", "")).strip()
        if text.split()[:1] == ["note"]:
            await _note(ctx, ack, respond, command, text.partition(" ")[2].strip())
            return
        words = text.split()
        if len(words) > 1 or words[:1] == ["help"]:
            await ack(text=blocks.ONCALL_USAGE, response_type="ephemeral")
            return
        team = words[0] if words else None
        try:
            # The answer goes in the ack, within Slack's 3 s: a rotation whose workflow is
            # slow to answer is shown from the config's schedule instead.
            entries = await asyncio.wait_for(ctx.tocsin.oncall(team), ONCALL_BUDGET)
        except TimeoutError:
            entries = oncall_entries(ctx.config.current(), team)
        except InvalidRequest as err:
            await ack(text=f"{err}\n{blocks.ONCALL_USAGE}", response_type="ephemeral")
            return
        await ack(
            text=blocks.oncall_text(entries),
            blocks=blocks.oncall_blocks(entries),
            response_type="ephemeral",
        )

    async def page(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        person = ctx.person_for(str(command.get("user_id", "")))
        if person is None:
            await ack(text=NOT_IN_CONFIG, response_type="ephemeral")
            return
        teams = ctx.config.current().teams
        text = str(command.get("text", ""))
        sub = page_subcommand(text, set(teams), ctx.person_for)
        if sub is not None:
            await _subcommand(ctx, ack, respond, sub, person)
            return
        ask = page_request(text, set(teams), ctx.person_for)
        summary = typed(ask.summary, ctx.person_for)
        refusal = _refusal(ask, teams, summary)
        if refusal is not None:
            await ack(text=refusal, response_type="ephemeral")
            return
        await ack()
        await _open_page(ctx, respond, ask, summary, person)

    def button(verb: str) -> Any:
        async def pressed(
            ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, body: dict[str, Any]
        ) -> None:
            await ack()
            await _page_button(ctx, verb, respond, client, body)

        return pressed

    app.command("/oncall")(oncall)
    app.command("/page")(page)
    app.action(ACK_ACTION)(button("acknowledge"))
    app.action(ESCALATE_ACTION)(button("escalate"))
    app.action(SNOOZE_ACTION)(button("snooze"))
    app.action(UNACK_ACTION)(button("unacknowledge"))


ONCALL_BUDGET = 2.0


def _refusal(ask: PageAsk, teams: Mapping[str, object], summary: str) -> str | None:
    """Why ``ask`` pages nobody, said to the person who typed it (the usage when it is
    not a ``/page`` at all); None when it can go."""
    if not summary or ask.unknown in ("", "help"):
        return blocks.PAGE_USAGE
    usage = next((u for verb, u in USAGE.items() if verb == ask.unknown), None)
    if usage is not None:
        # A subcommand word not followed by what it takes (and no team to page).
        return f"Usage: {usage}"
    if ask.stranger is not None:
        return (
            f"{ask.stranger} is not in Tocsin's config: page their team, or add their `slack:` id."
        )
    if ask.unknown is not None:
        return f"Unknown team `{ask.unknown}` (teams: {', '.join(sorted(teams))})."
    return None


async def _open_page(
    ctx: SlackContext, respond: AsyncRespond, ask: PageAsk, summary: str, person: str
) -> None:
    """Page whom ``ask`` names as ``person``; the answer is ephemeral."""
    whom = f"`{ask.team}`" if ask.team else f"`{ask.person}`"
    try:
        state, created = await ctx.tocsin.create_page(
            NewPage(
                team=ask.team,
                person=ask.person,
                urgency=ask.urgency,
                summary=summary[:500],
                **ctx.acted(person),
            )
        )
    except (TocsinError, ValueError) as err:
        await respond(text=f"Could not page {whom}: {err}", response_type="ephemeral")
        return
    except RPCError:
        await respond(text=TEMPORAL_DOWN, response_type="ephemeral")
        return
    log.info(
        "paged from slack",
        page_id=state.id,
        team=state.team,
        person=ask.person,
        by=person,
        created=created,
    )
    await respond(text=blocks.page_opened_text(state, created), response_type="ephemeral")


async def _note(
    ctx: SlackContext, ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], text: str
) -> None:
    """``/oncall note <text>``: a handoff note on the current shift of the person's rotation."""
    person = ctx.person_for(str(command.get("user_id", "")))
    if person is None:
        await ack(text=NOT_IN_CONFIG, response_type="ephemeral")
        return
    if not text:
        await ack(text=blocks.ONCALL_USAGE, response_type="ephemeral")
        return
    config = ctx.config.current()
    rotation = next(
        (t.rotation for t in config.teams.values() if person in t.members and t.rotation), None
    )
    if rotation is None:
        await ack(text="None of your teams has a rotation to note on.", response_type="ephemeral")
        return
    await ack()
    request = NoteRequest(text=typed(text, ctx.person_for)[:4000], **ctx.acted(person))
    try:
        shift = await ctx.tocsin.rotation_call(lambda r: r.note(rotation, request))
    except TocsinError as err:
        await _ephemeral(respond, f"Note not added: {err}")
        return
    await _ephemeral(
        respond, f"Noted on the `{rotation}` shift (handed over {shift.end:%a %H:%M} UTC)."
    )


async def _ephemeral(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _subcommand(
    ctx: SlackContext, ack: AsyncAck, respond: AsyncRespond, sub: PageSubcommand, person: str
) -> None:
    """``/page unack|snooze|reassign|responders <id> …`` as ``person``; the answer and any
    refusal are ephemeral."""
    try:
        send = page_call(ctx, sub, person)
    except ValidationError as err:
        await ack(text=f"{err.errors()[0]['msg']}: {USAGE[sub.verb]}", response_type="ephemeral")
        return
    except ValueError as err:
        await ack(text=str(err), response_type="ephemeral")
        return
    await ack()
    bound = log.bind(page_id=sub.page_id, by=person, action=sub.verb)
    try:
        state = await send()
    except TocsinError as err:
        bound.info("slack page command refused", reason=str(err))
        await _ephemeral(respond, f"Could not {DOING[sub.verb]} page `{sub.page_id}`: {err}")
        return
    except RPCError:
        await _ephemeral(respond, TEMPORAL_DOWN)
        return
    bound.info("page updated from slack", status=state.status.value)
    await _ephemeral(respond, blocks.page_subcommand_text(sub.verb, state))


async def _page_button(
    ctx: SlackContext,
    verb: str,
    respond: AsyncRespond,
    client: AsyncWebClient,
    body: dict[str, Any],
) -> None:
    """Send ``verb`` to the page as the presser, then show the new state in place."""
    person = ctx.person_for(str(body.get("user", {}).get("id", "")))
    if person is None:
        await _ephemeral(respond, NOT_IN_CONFIG)
        return
    actions = body.get("actions") or [{}]
    page_id = str(actions[0].get("value", ""))
    bound = log.bind(page_id=page_id, by=person, action=verb)
    try:
        state = await _press(ctx, verb, page_id, person)
    except TocsinError as err:
        bound.info("slack button refused", reason=str(err))
        doing = "un-acknowledge" if verb == "unacknowledge" else verb
        await _ephemeral(respond, f"Could not {doing} page `{page_id}`: {err}")
        return
    except RPCError:
        await _ephemeral(respond, TEMPORAL_DOWN)
        return
    people = ctx.config.current().people
    actor = people[person].name if person in people else person
    original = list((body.get("message") or {}).get("blocks") or [])
    new_blocks = blocks.page_acted_blocks(original, state, verb, actor)
    text = f"{state.summary}: {blocks.page_state_text(state, verb, actor)}"
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if channel and ts:
        await client.chat_update(channel=str(channel), ts=str(ts), text=text, blocks=new_blocks)
    else:
        await respond(text=text, blocks=new_blocks, replace_original=True)
    bound.info("page updated from slack", status=state.status.value)


async def _press(ctx: SlackContext, verb: str, page_id: str, person: str) -> PageState:
    """What a page button does, as ``person`` (Snooze: for :data:`SNOOZE_BUTTON`)."""
    tocsin, acted = ctx.tocsin, ctx.acted(person)
    if verb == "snooze":
        return await tocsin.snooze(page_id, Snooze(duration=SNOOZE_BUTTON, **acted))
    act = {
        "acknowledge": tocsin.acknowledge,
        "escalate": tocsin.escalate,
        "unacknowledge": tocsin.unacknowledge,
    }[verb]
    return await act(page_id, PageActionInput(**acted))
