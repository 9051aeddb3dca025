"""``tocsin page``: create, list, show, acknowledge, escalate and resolve pages, and the
responder actions: un-acknowledge, snooze, reassign, add responders.

``create``, ``escalate``, ``unack`` and ``reassign`` answer with the page as it is once its
step was taken (who it reached, or why it waits), not as it was when asked; times are
shown in UTC, saying so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from temporalio.service import RPCError

from starters.api import TocsinClient
from starters.checks import NewPage
from starters.cli_common import (
    CLI_VIA,
    AsOpt,
    ConfigOpt,
    JsonOpt,
    as_cli,
    client_command,
    emit,
    fail,
    require_actor,
    settings_from,
    when,
)
from starters.cli_common import actor as _actor
from starters.cli_common import model as _model
from starters.errors import InvalidRequest, PageNotFound
from starters.page_responders import (
    Reassignment,
    Responders,
    Snooze,
    reassign_input,
    snooze_length,
    target_problem,
)
from workflows.config import TocsinConfig
from workflows.models import PageActionInput, PageListItem, PageState, PageStatus, TimelineEntry

page_app = typer.Typer(
    help="Pages: create, list, show, ack, escalate, resolve, unack, snooze, reassign, "
    "add-responders.",
    no_args_is_help=True,
)

NoteOpt = Annotated[str | None, typer.Option("--note", help="Why, for the timeline.")]

# How long `create` and `escalate` wait for the page to take its step before answering with
# the page as it then is (a worker that is down or busy), and how often they look.
STEP_WAIT = 10.0
STEP_POLL = 0.1
# Timeline entries that say a step was taken: whom it reached, or why it waits or stops.
STEP_KINDS = frozenset({"step", "deferred", "exhausted", "config-error"})


class Urgency(StrEnum):
    high = "high"
    low = "low"


@page_app.command("create")
def page_create(
    summary: Annotated[str, typer.Option(help="One line: what is wrong.")],
    team: Annotated[str | None, typer.Option(help="Team to page (its on-call).")] = None,
    person: Annotated[
        str | None,
        typer.Option(help="Page this person (id or e-mail) instead of a team's on-call."),
    ] = None,
    urgency: Annotated[
        Urgency, typer.Option(help="low: the team's low-urgency policy and quieter methods.")
    ] = Urgency.high,
    details: Annotated[str | None, typer.Option(help="More context, links.")] = None,
    dedup_key: Annotated[str | None, typer.Option(help="Same key, same open page.")] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Page a team's on-call (--team), or one person (--person)."""
    settings = settings_from(config=config)
    if team is None and person is None:
        raise fail("give --team or --person: whom to page")
    request = _model(
        lambda: NewPage(
            team=team,
            person=person,
            urgency=urgency.value,
            summary=summary,
            details=details,
            dedup_key=dedup_key,
            by=as_ or settings.user,
            via=CLI_VIA,
        )
    )
    by = request.by
    page, created = client_command(
        settings,
        lambda c: _create(c, request),
        check=lambda cfg: require_actor(cfg, by, as_),
    )
    emit(
        page,
        as_json,
        lambda: f"{'created' if created else 'already open'}: {page.id}\n{_page_text(page)}",
    )


@page_app.command("list")
def page_list(
    status: Annotated[PageStatus | None, typer.Option(help="Only pages in this status.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's pages.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List pages, newest first."""
    client_command(
        settings_from(config=config),
        lambda c: c.list_pages(status, team),
        _list_text,
        as_json=as_json,
    )


def _list_text(items: list[PageListItem]) -> str:
    if not items:
        return "no pages"
    rows = [f"{'ID':<20} {'STATUS':<13} {'TEAM':<16} {'CREATED':<20} SUMMARY"]
    rows += [
        f"{i.id:<20} {i.status:<13} {i.team:<16} {when(i.created_at):<20} {i.summary}"
        for i in items
    ]
    return "\n".join(rows)


@page_app.command("show")
def page_show(
    page_id: Annotated[str, typer.Argument(metavar="ID")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a page with its timeline."""
    client_command(
        settings_from(config=config), lambda c: c.get_page(page_id), _page_text, as_json=as_json
    )


def _page_text(page: PageState) -> str:
    lines = [
        f"page      {page.id}",
        f"status    {page.status.value}",
        f"team      {page.team}",
        f"summary   {page.summary}",
        f"step      {page.step}/{page.step_count}"
        + (" (exhausted)" if page.escalation_exhausted else ""),
    ]
    if page.next_escalation_at is not None and page.status == PageStatus.triggered:
        lines.append(f"next step {when(page.next_escalation_at, seconds=True)} unless acknowledged")
    if page.acknowledged_by:
        lines.append(
            f"acked by  {page.acknowledged_by} at {when(page.acknowledged_at, seconds=True)}"
        )
    if page.snoozed_until is not None and page.status == PageStatus.acknowledged:
        lines.append(f"again at  {when(page.snoozed_until, seconds=True)} unless resolved")
    if page.resolved_by:
        lines.append(f"resolved  {page.resolved_by} at {when(page.resolved_at, seconds=True)}")
    if page.timeline:
        lines.append("timeline")
        lines += [f"  {when(e.at, seconds=True)}  {e.text}" for e in page.timeline]
    return "\n".join(lines)


async def _create(client: TocsinClient, request: NewPage) -> tuple[PageState, bool]:
    """Open the page; a new one is answered once its first step was taken."""
    page, created = await client.create_page(request)
    if created:
        page = await _after_step(client, page, None)
    return page, created


async def _escalate(client: TocsinClient, page_id: str, action: PageActionInput) -> PageState:
    """Escalate now, answered once the next step was taken (or the page ended meanwhile)."""
    page = await client.escalate(page_id, action)
    return await _after_step(client, page, _last(page, "escalate"))


async def _unacknowledge(client: TocsinClient, page_id: str, action: PageActionInput) -> PageState:
    """Un-acknowledge, answered once step 1 was taken again."""
    page = await client.unacknowledge(page_id, action)
    return await _after_step(client, page, _last(page, "retriggered"))


async def _reassign(client: TocsinClient, page_id: str, request: Reassignment) -> PageState:
    """Reassign, answered once the new team's (or person's) first step was taken."""
    page = await client.reassign(page_id, request)
    return await _after_step(client, page, _last(page, "retriggered"))


def _last(page: PageState, kind: str) -> TimelineEntry | None:
    return next((e for e in reversed(page.timeline) if e.kind == kind), None)


def stepped(page: PageState, mark: TimelineEntry | None) -> bool:
    """Whether ``page`` has taken a step after its timeline entry ``mark`` (None: any step),
    or is no longer waiting for one (acknowledged, resolved)."""
    if page.status != PageStatus.triggered:
        return True
    entries = page.timeline
    if mark is not None:
        if mark not in entries:
            return True  # trimmed away: many entries came after it
        entries = entries[entries.index(mark) + 1 :]
    return any(e.kind in STEP_KINDS for e in entries)


async def _after_step(
    client: TocsinClient, page: PageState, mark: TimelineEntry | None
) -> PageState:
    """The page once it has taken its step after ``mark``; after :data:`STEP_WAIT` seconds
    without one, as it then is, with a note on stderr."""
    deadline = time.monotonic() + STEP_WAIT
    while not stepped(page, mark):
        left = deadline - time.monotonic()
        if left <= 0:
            typer.echo(
                f"note: page {page.id} had not taken its step within {STEP_WAIT:.0f}s "
                f"(is a worker running?): see `tocsin page show {page.id}`",
                err=True,
            )
            return page
        await asyncio.sleep(min(STEP_POLL, left))
        try:
            page = await asyncio.wait_for(client.get_page(page.id), max(left, STEP_POLL))
        except (RPCError, PageNotFound, TimeoutError):
            continue  # not answering yet (its first task has not run): look again
    return page


PageCommand = Literal["ack", "escalate", "resolve", "unack"]
PageCall = Callable[[TocsinClient, str, PageActionInput], Awaitable[PageState]]
PAGE_ACTIONS: dict[PageCommand, tuple[str, PageCall]] = {
    "ack": ("Acknowledge a page: escalation stops.", TocsinClient.acknowledge),
    "escalate": ("Notify the next escalation step now.", _escalate),
    "resolve": ("Resolve a page.", TocsinClient.resolve),
    "unack": (
        "Un-acknowledge a page: it is triggered again and escalates from step 1.",
        _unacknowledge,
    ),
}


def _page_action(name: PageCommand) -> Callable[..., None]:
    doc, act = PAGE_ACTIONS[name]

    def command(
        page_id: Annotated[str, typer.Argument(metavar="ID")],
        as_: AsOpt = None,
        note: NoteOpt = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        actor = _actor(as_)
        client_command(
            settings_from(config=config),
            lambda c: act(c, page_id, PageActionInput(note=note, **as_cli(actor))),
            _page_text,
            as_json=as_json,
            check=lambda cfg: require_actor(cfg, actor, as_),
            # A config being edited (a syntax error) must not keep anyone from acking: the
            # running stack keeps its last good config, and the page decides.
            config_may_fail=True,
        )

    command.__doc__ = doc
    return command


for _name in PAGE_ACTIONS:
    page_app.command(_name)(_page_action(_name))


@page_app.command("snooze")
def page_snooze(
    page_id: Annotated[str, typer.Argument(metavar="ID")],
    duration: Annotated[
        str,
        typer.Option(
            "--for",
            help="How long: 30m, 2h, 1d (or ISO 8601 PT30M); at most 1w.",
            show_default=False,
        ),
    ],
    as_: AsOpt = None,
    note: NoteOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Snooze an acknowledged page: it triggers again, from step 1, after --for."""
    try:
        snooze_length(duration)
    except ValueError as err:
        raise fail(f"--for: {err}") from None
    actor = _actor(as_)
    request = _model(lambda: Snooze(duration=duration, note=note, **as_cli(actor)))
    client_command(
        settings_from(config=config),
        lambda c: c.snooze(page_id, request),
        _page_text,
        as_json=as_json,
        check=lambda cfg: require_actor(cfg, actor, as_),
    )


@page_app.command("reassign")
def page_reassign(
    page_id: Annotated[str, typer.Argument(metavar="ID")],
    team: Annotated[
        str | None, typer.Option(help="To this team: its escalation policy from step 1.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(help="To this person (id or e-mail) alone: notified three times."),
    ] = None,
    as_: AsOpt = None,
    note: NoteOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reassign a page to another team or one person; it escalates from step 1 there."""
    if (team is None) == (person is None):
        raise fail("give --team or --person (one of them): whom to reassign the page to")
    actor = _actor(as_)
    request = _model(lambda: Reassignment(team=team, person=person, note=note, **as_cli(actor)))
    option = "--team" if team is not None else "--person"

    def check(cfg: TocsinConfig) -> None:
        require_actor(cfg, actor, as_)
        try:
            reassign_input(cfg, request)
        except InvalidRequest as err:
            raise InvalidRequest(f"{option}: {err}") from None

    client_command(
        settings_from(config=config),
        lambda c: _reassign(c, page_id, request),
        _page_text,
        as_json=as_json,
        check=check,
    )


@page_app.command("add-responders")
def page_add_responders(
    page_id: Annotated[str, typer.Argument(metavar="ID")],
    targets: Annotated[
        list[str],
        typer.Option(
            "--target",
            help="Whom to ask: person:ID, team:ID or rotation:ID/LAYER (repeat for more).",
            show_default=False,
        ),
    ],
    as_: AsOpt = None,
    note: NoteOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add responders: notified now, they may act on the page."""
    actor = _actor(as_)
    try:
        request = Responders(targets=targets, note=note, **as_cli(actor))
    except ValidationError as err:
        problem = err.errors()[0]
        option = "--target" if problem["loc"][0] == "targets" else "--note"
        raise fail(f"{option}: {problem['msg']}") from None

    def check(cfg: TocsinConfig) -> None:
        require_actor(cfg, actor, as_)
        for target in targets:
            problem = target_problem(cfg, target)
            if problem is not None:
                raise InvalidRequest(f"--target: {problem}")

    client_command(
        settings_from(config=config),
        lambda c: c.add_responders(page_id, request),
        _page_text,
        as_json=as_json,
        check=check,
    )
