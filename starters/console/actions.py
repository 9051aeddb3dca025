"""Running a console form's action: the same client calls and messages as the API, then
back to the page the form was on with what happened or why it was refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from temporalio.service import RPCError

from starters.api import TocsinClient
from starters.console.render import done
from starters.console.signin import local_path
from starters.errors import TocsinError

log = structlog.get_logger("tocsin.console")

T = TypeVar("T")

TEMPORAL_DOWN = "Temporal did not answer: nothing changed, try again in a moment."


def tocsin(request: Request) -> TocsinClient:
    client: TocsinClient = request.app.state.tocsin
    return client


async def act(call: Awaitable[T], back: str, success: str, refused: str) -> Response:
    """Await ``call``; go ``back`` saying ``success``, or ``refused: <reason>``."""
    target = local_path(back)
    try:
        await call
    except TocsinError as err:
        log.info("console action refused", back=target, reason=str(err))
        return done(target, f"{refused}: {err}", ok=False)
    except RPCError:
        return done(target, TEMPORAL_DOWN, ok=False)
    return done(target, success)


async def send(make: Callable[[], Awaitable[T]], back: str, success: str, refused: str) -> Response:
    """:func:`act` on the call ``make`` builds: a request its model refuses (a duration
    too long, too many targets) is a refusal like any other, naming the field."""
    try:
        call = make()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        log.info("console action refused", back=back, reason=reason)
        return done(local_path(back), f"{refused}: {where}: {reason}", ok=False)
    return await act(call, back, success, refused)
