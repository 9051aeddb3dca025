"""The rotation side of the typed client API: who is on call, shifts, overrides, swaps, notes.

Answers come from each rotation's live plan (its RotationWorkflow: config versions,
overrides, swaps) computed with the pure rules; a rotation whose workflow cannot be
reached answers from the config's schedule. Refusals are :class:`~starters.errors.Rejected`
(the workflow said no, or is not running), bad input ``LookupError`` (unknown rotation or
person) and :class:`BadInput`, which :mod:`starters.api` turns into its errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from activities.adapters.temporal_views import TemporalRotations
from activities.ports import ConfigSource
from starters.clients.rotations import RotationWorkflowClient
from starters.clients.shifts import ShiftWorkflowClient
from starters.errors import Rejected
from starters.ical import person_calendar, rotation_calendar
from workflows.config import TocsinConfig
from workflows.models import OnCallEntry
from workflows.rotation_models import (
    NoteRequest,
    Override,
    OverrideRequest,
    RemoveRequest,
    RotationPlan,
    RotationStatus,
    ShiftSpan,
    ShiftState,
    Swap,
    SwapRequest,
)
from workflows.rotation_rules import all_spans, next_handoff_after, oncall_at, plan_from_config


class BadInput(ValueError):
    """What the caller asked for is malformed (a naive time, an empty range, unknown team)."""


# Calendars cover this much past and future unless asked otherwise.
CALENDAR_PAST = timedelta(days=30)
CALENDAR_FUTURE = timedelta(days=180)
MAX_RANGE = timedelta(days=400)


class RotationClient:
    """Rotations as seen from outside the workers."""

    def __init__(self, client: Client, config: ConfigSource, task_queue: str) -> None:
        self._config = config
        self._plans = TemporalRotations(client)
        self._rotations = RotationWorkflowClient(client, task_queue)
        self._shifts = ShiftWorkflowClient(client)

    def _require(self, name: str) -> TocsinConfig:
        config = self._config.current()
        if name not in config.rotations:
            known = ", ".join(sorted(config.rotations)) or "none configured"
            raise LookupError(f"unknown rotation {name!r} (rotations: {known})")
        return config

    async def plan(self, name: str) -> RotationPlan:
        """The live plan, or the config's when the rotation's workflow does not answer."""
        config = self._require(name)
        live = await self._plans.plan(name)
        return live or plan_from_config(name, config.rotations[name])

    async def oncall(
        self, team: str | None = None, at: datetime | None = None
    ) -> list[OnCallEntry]:
        """Who holds each layer of each team's rotation at ``at`` (overrides applied).

        Raises:
            BadInput: unknown team, or a naive ``at``.
        """
        config = self._config.current()
        names = {spec.rotation for spec in config.teams.values() if spec.rotation}
        plans = {name: await self.plan(name) for name in sorted(names)}
        return oncall_entries(config, plans, team, at)

    async def shifts(self, name: str, start: datetime, end: datetime) -> list[ShiftSpan]:
        """Every layer's holders over ``[start, end)`` with overrides and swaps applied.

        Raises:
            LookupError: unknown rotation. ValueError: a bad range.
        """
        _check_range(start, end)
        return all_spans(await self.plan(name), start.astimezone(UTC), end.astimezone(UTC))

    async def calendar(self, name: str, start: datetime | None, end: datetime | None) -> bytes:
        config = self._require(name)
        first, last = _calendar_range(start, end)
        team = next((t for t, spec in config.teams.items() if spec.rotation == name), None)
        return rotation_calendar(await self.plan(name), first, last, config.people, team)

    async def person_calendar(
        self, person: str, start: datetime | None, end: datetime | None
    ) -> bytes:
        config = self._config.current()
        if person not in config.people:
            raise LookupError(f"unknown person {person!r}")
        first, last = _calendar_range(start, end)
        plans = [await self.plan(name) for name in sorted(config.rotations)]
        return person_calendar(person, plans, first, last, config.people)

    async def override(self, name: str, request: OverrideRequest) -> Override:
        self._require(name)
        return await self._rotations.add_override(name, request)

    async def swap(self, name: str, request: SwapRequest) -> Swap:
        self._require(name)
        return await self._rotations.add_swap(name, request)

    async def remove(self, name: str, request: RemoveRequest) -> RotationPlan:
        self._require(name)
        return await self._rotations.remove(name, request)

    async def status(self, name: str) -> RotationStatus:
        self._require(name)
        return await self._rotations.get_state(name)

    async def note(self, name: str, request: NoteRequest) -> ShiftState:
        """A handoff note on the rotation's current shift."""
        status = await self.status(name)
        if status.current_shift is None:
            raise Rejected(f"rotation {name} has no shift running yet")
        return await self._shifts.add_note(status.current_shift, request)


def oncall_entries(
    config: TocsinConfig,
    plans: Mapping[str, RotationPlan] | None = None,
    team: str | None = None,
    at: datetime | None = None,
) -> list[OnCallEntry]:
    """Each team's rotation layers at ``at`` (default: now), from ``plans`` where given
    (live: overrides and swaps), else from the config's schedule.

    Raises:
        BadInput: unknown team, or a naive ``at``.
    """
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        raise BadInput("'at' needs a time zone, e.g. 2026-11-23T10:00:00-06:00")
    if team is not None and team not in config.teams:
        raise BadInput(f"unknown team {team!r} (teams: {', '.join(sorted(config.teams))})")
    entries: list[OnCallEntry] = []
    for team_id, spec in config.teams.items():
        if (team is not None and team_id != team) or spec.rotation is None:
            continue
        plan = (plans or {}).get(spec.rotation) or plan_from_config(
            spec.rotation, config.rotations[spec.rotation]
        )
        for layer, span in oncall_at(plan, when).items():
            person = span.person if span else None
            entries.append(
                OnCallEntry(
                    team=team_id,
                    rotation=spec.rotation,
                    layer=layer,
                    person=person,
                    name=config.people[person].name if person in config.people else None,
                    start=span.start if span else None,
                    end=span.end if span else next_handoff_after(plan, when),
                )
            )
    return entries


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise BadInput("'from' and 'to' need a time zone, e.g. 2026-11-23T10:00:00-06:00")
    if end <= start:
        raise BadInput("'to' must be after 'from'")
    if end - start > MAX_RANGE:
        raise BadInput(f"at most {MAX_RANGE.days} days at once")


def _calendar_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    first = start or now - CALENDAR_PAST
    last = end or now + CALENDAR_FUTURE
    if first.tzinfo is None or last.tzinfo is None or last <= first:
        raise BadInput("a calendar range needs aware times, 'to' after 'from'")
    if last - first > MAX_RANGE:
        raise BadInput(f"a calendar covers at most {MAX_RANGE.days} days at once")
    return first, last


__all__: Sequence[str] = ("BadInput", "RotationClient", "oncall_entries")
