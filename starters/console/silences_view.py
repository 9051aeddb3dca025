"""*Silences*: the silences in force or to come (who set them, until when, why) with an
End button, a form to set one on a service or team, and the config's maintenance windows
(read-only: they change with the config).

Setting and ending go through the same :class:`~starters.silences.SilenceDesk` as the
API, as the signed-in person, so every refusal reads as the API's. An end time typed in
the form carries no offset: it is read in the config's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from temporalio.service import RPCError

from activities.adapters.sql_silences import silences_of
from activities.errors import AdapterError
from starters.console.actions import tocsin
from starters.console.auth import FormSession, SignedIn
from starters.console.render import at, done, page
from starters.console.schedules_view import parse_local
from starters.errors import InvalidRequest, Rejected
from starters.http.silences import NOT_CONFIGURED, UNAVAILABLE
from starters.silences import NewSilence, SilenceDesk, SilenceNotFound
from workflows.config import TocsinConfig
from workflows.durations import format_duration
from workflows.silence_match import window_end
from workflows.silence_models import Coverage, MaintenanceWindow, Silence

log = structlog.get_logger("tocsin.console")

BACK = "/silences"
NOT_SET = "Not silenced"
NOT_ENDED = "Not ended"
NOT_TOLD = (
    "Silence {id} is ended, but Temporal did not answer, so the pages it held were not "
    "told: they page when it would have ended."
)
KINDS = ("service", "team")


@dataclass(frozen=True)
class WindowRow:
    """A maintenance window as the page shows it; ``until``: the end of the occurrence in
    force now (None when it is not)."""

    name: str
    covers: str
    when: str
    reason: str
    until: datetime | None


def covers(coverage: Coverage) -> str:
    """``service web, team ops, alertname=~"Disk.*"``."""
    return ", ".join(
        [
            *(f"service {s}" for s in coverage.services),
            *(f"team {t}" for t in coverage.teams),
            *coverage.matchers,
        ]
    )


def when_text(window: MaintenanceWindow, zone: str) -> str:
    """``2026-12-05 22:00 to 2026-12-06 02:00 (Europe/Berlin)``, or ``every saturday
    22:00 to 02:00 the next day (America/Chicago)``."""
    shown = window.timezone or zone
    if window.days is None:
        return f"{_written(window.start)} to {_written(window.end)} ({shown})"
    start, end = window.start, window.end
    overnight = isinstance(start, time) and isinstance(end, time) and end <= start
    next_day = " the next day" if overnight else ""
    return (
        f"every {', '.join(window.days)} {_written(window.start)} to "
        f"{_written(window.end)}{next_day} ({shown})"
    )


def _written(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return f"{value:%H:%M}"


def windows(config: TocsinConfig, now: datetime) -> list[WindowRow]:
    """The config's maintenance windows by name, each with its end when in force now."""
    zone = ZoneInfo(config.timezone)
    return [
        WindowRow(
            name=name,
            covers=covers(window),
            when=when_text(window, config.timezone),
            reason=window.reason,
            until=window_end(window, zone, now),
        )
        for name, window in sorted(config.maintenance.items())
    ]


def refusal(err: ValidationError) -> str:
    """The first complaint of a new silence's model, as the API's 422 says it."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def new_silence(
    target: str, duration: str, ends_at: str, reason: str, zone: ZoneInfo
) -> NewSilence:
    """The silence the form asks for (``target``: ``service:<id>`` or ``team:<id>``).

    Raises:
        ValueError: an end time that is not one, naming ``ends_at``; pydantic's
            ``ValidationError`` (a ``ValueError``) for what the API's model refuses.
    """
    kind, _, name = target.partition(":")
    coverage = {f"{kind}s": [name]} if kind in KINDS and name else {}
    end = parse_local("ends_at", ends_at, zone)
    return NewSilence.model_validate(
        {
            **coverage,
            "reason": reason.strip(),
            **({"duration": duration.strip()} if duration.strip() else {}),
            **({"ends_at": end} if end is not None else {}),
        }
    )


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    def desk(request: Request) -> SilenceDesk | None:
        silences = silences_of(getattr(request.app.state, "store", None))
        if silences is None:
            return None
        client = tocsin(request)
        return SilenceDesk(silences, client.config, client.temporal)

    @routes.get("/silences")
    async def silences_page(
        request: Request,
        session: SignedIn,
        all_: Annotated[bool, Query(alias="all")] = False,
    ) -> Response:
        config = tocsin(request).config.current()
        now = datetime.now(UTC)
        found: list[Silence] = []
        error = None
        keeper = desk(request)
        if keeper is None:
            error = NOT_CONFIGURED
        else:
            try:
                found = await keeper.list(now, everything=all_)
            except AdapterError:
                error = UNAVAILABLE
        return page(
            request,
            "silences.html",
            session,
            silences=found,
            everything=all_,
            error=error,
            covers=covers,
            windows=windows(config, now),
            services=sorted(config.services),
            teams=sorted(config.teams),
            timezone=config.timezone,
            max_duration=format_duration(config.silences.max_duration),
        )

    @routes.post("/silences")
    async def add(
        request: Request,
        session: FormSession,
        target: Annotated[str, Form(max_length=200)] = "",
        duration: Annotated[str, Form(max_length=200)] = "",
        ends_at: Annotated[str, Form(max_length=200)] = "",
        reason: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        keeper = desk(request)
        if keeper is None:
            return done(BACK, f"{NOT_SET}: {NOT_CONFIGURED}", ok=False)
        zone = ZoneInfo(tocsin(request).config.current().timezone)
        try:
            new = new_silence(target, duration, ends_at, reason, zone)
        except ValidationError as err:
            return done(BACK, f"{NOT_SET}: {refusal(err)}", ok=False)
        except ValueError as err:
            return done(BACK, f"{NOT_SET}: {err}", ok=False)
        now = datetime.now(UTC)
        try:
            made = await keeper.add(new, session.person, session.via, now)
        except InvalidRequest as err:
            log.info("console action refused", back=BACK, reason=str(err))
            return done(BACK, f"{NOT_SET}: {err}", ok=False)
        except AdapterError:
            return done(BACK, f"{NOT_SET}: {UNAVAILABLE}", ok=False)
        return done(
            BACK,
            f"Silenced {covers(made)} until {at(made.ends_at)} "
            f"(silence {made.id}): pages that alerts open for it notify nobody until then",
        )

    @routes.post("/silences/{silence_id}/end")
    async def end(request: Request, silence_id: str, session: FormSession) -> Response:
        keeper = desk(request)
        if keeper is None:
            return done(BACK, f"{NOT_ENDED}: {NOT_CONFIGURED}", ok=False)
        try:
            ended = await keeper.end(silence_id[:32], session.person, datetime.now(UTC))
        except (SilenceNotFound, Rejected) as err:
            log.info("console action refused", back=BACK, reason=str(err))
            return done(BACK, f"{NOT_ENDED}: {err}", ok=False)
        except AdapterError:
            return done(BACK, f"{NOT_ENDED}: {UNAVAILABLE}", ok=False)
        except RPCError:
            return done(BACK, NOT_TOLD.format(id=silence_id[:32]), ok=False)
        return done(
            BACK,
            f"Silence {ended.id} ended ({covers(ended)}): the pages it held page now if "
            "their alerts still fire",
        )

    return routes
