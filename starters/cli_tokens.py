"""``tocsin token create|list|revoke``: API tokens, managed on the server.

These commands talk to the database directly (``TOCSIN_DATABASE_URL``, else SQLite under
``TOCSIN_DATA_DIR``), not to the API: they are how the first tokens are made, and they
work while the API is down. Exit codes: 0 done; 1 the database failed; 2 bad input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from activities.credential_models import Scope
from activities.ports import Credentials
from starters.cli_common import (
    ConfigOpt,
    JsonOpt,
    config_file,
    emit,
    fail,
    run,
    settings_from,
    when,
)
from starters.cli_common import quiet_logs as _quiet_logs
from starters.credentials.issue import (
    IssuedToken,
    NewToken,
    TokenInfo,
    UnknownToken,
    check_new_token,
    issue,
    list_tokens,
    revoke,
)
from starters.credentials.tokens import Hasher
from starters.errors import InvalidRequest
from worker.settings import Settings

T = TypeVar("T")

# What the CLI records as the creator or revoker (it runs on the server, as its operator).
CLI = "cli"
# The option each field of a new token comes from, for messages.
FLAGS = {"name": "--name", "kind": "--kind", "person": "--person", "scopes": "--scope"}

token_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke. Run on the server: they use "
    "TOCSIN_DATABASE_URL directly.",
    no_args_is_help=True,
)


class TokenKind(StrEnum):
    person = "person"
    integration = "integration"
    admin = "admin"


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the token is for: laptop, alertmanager.")],
    person: Annotated[
        str | None, typer.Option(help="The person a person token acts as (a people id).")
    ] = None,
    kind: Annotated[TokenKind, typer.Option(help="Who holds it.")] = TokenKind.person,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(help="What an integration token may call (repeat for several)."),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token and print it, this once (Tocsin keeps only its hash).

    person tokens act only as --person; integration tokens may call only the intake
    endpoints of their --scope; admin tokens manage tokens and may act for anyone.
    """
    settings = settings_from(config=config)
    _quiet_logs(settings)
    source = config_file(settings)
    try:
        new = NewToken(name=name, kind=kind.value, person=person, scopes=scope or [])
        check_new_token(new, source.current(), str(settings.config))
    except ValidationError as err:
        problem = err.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "name"
        raise fail(f"{FLAGS.get(field, field)}: {problem['msg']}") from None
    except InvalidRequest as err:
        field, _, rest = str(err).partition(": ")
        raise fail(f"{FLAGS.get(field, field)}: {rest}") from None

    async def call(store: Credentials) -> IssuedToken:
        return await issue(
            store, new, source.current(), CLI, hasher=Hasher(), source=str(settings.config)
        )

    issued = _with_store(settings, call)
    if as_json:
        typer.echo(issued.model_dump_json(indent=2))
        return
    typer.echo(issued.token)
    typer.echo(
        f"token {issued.id} ({_holder(issued)}) created: shown only now, store it; "
        "send it as 'Authorization: Bearer <token>'",
        err=True,
    )


@token_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Every token, revoked ones too, newest first (never a token or its hash)."""
    settings = settings_from()
    _quiet_logs(settings)
    tokens = _with_store(settings, list_tokens)
    emit(tokens, as_json, lambda: _table(tokens))


@token_app.command("revoke")
def revoke_command(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (token list).")],
) -> None:
    """Revoke a token: the API refuses it from the next request on."""
    settings = settings_from()
    _quiet_logs(settings)

    async def call(store: Credentials) -> TokenInfo:
        return await revoke(store, token_id, CLI)

    try:
        info = _with_store(settings, call)
    except UnknownToken as err:
        raise fail(f"{err} (see tocsin token list)") from None
    typer.echo(f"revoked token {info.id} ({_holder(info)})")


def _with_store(settings: Settings, call: Callable[[Credentials], Awaitable[T]]) -> T:
    """``call`` with the credentials in the settings' database, closed afterwards."""
    from activities.adapters.sql_credentials import SqlCredentials  # noqa: PLC0415 - keeps other commands fast
    from activities.adapters.sql_store import normalise_url, open_store  # noqa: PLC0415
    from activities.errors import AdapterError  # noqa: PLC0415
    from worker.settings import database_url  # noqa: PLC0415

    url = database_url(settings)
    try:
        normalise_url(url)
    except ValueError as err:
        raise fail(f"TOCSIN_DATABASE_URL: {err}") from None

    async def main() -> T:
        store = await open_store(url)
        try:
            return await call(SqlCredentials(store))
        finally:
            await store.close()

    try:
        return run(main())
    except AdapterError as err:
        raise fail(str(err), 1) from None


def _holder(info: TokenInfo) -> str:
    """``'laptop', person alice`` or ``'am', integration: intake:alertmanager``."""
    if info.person is not None:
        return f"{info.name!r}, {info.kind} {info.person}"
    scopes = f": {', '.join(info.scopes)}" if info.scopes else ""
    return f"{info.name!r}, {info.kind}{scopes}"


def _table(tokens: list[TokenInfo]) -> str:
    rows = []
    for t in tokens:
        state = f"revoked {when(t.revoked_at)}" if t.revoked_at else "active"
        used = f"used {when(t.last_used_at)}" if t.last_used_at else "never used"
        rows.append(
            f"{t.id}  {t.kind:<11} {t.name:<20} {t.person or ','.join(t.scopes) or '-':<24} "
            f"{state:<28} {used}"
        )
    return "\n".join(rows) or "no tokens (create one with: tocsin token create)"
