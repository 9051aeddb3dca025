"""``tocsin silence add|list|end``: ad-hoc silences, set on the server.

They use the database in ``TOCSIN_DATABASE_URL`` directly (``end`` also reaches Temporal,
to tell the pages the silence held). The setter is the ``--as`` person (or
``TOCSIN_USER``), recorded as set with the server CLI. Exit codes: 0 done; 1 the database
or Temporal failed, or the silence is over already; 2 bad input, naming the option.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from activities.adapters.sql_silences import SqlSilences
from activities.adapters.sql_store import SqlStore
from starters.cli_common import (
    CLI_VIA,
    AsOpt,
    JsonOpt,
    actor,
    config_file,
    connect_client,
    emit,
    fail,
    settings_from,
    when,
)
from starters.cli_log import read_store
from starters.errors import InvalidRequest, Rejected
from starters.silences import NewSilence, SilenceDesk, SilenceNotFound
from workflows.silence_models import Silence

T = TypeVar("T")

# The option each field of a new silence comes from, for messages.
FLAGS = {
    "services": "--service",
    "teams": "--team",
    "matchers": "--match",
    "reason": "--reason",
    "ends_at": "--until",
    "duration": "--for",
}

silence_app = typer.Typer(
    help="Silences: pages from alert sources for a service, team or labels notify nobody "
    "until the end. Run on the server: they use TOCSIN_DATABASE_URL directly.",
    no_args_is_help=True,
)


def _desk(call: Callable[[SilenceDesk], Awaitable[T]], *, temporal: bool = False) -> T:
    settings = settings_from()
    config = config_file(settings)

    async def main(store: SqlStore) -> T:
        client = await connect_client(settings) if temporal else None
        desk = SilenceDesk(SqlSilences(store), config, client)
        try:
            return await call(desk)
        except SilenceNotFound as err:
            raise fail(f"SILENCE_ID: {err}") from None
        except InvalidRequest as err:
            field, _, text = str(err).partition(": ")
            if field in FLAGS:
                raise fail(f"{FLAGS[field]}: {text}") from None
            raise fail(f"--for/--until: {err}") from None
        except Rejected as err:
            raise fail(str(err), 1) from None

    return read_store(settings, main)


def _text(silences: list[Silence]) -> str:
    if not silences:
        return "no silences"
    lines = []
    for s in silences:
        covers = ", ".join(
            [*(f"service {x}" for x in s.services), *(f"team {x}" for x in s.teams), *s.matchers]
        )
        state = (
            f"ended {when(s.ended_at)} by {s.ended_by}"
            if s.ended_at
            else f"until {when(s.ends_at)}"
        )
        lines.append(f"{s.id}  {covers}  {state}  by {s.created_by}: {s.reason}")
    return "\n".join(lines)


@silence_app.command("add")
def add(
    reason: Annotated[str, typer.Option(help="Why (shown on every page it holds).")],
    service: Annotated[list[str] | None, typer.Option(help="A service it covers (repeat).")] = None,
    team: Annotated[list[str] | None, typer.Option(help="A team it covers (repeat).")] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(help="A label matcher: name=value, name!=value, name=~regex, name!~regex."),
    ] = None,
    for_: Annotated[str | None, typer.Option("--for", help="How long: 2h, 1d.")] = None,
    until: Annotated[
        str | None, typer.Option(help="Until this ISO 8601 time with its offset.")
    ] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Silence pages from alert sources for a service, team or labels until an end."""
    person = actor(as_)
    if for_ is None and until is None:
        raise fail("--for/--until: a silence needs an end: give --for 2h or --until TIME")
    try:
        new = NewSilence.model_validate(
            {
                "services": service or [],
                "teams": team or [],
                "matchers": match or [],
                "reason": reason,
                **({"duration": for_} if for_ is not None else {}),
                **({"ends_at": until} if until is not None else {}),
            }
        )
    except ValidationError as err:
        problem = err.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        raise fail(f"{FLAGS.get(field, '--service/--team/--match')}: {message}") from None
    made = _desk(lambda d: d.add(new, person, CLI_VIA, datetime.now(UTC)))
    emit(made, as_json, lambda: f"silence {made.id} until {when(made.ends_at)}")


@silence_app.command("list")
def list_(
    all_: Annotated[
        bool, typer.Option("--all", help="Also those over in the last 30 days.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Silences in force or to come, newest first."""
    found = _desk(lambda d: d.list(datetime.now(UTC), everything=all_))
    emit(found, as_json, lambda: _text(found))


@silence_app.command("end")
def end(
    silence_id: Annotated[str, typer.Argument(help="The silence's id (tocsin silence list).")],
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """End a silence now: the pages it held page within seconds."""
    person = actor(as_)
    ended = _desk(lambda d: d.end(silence_id, person, datetime.now(UTC)), temporal=True)
    emit(ended, as_json, lambda: f"silence {ended.id} ended")
