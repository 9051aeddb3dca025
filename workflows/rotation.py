"""RotationWorkflow: the truth of who is on call for one rotation, for years.

One workflow per rotation (``rotation-<name>``), started by the worker for every
configured rotation and told of every config change. It owns the rotation's plan —
config versions (a change applies from the next handoff), overrides and swaps — answers
``get_plan``/``get_oncall``, sleeps on a durable timer until each handoff, starts that
shift's ShiftWorkflow, and continues as new at every handoff so its history stays small.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

from workflows.actors import Acted
from workflows.ids import shift_workflow_id
from workflows.rotation_models import (
    OncallQuery,
    Override,
    OverrideRequest,
    RemoveRequest,
    RotationConfig,
    RotationInput,
    RotationPlan,
    RotationStatus,
    ShiftInput,
    ShiftReport,
    ShiftSpan,
    Swap,
    SwapRequest,
    UsergroupUpdate,
)
from workflows.rotation_rules import (
    apply_config_change,
    check_override,
    check_swap,
    layer_gaps,
    next_handoff_after,
    oncall_at,
    plan_from_config,
    prune,
    shift_bounds,
)

with workflow.unsafe.imports_passed_through():
    from activities.rotation import RotationActivities

# How far back the plan keeps overrides, swaps and versions (reports, calendars, pay).
HISTORY = timedelta(days=400)
# How far ahead gaps are looked for.
GAP_HORIZON = timedelta(days=28)
MAX_CHANGES = 50
# Runs started before this moved the user group only at handoffs.
REGROUP_PATCH = "regroup-on-override"


@workflow.defn
class RotationWorkflow:
    """One rotation: its plan, its handoffs, its shifts."""

    @workflow.init
    def __init__(self, rotation: RotationInput) -> None:
        self._name = rotation.name
        self._config = rotation.config
        self._plan = rotation.plan or plan_from_config(rotation.name, rotation.config.spec)
        self._started_shift = rotation.started_shift
        self._changes = list(rotation.changes)
        self._retired = False
        self._replan = False
        # Who the team's user group holds (the shift moves it at each handoff; an override
        # or swap that changes who is on call now moves it at once).
        self._holders_shown = self._holders_at(workflow.now())
        self._regroup = False
        # Reports of ended shifts, to hand to the shift that follows each once it runs.
        self._handoffs: list[ShiftReport] = list(rotation.handoffs)

    @workflow.run
    async def run(self, rotation: RotationInput) -> RotationStatus:
        self._publish()
        while not self._retired:
            now = workflow.now()
            bounds = shift_bounds(self._plan, now)
            if bounds is not None and bounds[0] != self._started_shift:
                await self._start_shift(bounds[0], bounds[1])
            handoff = next_handoff_after(self._plan, now)
            self._replan = False
            await self._forward_handoffs()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: (
                        self._retired or self._replan or self._regroup or bool(self._deliverable())
                    ),
                    timeout=handoff - now,
                    timeout_summary=f"handoff {handoff:%Y-%m-%d %H:%M}Z",
                )
            if self._retired or workflow.now() < handoff:
                await self._forward_handoffs()
                if self._regroup:
                    await self._move_usergroup()
                continue
            bounds = shift_bounds(self._plan, workflow.now())
            if bounds is not None and bounds[0] != self._started_shift:
                await self._start_shift(bounds[0], bounds[1])
            # A handoff is a natural boundary: continue as new, carrying the plan.
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                RotationInput(
                    name=self._name,
                    config=self._config,
                    plan=prune(self._plan, workflow.now() - HISTORY),
                    started_shift=self._started_shift,
                    changes=self._changes[-MAX_CHANGES:],
                    handoffs=self._handoffs,
                )
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    async def _start_shift(self, start: datetime, end: datetime) -> None:
        """Start the ShiftWorkflow of ``[start, end)`` (independent of this run)."""
        settings = self._config.settings
        spec = self._config.spec
        holders = {
            layer: span.person if span else None
            for layer, span in oncall_at(self._plan, start).items()
        }
        previous = (
            None
            if self._started_shift is None
            else shift_workflow_id(self._name, self._started_shift)
        )
        shift = ShiftInput(
            rotation=self._name,
            team=settings.team,
            start=start,
            end=end,
            holders=holders,
            previous_shift=previous,
            people=settings.people,
            test_page_timeout_seconds=spec.test_page_timeout.total_seconds(),
            reminder_before_seconds=spec.handoff_reminder.total_seconds(),
            channel=settings.channel,
            usergroup=settings.usergroup,
            report_to=list(spec.report_to),
            timezone=spec.timezone,
            workday_start_hour=spec.workday_start_hour,
            workday_end_hour=spec.workday_end_hour,
            unreachable={
                p: why for p, why in settings.unreachable.items() if p in holders.values()
            },
        )
        await workflow.execute_activity_method(
            RotationActivities.start_shift,
            shift,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            summary=f"start shift {start:%Y-%m-%d %H:%M}Z",
        )
        self._started_shift = start
        self._holders_shown = sorted({p for p in holders.values() if p})
        self._publish()

    def _deliverable(self) -> list[ShiftReport]:
        """Reports whose next shift has been started (it starts where the report ends)."""
        started = self._started_shift
        return [r for r in self._handoffs if started is not None and r.end <= started]

    async def _forward_handoffs(self) -> None:
        for report in self._deliverable():
            self._handoffs.remove(report)
            incoming = workflow.get_external_workflow_handle(
                shift_workflow_id(self._name, report.end)
            )
            try:
                await incoming.signal("receive_handoff", report)
            except FailureError as err:  # the server could not signal it: the shift ended
                workflow.logger.info(
                    "rotation %s: shift at %s is gone (%s)", self._name, report.end, err
                )

    # -- messages -----------------------------------------------------------------------

    @workflow.signal
    def shift_ended(self, report: ShiftReport) -> None:
        """A shift ended: its report goes to the next shift (now, or once it is started)."""
        self._handoffs.append(report)

    @workflow.signal
    def config_changed(self, config: RotationConfig) -> None:
        """The configured rotation now: applied from the next handoff (never to the past)."""
        self._config = config
        changed = apply_config_change(self._plan, config.spec, workflow.now())
        if changed is not None:
            self._plan = changed
            latest = changed.versions[-1].effective_from
            when = f"from {latest:%Y-%m-%d %H:%M}Z" if latest else "from the start"
            self._change(f"Config change applies {when}")
            self._replan = True
        self._publish()

    @workflow.signal
    def retire(self) -> None:
        """The rotation left the config: stop after the running shift's workflow is started."""
        self._retired = True

    @workflow.update
    def add_override(self, request: OverrideRequest) -> Override:
        """Give part of a layer to someone (cover for a day; take the current shift)."""
        now = workflow.now()
        start, end = self._override_window(request)
        override = Override(
            id=f"ovr-{str(workflow.uuid4())[:8]}",
            layer=request.layer,
            person=request.person,
            start=start,
            end=end,
            by=request.by,
            created_at=now,
            reason=request.reason,
        )
        self._plan = self._plan.model_copy(update={"overrides": [*self._plan.overrides, override]})
        self._change(
            f"{request.actor}: {request.person} holds {request.layer} "
            f"{start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z ({override.id})"
        )
        self._note_holders_change()
        self._publish()
        return override

    @add_override.validator
    def _validate_override(self, request: OverrideRequest) -> None:
        self._require_person(request.by)
        self._require_members(request, request.person)
        start, end = self._override_window(request)
        check_override(
            self._plan, request.layer, request.person, start, end, workflow.now(), self._people()
        )

    def _override_window(self, request: OverrideRequest) -> tuple[datetime, datetime]:
        """``[start, end)`` in UTC (``end`` omitted: the end of the shift at ``start``)."""
        start = (request.start or workflow.now()).astimezone(UTC)
        if request.end is not None:
            return start, request.end.astimezone(UTC)
        bounds = shift_bounds(self._plan, start)
        return start, (bounds[1] if bounds else start)

    @workflow.update
    def add_swap(self, request: SwapRequest) -> Swap:
        """Exchange two future shifts of a layer between two people."""
        swap = Swap(
            id=f"swp-{str(workflow.uuid4())[:8]}",
            layer=request.layer,
            first_person=request.first_person,
            first_start=request.first_start.astimezone(UTC),
            second_person=request.second_person,
            second_start=request.second_start.astimezone(UTC),
            by=request.by,
            created_at=workflow.now(),
        )
        self._plan = self._plan.model_copy(update={"swaps": [*self._plan.swaps, swap]})
        self._change(
            f"{request.actor}: {request.first_person} and {request.second_person} swap "
            f"{request.layer} shifts {request.first_start:%Y-%m-%d}/{request.second_start:%Y-%m-%d} ({swap.id})"
        )
        self._note_holders_change()
        self._publish()
        return swap

    @add_swap.validator
    def _validate_swap(self, request: SwapRequest) -> None:
        self._require_person(request.by)
        self._require_members(request, request.first_person, request.second_person)
        check_swap(
            self._plan,
            request.layer,
            request.first_person,
            request.first_start,
            request.second_person,
            request.second_start,
            workflow.now(),
        )

    @workflow.update
    def remove(self, request: RemoveRequest) -> RotationPlan:
        """Remove an override or a swap."""
        self._plan = self._plan.model_copy(
            update={
                "overrides": [o for o in self._plan.overrides if o.id != request.id],
                "swaps": [s for s in self._plan.swaps if s.id != request.id],
            }
        )
        self._change(f"{request.actor}: removed {request.id}")
        self._note_holders_change()
        self._publish()
        return self._plan

    @remove.validator
    def _validate_remove(self, request: RemoveRequest) -> None:
        self._require_person(request.by)
        self._require_members(request)
        ids = {o.id for o in self._plan.overrides} | {s.id for s in self._plan.swaps}
        if request.id not in ids:
            raise ValueError(f"rotation {self._name} has no override or swap {request.id!r}")

    @workflow.query
    def get_plan(self) -> RotationPlan:
        """Versions, overrides and swaps: enough to answer any who-when question."""
        return self._plan

    @workflow.query
    def get_oncall(self, query: OncallQuery) -> list[ShiftSpan]:
        return [span for span in oncall_at(self._plan, query.at).values() if span is not None]

    @workflow.query
    def get_state(self) -> RotationStatus:
        now = workflow.now()
        return RotationStatus(
            name=self._name,
            plan=self._plan,
            settings=self._config.settings,
            current_shift=shift_workflow_id(self._name, self._started_shift)
            if self._started_shift
            else None,
            next_handoff=next_handoff_after(self._plan, now),
            oncall=self.get_oncall(OncallQuery(at=now)),
            gaps=layer_gaps(self._plan, now, now + GAP_HORIZON),
            changes=self._changes[-MAX_CHANGES:],
        )

    # -- helpers ------------------------------------------------------------------------

    def _holders_at(self, at: datetime) -> list[str]:
        return sorted({s.person for s in oncall_at(self._plan, at).values() if s and s.person})

    def _note_holders_change(self) -> None:
        """After an override, swap or removal: is the user group now out of date?"""
        if self._config.settings.usergroup and workflow.patched(REGROUP_PATCH):
            self._regroup = self._holders_at(workflow.now()) != self._holders_shown

    async def _move_usergroup(self) -> None:
        self._regroup = False
        usergroup = self._config.settings.usergroup
        holders = self._holders_at(workflow.now())
        if usergroup is None or not holders:
            return
        try:
            await workflow.execute_activity_method(
                RotationActivities.set_usergroup,
                UsergroupUpdate(usergroup=usergroup, people=holders),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(minutes=1), maximum_attempts=10
                ),
                summary=f"user group {usergroup}",
            )
        except ActivityError as err:
            workflow.logger.warning("rotation %s: user group not moved: %s", self._name, err)
            return
        self._holders_shown = holders
        self._change(f"user group {usergroup} now {', '.join(holders)}")

    def _people(self) -> list[str]:
        return self._config.settings.people

    def _require_person(self, person: str) -> None:
        people = self._people()
        if people and person not in people:
            raise ValueError(f"{person!r} is not a person in Tocsin's config")

    def _require_members(self, request: Acted, *involved: str) -> None:
        """Overrides and swaps involve only the rotation's members and are made by one of
        them, or by an admin (anyone, while the members are not known)."""
        members = self._config.settings.members
        outsiders = [p for p in involved if members and p not in members]
        if outsiders:
            raise ValueError(
                f"{', '.join(outsiders)} may not hold {self._name} shifts: not a member of "
                f"{self._config.settings.team or 'the rotation'} ({', '.join(members)})"
            )
        if members and not request.admin and request.by not in members:
            raise ValueError(
                f"{request.by} may not change {self._name}: only its members "
                f"({', '.join(members)}) or an admin may"
            )

    def _change(self, text: str) -> None:
        self._changes.append(f"{workflow.now():%Y-%m-%d %H:%M}Z {text}")
        workflow.logger.info("rotation %s: %s", self._name, text)

    def _publish(self) -> None:
        """The Web UI's current details: who is on call, the next handoff, warnings."""
        now = workflow.now()
        lines = [
            f"**{self._name}** · next handoff {next_handoff_after(self._plan, now):%Y-%m-%d %H:%M} UTC"
        ]
        for layer, span in oncall_at(self._plan, now).items():
            who = span.person if span and span.person else "_nobody_"
            lines.append(f"- {layer}: {who}")
        warnings = list(self._config.settings.warnings)
        warnings += [
            f"{g.layer}: nobody on call {g.start:%Y-%m-%d %H:%M} to {g.end:%Y-%m-%d %H:%M} UTC"
            for g in layer_gaps(self._plan, now, now + GAP_HORIZON)
        ]
        if warnings:
            lines.append("**Warnings:** " + "; ".join(warnings))
        workflow.set_current_details("\n".join(lines))
