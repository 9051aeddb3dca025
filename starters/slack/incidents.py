"""``/incident`` and the incident card's buttons.

Every listener acknowledges Slack first (STYLE rule 7), then acts as the Tocsin person the
Slack user maps to; a Slack user not in the config gets :data:`NOT_IN_CONFIG` and nothing
happens.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, cast

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activities.adapters.slack_blocks import incident_commands as blocks
from starters.checks import check_declaration
from starters.errors import IncidentNotFound, InvalidRequest, Rejected, TocsinError
from starters.slack.context import NOT_IN_CONFIG, SlackContext
from starters.slack.incident_subcommands import (
    DEFAULT_SUMMARY,
    IN_CHANNEL,
    ROLLBACK_CHOICES,
    RollbackChoice,
    mentioned_user,
)
from starters.slack.text import typed
from workflows.incident_models import (
    DeclareRequest,
    IncidentState,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
)

__all__ = ["incident_for_channel", "mentioned_user", "register"]

COMMAND = "/incident"

HELP = ("help", "?")

NOT_IN_CHANNEL = (
    "`/incident {sub}` must be used in the incident's channel (a channel named like `#inc-42-…`)."
)

_CHANNEL = re.compile(r"^#?inc-(\d+)(?:-|$)", re.IGNORECASE)


def incident_for_channel(channel_name: str | None) -> str | None:
    """``INC-42`` for an incident channel named ``inc-42-…`` (or ``inc-42``), else None."""
    if not channel_name:
        return None
    match = _CHANNEL.match(channel_name)
    return f"INC-{int(match.group(1))}" if match else None


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Attach ``/incident``, the declare modal's submission and the card's buttons."""

    @app.command(COMMAND)
    async def incident_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await on_command(ctx, ack, command, respond, client)

    @app.view(blocks.DECLARE_CALLBACK)
    async def incident_declare(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await on_declare_submission(ctx, ack, body, view, client)

    @app.action(blocks.TAKE_LEAD)
    async def incident_take_lead(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await on_button(ctx, ack, body, respond)

    @app.action(blocks.ROLLBACK)
    async def incident_rollback(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await on_button(ctx, ack, body, respond)

    @app.action(blocks.ROLLBACK_OUTCOME)
    async def incident_rollback_outcome(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await on_button(ctx, ack, body, respond)

    @app.action(blocks.RESOLVE)
    async def incident_resolve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await on_button(ctx, ack, body, respond)


async def on_command(
    ctx: SlackContext,
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """``/incident [subcommand] …``: quick answers in the ack, Tocsin's answers via respond."""
    text = str(command.get("text") or "").strip()
    sub = text.partition(" ")[0].lower()
    incident_id = incident_for_channel(command.get("channel_name"))
    person = ctx.person_for(str(command.get("user_id") or ""))
    answer = _answer_now(text, sub, incident_id, person)
    if answer is not None:
        await ack(text=answer)
    elif person is None:  # _answer_now has answered NOT_IN_CONFIG; keeps mypy informed
        await ack(text=NOT_IN_CONFIG)
    elif not text:
        config = ctx.config.current()
        await ack()
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=blocks.declare_modal(
                [s.name for s in config.severities],
                list(config.services),
                config.incidents.default_severity,
            ),
        )
    elif incident_id is None:
        await ack()
        await _declare_title(ctx, text, person, command, respond)
    else:
        await _in_channel(ctx, ack, respond, incident_id, text, person)


def _answer_now(text: str, sub: str, incident_id: str | None, person: str | None) -> str | None:
    """What ``/incident`` answers without asking Tocsin anything, if that is all it does."""
    if sub in HELP:
        return blocks.usage()
    if sub in IN_CHANNEL and incident_id is None:
        return NOT_IN_CHANNEL.format(sub=sub)
    if text and sub not in IN_CHANNEL and incident_id is not None:
        # In an incident channel, free text is a mistyped subcommand, not a new incident.
        return f"Unknown subcommand `{sub}`.\n{blocks.usage()}"
    if person is None:
        return NOT_IN_CONFIG
    return None


async def _in_channel(
    ctx: SlackContext,
    ack: AsyncAck,
    respond: AsyncRespond,
    incident_id: str,
    text: str,
    person: str,
) -> None:
    """lead, messenger, update, severity, resolve, followup, comms in the incident's channel."""
    sub, _, rest = text.partition(" ")
    sub = sub.lower()
    rest = rest.strip()
    try:
        send = IN_CHANNEL[sub](ctx, sub, rest, person)
    except ValueError as err:  # pydantic's ValidationError is a ValueError too
        await ack(text=_invalid(err))
        return
    await ack()
    try:
        state = await send(incident_id)
    except TocsinError as err:
        await respond(response_type="ephemeral", text=f"{incident_id}: {err}")
        return
    await respond(
        response_type="ephemeral",
        text=f"Done: `/incident {sub}` on {state.id}.",
        blocks=blocks.card(state),
    )


async def _declare_title(
    ctx: SlackContext, title: str, person: str, command: dict[str, Any], respond: AsyncRespond
) -> None:
    try:
        request = DeclareRequest(title=typed(title, ctx.person_for), **ctx.acted(person))
        state, _ = await ctx.tocsin.declare_incident(request, _key(command.get("trigger_id")))
    except (TocsinError, ValidationError) as err:
        await respond(response_type="ephemeral", text=f"Not declared: {_invalid(err)}")
        return
    await respond(response_type="in_channel", text=_declared(state), blocks=blocks.card(state))


async def on_declare_submission(
    ctx: SlackContext,
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
) -> None:
    """The declare modal was submitted: check it against the config, then declare."""
    user = str(body.get("user", {}).get("id") or "")
    person = ctx.person_for(user)
    if person is None:
        await ack(response_action="errors", errors={blocks.TITLE: NOT_IN_CONFIG})
        return
    values: dict[str, dict[str, Any]] = view.get("state", {}).get("values", {})

    def field(block: str) -> dict[str, Any]:
        return cast(dict[str, Any], values.get(block, {}).get(block) or {})

    title = str(field(blocks.TITLE).get("value") or "").strip()
    description = str(field(blocks.DESCRIPTION).get("value") or "").strip() or None
    severity = (field(blocks.SEVERITY).get("selected_option") or {}).get("value")
    service = (field(blocks.SERVICE).get("selected_option") or {}).get("value")
    flags = {o.get("value") for o in field(blocks.FLAGS).get("selected_options") or []}
    if not title:
        await ack(response_action="errors", errors={blocks.TITLE: "A title is required."})
        return
    try:
        request = DeclareRequest(
            title=title,
            description=description,
            severity=severity,
            service=service,
            customer_impact=blocks.CUSTOMER_IMPACT in flags,
            security=blocks.SECURITY in flags,
            **ctx.acted(person),
        )
    except ValidationError as err:
        location = str(err.errors()[0]["loc"][0]) if err.errors() else blocks.TITLE
        block = location if location in (blocks.TITLE, blocks.DESCRIPTION) else blocks.TITLE
        await ack(response_action="errors", errors={block: _invalid(err)})
        return
    try:
        check_declaration(ctx.config.current(), request)
    except InvalidRequest as err:
        block = blocks.SERVICE if "service" in str(err) else blocks.SEVERITY
        await ack(response_action="errors", errors={block: str(err)})
        return
    await ack()
    try:
        state, _ = await ctx.tocsin.declare_incident(request, _key(view.get("id")))
    except TocsinError as err:
        await client.chat_postMessage(channel=user, text=f"Not declared: {err}")
        return
    await client.chat_postMessage(channel=user, text=_declared(state), blocks=blocks.card(state))


async def on_button(
    ctx: SlackContext, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """Take lead / Roll back / Revert / Not now / the rollback's outcome / Resolve on an
    incident card."""
    await ack()
    person = ctx.person_for(str(body.get("user", {}).get("id") or ""))
    if person is None:
        await _explain(respond, NOT_IN_CONFIG)
        return
    action: dict[str, Any] = (body.get("actions") or [{}])[0]
    action_id = str(action.get("action_id") or "")
    incident_id, _, choice = str(action.get("value") or "").partition(":")
    choice, _, confirmed = choice.partition(":")
    try:
        if action_id == blocks.TAKE_LEAD:
            role = RoleInput(person=person, **ctx.acted(person))
            state = await ctx.tocsin.assign_lead(incident_id, role)
        elif action_id == blocks.ROLLBACK:
            if choice not in ROLLBACK_CHOICES:
                await _explain(respond, f"Unknown rollback choice {choice!r}.")
                return
            confirm = confirmed == blocks.CONFIRMED
            if choice != "not_now" and not confirm:
                current = await ctx.tocsin.get_incident(incident_id)
                if current.rollback.succeeded_at is not None:
                    # Asked first: the confirmation's button sends the decision confirmed.
                    again = blocks.rollback_confirmation(current, choice)
                    await _explain(respond, f"{incident_id}: roll back again?", again)
                    return
            decision = RollbackDecision(
                choice=cast(RollbackChoice, choice), confirm=confirm, **ctx.acted(person)
            )
            state = await ctx.tocsin.decide_rollback(incident_id, decision)
        elif action_id == blocks.ROLLBACK_OUTCOME:
            outcome = RollbackOutcome(resolved=choice == "yes", **ctx.acted(person))
            state = await ctx.tocsin.report_rollback_outcome(incident_id, outcome)
        elif action_id == blocks.RESOLVE:
            resolve = ResolveInput(resolution="fixed", summary=DEFAULT_SUMMARY, **ctx.acted(person))
            state = await ctx.tocsin.resolve_incident(incident_id, resolve)
        else:
            await _explain(respond, f"Unknown incident button {action_id!r}.")
            return
    except (Rejected, InvalidRequest, IncidentNotFound, ValidationError) as err:
        await _explain(respond, f"{incident_id or 'Incident'}: {_invalid(err)}")
        return
    await respond(replace_original=True, text=blocks.headline(state), blocks=blocks.card(state))


async def _explain(
    respond: AsyncRespond, text: str, shown: list[dict[str, Any]] | None = None
) -> None:
    if shown is None:
        await respond(response_type="ephemeral", replace_original=False, text=text)
    else:
        await respond(response_type="ephemeral", replace_original=False, text=text, blocks=shown)


def _declared(state: IncidentState) -> str:
    channel = state.channel or "its channel is being created"
    if state.channel and not state.channel.startswith("#"):
        channel = f"<#{state.channel}>"
    return f"Declared {state.id} ({state.severity}): {state.title} — {channel}"


def _key(slack_id: object) -> str:
    """The declaration's idempotency key: Slack's id of the command or view (retries dedupe)."""
    return f"slack:{slack_id}" if slack_id else f"slack:{secrets.token_hex(16)}"


def _invalid(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
    return str(err)
