"""Ad-hoc silences as every front door sets, lists and ends them (HTTP, CLI, Slack,
console): the request's rules checked against the config, the record kept in the store,
and the pages a silence held told at once when it is ended early.

Who set or ended a silence comes from the caller's credential, never from a body.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pydantic import AwareDatetime, Field, model_validator
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.ports import ConfigSource, Silences
from starters.errors import InvalidRequest, Rejected, TocsinError
from workflows.durations import Duration, format_duration
from workflows.silence_models import NOTHING_COVERED, Coverage, Silence, SilenceEnded

# ``?all=`` lists the silences that ended within this long, besides those in force.
RECENT = timedelta(days=30)
# PageWorkflow.recheck_silence by name (starters need not load the workflow module).
RECHECK_SILENCE = "recheck_silence"


class SilenceNotFound(TocsinError, LookupError):
    """No silence has that id."""


class NewSilence(Coverage):
    """A silence to set: what it covers, why, and its end (``ends_at``, or ``duration``
    from ``starts_at``, default now)."""

    reason: str = Field(min_length=1, max_length=500)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration: Duration | None = Field(default=None, description="e.g. 2h, 1d (instead of ends_at)")

    @model_validator(mode="after")
    def _shape(self) -> NewSilence:
        if self.covers_nothing():
            raise ValueError(f"a silence must {NOTHING_COVERED}")
        if self.ends_at is None and self.duration is None:
            raise ValueError("a silence needs an end: give ends_at or duration")
        if self.ends_at is not None and self.duration is not None:
            raise ValueError("give ends_at or duration, not both")
        return self


def _too_long(longest: timedelta, length: timedelta) -> str:
    return (
        f"a silence may last at most {format_duration(longest)} "
        f"(silences.max_duration); this one would last {format_duration(length)}"
    )


class SilenceDesk:
    """Sets, lists and ends silences.

    Raises (every method):
        activities.errors.AdapterError: the store failed (``Unavailable``: try again).
    """

    def __init__(self, silences: Silences, config: ConfigSource, temporal: Client | None) -> None:
        self._silences = silences
        self._config = config
        self._temporal = temporal

    async def add(self, new: NewSilence, by: str, via: str | None, now: datetime) -> Silence:
        """Set a silence from ``now`` (or its ``starts_at``).

        Raises:
            InvalidRequest: an unknown service or team; an end in the past, before the
                start, or further than ``silences.max_duration`` from it.
        """
        config = self._config.current()
        for service in new.services:
            if service not in config.services:
                raise InvalidRequest(f"services: unknown service {service!r}")
        for team in new.teams:
            if team not in config.teams:
                raise InvalidRequest(f"teams: unknown team {team!r}")
        starts = new.starts_at or now
        longest = config.silences.max_duration
        if new.duration is not None and new.duration > longest:
            raise InvalidRequest(_too_long(longest, new.duration))
        try:
            ends = (
                new.ends_at if new.ends_at is not None else starts + (new.duration or timedelta())
            )
        except OverflowError:  # a start in the year 9999
            raise InvalidRequest("starts_at: the end would be after the year 9999") from None
        if ends <= now:
            raise InvalidRequest(f"ends_at: {ends.isoformat()} is in the past")
        if ends <= starts:
            raise InvalidRequest("ends_at: the end must be after starts_at")
        if ends - starts > longest:
            raise InvalidRequest(_too_long(longest, ends - starts))
        silence = Silence(
            id=secrets.token_hex(4),
            services=new.services,
            teams=new.teams,
            matchers=new.matchers,
            starts_at=starts,
            ends_at=ends,
            reason=new.reason,
            created_by=by,
            created_via=via,
            created_at=now,
        )
        await self._silences.add_silence(silence)
        return silence

    async def list(self, now: datetime, *, everything: bool = False) -> list[Silence]:
        """Silences in force or still to come; ``everything``: those over within
        :data:`RECENT` too. Newest first."""
        return await self._silences.list_silences(now - RECENT if everything else now)

    async def end(self, silence_id: str, by: str, now: datetime) -> Silence:
        """End a silence now; the pages it held resolve their step again at once.

        Ending one that was ended by hand already answers as it was ended and tells its
        pages again: a retry after Temporal could not be told (503) still wakes them.

        Raises:
            SilenceNotFound: no such silence.
            Rejected: it ran out at its end (it holds nothing).
        """
        found = await self._silences.get_silence(silence_id)
        if found is None:
            raise SilenceNotFound(f"no silence {silence_id!r}")
        if found.ended_at is not None:
            await self._wake(silence_id)
            return found
        if found.ends_at <= now:
            raise Rejected(f"silence {silence_id} is over already (at {found.until().isoformat()})")
        ended = await self._silences.end_silence(silence_id, by, now) or found
        await self._wake(silence_id)
        return ended

    async def _wake(self, silence_id: str) -> None:
        if self._temporal is None:
            return
        told = SilenceEnded(silence_id=silence_id)
        for page_id in await self._silences.held_pages(silence_id):
            try:
                await self._temporal.get_workflow_handle(page_id).signal(RECHECK_SILENCE, told)
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:  # a page that ended needs nothing
                    raise
