"""``tocsin page``: create, list, show, acknowledge, escalate and resolve pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Literal

import typer

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
    settings_from,
)
from starters.cli_common import actor as _actor
from starters.cli_common import model as _model
from workflows.models import PageActionInput, PageListItem, PageState, PageStatus

page_app = typer.Typer(
    help="Pages: create, list, show, ack, escalate, resolve.", no_args_is_help=True
)

NoteOpt = Annotated[str | None, typer.Option("--note", help="Why, for the timeline.")]


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
    page, created = client_command(settings, lambda c: c.create_page(request))
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
    rows = [f"{i.id:<20} {i.status:<13} {i.team:<16} {i.summary}" for i in items]
    return "\n".join(rows) or "no pages"


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
    if page.acknowledged_by:
        lines.append(
            f"acked by  {page.acknowledged_by} at {page.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if page.resolved_by:
        lines.append(f"resolved  {page.resolved_by} at {page.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    if page.timeline:
        lines.append("timeline")
        lines += [f"  {e.at:%H:%M:%S}  {e.text}" for e in page.timeline]
    return "\n".join(lines)


PageCommand = Literal["ack", "escalate", "resolve"]
PageCall = Callable[[TocsinClient, str, PageActionInput], Awaitable[PageState]]
PAGE_ACTIONS: dict[PageCommand, tuple[str, PageCall]] = {
    "ack": ("Acknowledge a page: escalation stops.", TocsinClient.acknowledge),
    "escalate": ("Notify the next escalation step now.", TocsinClient.escalate),
    "resolve": ("Resolve a page.", TocsinClient.resolve),
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
        )

    command.__doc__ = doc
    return command


for _name in PAGE_ACTIONS:
    page_app.command(_name)(_page_action(_name))
