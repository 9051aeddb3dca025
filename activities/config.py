"""Activities that read the current configuration (the file may change while pages run)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from temporalio import activity

from activities.contacts import contact_label
from activities.errors import AdapterError
from activities.ports import ConfigSource, RotationSource, Silences
from workflows.config import Person, TocsinConfig, parse_target
from workflows.durations import format_duration
from workflows.models import Recipient, ResolveStepInput, ResolveStepResult
from workflows.policy import resolve_targets
from workflows.rotation_models import RotationPlan
from workflows.silence_match import Hold, find_hold, page_labels, silenceable
from workflows.working_hours import next_start


def contacts(person: Person, urgency: str) -> list[str]:
    """Low-urgency pages use the person's quieter methods when they listed some."""
    if urgency == "low" and person.low_urgency_contact:
        return person.low_urgency_contact
    return person.contact


def recipient(pid: str, person: Person, urgency: str) -> Recipient:
    """How to reach ``person``: their notification rules (high urgency, when they have
    some: each method at its time), else their contact methods, first that works."""
    if urgency == "high" and person.notify:
        return Recipient(
            person=pid,
            name=person.name,
            contacts=[contact_label(rule.via) for rule in person.notify],
            delays=[rule.after.total_seconds() for rule in person.notify],
        )
    methods = [contact_label(m) for m in contacts(person, urgency)]
    return Recipient(person=pid, name=person.name, contacts=methods)


def _working_start(config: TocsinConfig, team_id: str, at: datetime) -> datetime | None:
    """When the team's working hours (its own, else the config's) next begin, if ``at`` is
    outside them; None inside them, or when no working hours are configured. Read in the
    hours' time zone, else the team's rotation's, else the config's."""
    team = config.teams[team_id]
    hours = team.working_hours or config.working_hours
    if hours is None:
        return None
    rotation = config.rotations.get(team.rotation) if team.rotation else None
    zone = hours.timezone or (rotation.timezone if rotation else config.timezone)
    return next_start(hours, ZoneInfo(zone), at)


class ConfigActivities:
    """Answers questions about the configuration of the moment (and who is on call)."""

    def __init__(
        self,
        config: ConfigSource,
        rotations: RotationSource | None = None,
        silences: Silences | None = None,
    ) -> None:
        self._config = config
        self._rotations = rotations
        self._silences = silences

    async def _hold(self, config: TocsinConfig, request: ResolveStepInput) -> Hold | None:
        """The maintenance window or silence that holds the page now, if one does (only
        pages from alert sources). Silences that cannot be read hold nothing: the page
        pages rather than stay quiet on a database outage."""
        if request.source is None or not silenceable(request.source):
            return None
        found = []
        if self._silences is not None:
            try:
                found = await self._silences.active_silences(request.at)
            except AdapterError as err:
                activity.logger.warning("silences unavailable, paging anyway: %s", err)
        labels = page_labels(request.service, request.team, request.alert_labels)
        hold = find_hold(config.maintenance, ZoneInfo(config.timezone), found, labels, request.at)
        if hold is not None and hold.silence_id is not None and request.page_id is not None:
            assert self._silences is not None  # noqa: S101 - the silence came from there
            try:
                await self._silences.hold_page(hold.silence_id, request.page_id, request.at)
            except AdapterError as err:
                # The page still wakes at the silence's end; only an early end misses it.
                activity.logger.warning("could not record the page held: %s", err)
        return hold

    async def _plans(self, config: TocsinConfig, targets: list[str]) -> dict[str, RotationPlan]:
        """The live plans (overrides and swaps included) of the rotations ``targets`` name."""
        names = {
            t.id
            for t in map(parse_target, targets)
            if t.kind == "rotation" and t.id in config.rotations
        }
        plans: dict[str, RotationPlan] = {}
        if self._rotations is not None:
            for name in sorted(names):
                plan = await self._rotations.plan(name)
                if plan is not None:
                    plans[name] = plan
        return plans

    @activity.defn(name="resolve_step")
    async def resolve_step(self, request: ResolveStepInput) -> ResolveStepResult:
        """Who step ``step_index`` of the team's policy reaches at ``at``, and how long they have."""
        config = self._config.current()
        team = config.teams.get(request.team)
        if team is None:
            return ResolveStepResult(error=f"team {request.team!r} is not in the configuration")
        urgency: Literal["high", "low"] = request.urgency
        retrigger: float | None = None
        if request.steps is not None:
            name = "(given with the page)"
            steps = [(s.targets, timedelta(seconds=s.ack_timeout_seconds)) for s in request.steps]
            repeat = 0
        else:
            name = request.policy or team.escalation_policy
            policy = config.escalation_policies.get(name)
            if policy is None:
                return ResolveStepResult(
                    error=f"escalation policy {name!r} is not in the configuration"
                )
            steps = [(list(s.targets), s.ack_timeout) for s in policy.steps]
            repeat = policy.repeat
            if policy.urgency == "low":
                urgency = "low"
            if policy.acknowledgement_timeout is not None:
                retrigger = policy.acknowledgement_timeout.total_seconds()
        result = ResolveStepResult(
            policy=name,
            step_count=len(steps),
            repeat=repeat,
            team_members=list(team.members),
            channel=team.slack_channel,
            urgency=urgency,
            ack_retrigger_seconds=retrigger,
        )
        if urgency == "low":
            result.wait_until = _working_start(config, request.team, request.at)
        hold = await self._hold(config, request)
        if hold is not None:
            result.silenced_until, result.silenced_by = hold.until, hold.by
            result.silence = hold.text
        if request.step_index >= len(steps):
            return result
        targets, ack_timeout = steps[request.step_index]
        plans = await self._plans(config, targets)
        resolution = resolve_targets(config, targets, request.at, plans)
        activity.logger.info(
            "step %d of %s → %s (timeout %s)",
            request.step_index + 1,
            name,
            resolution.people,
            format_duration(ack_timeout),
        )
        result.ack_timeout_seconds = ack_timeout.total_seconds()
        result.targets = list(targets)
        result.unreachable_targets = resolution.empty
        result.recipients = [
            recipient(pid, config.people[pid], urgency) for pid in resolution.people
        ]
        return result
