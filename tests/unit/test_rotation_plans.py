"""A surge asks for the same rotation's plan once: callers share one query while it runs,
and its answer serves for a second."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any, cast

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.temporal_views import TemporalRotations
from workflows.config import Rotation
from workflows.rotation_models import RotationPlan, RotationVersion

SPEC = Rotation.model_validate(
    {
        "timezone": "UTC",
        "handoff": {"weekday": "monday", "time": "10:00"},
        "shift": "1w",
        "start": date(2020, 1, 6),
        "layers": {"primary": ["alice", "bob"]},
    }
)
SPEC_START = datetime(2020, 1, 6, 10, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rotations:
    """Temporal with one rotation workflow whose query takes a while; counts queries."""

    def __init__(self, fail: RPCError | None = None) -> None:
        self.queries = 0
        self.fail = fail

    def get_workflow_handle(self, workflow_id: str, **_: Any) -> Any:
        owner = self

        class Handle:
            async def query(self, *args: Any, **kwargs: Any) -> RotationPlan:
                owner.queries += 1
                await asyncio.sleep(0.05)
                if owner.fail is not None:
                    raise owner.fail
                return RotationPlan(
                    name="delivery",
                    versions=[RotationVersion(spec=SPEC, effective_from=SPEC_START)],
                )

        return Handle()


async def test_a_surge_asks_once() -> None:
    temporal = Rotations()
    rotations = TemporalRotations(cast(Client, temporal))

    plans = await asyncio.gather(*(rotations.plan("delivery") for _ in range(500)))

    assert temporal.queries == 1
    assert all(p is not None and p == plans[0] for p in plans)


async def test_fresh_for_a_second_then_asked_again() -> None:
    temporal = Rotations()
    clock = Clock()
    rotations = TemporalRotations(cast(Client, temporal), fresh=1.0, clock=clock)

    await rotations.plan("delivery")
    clock.now += 0.9
    await rotations.plan("delivery")
    assert temporal.queries == 1
    clock.now += 0.2
    await rotations.plan("delivery")

    assert temporal.queries == 2


async def test_no_workflow_is_none_and_remembered_briefly() -> None:
    """A rotation without a workflow (not started yet) answers None: the config applies."""
    temporal = Rotations(fail=RPCError("not found", RPCStatusCode.NOT_FOUND, b""))
    rotations = TemporalRotations(cast(Client, temporal))

    assert await rotations.plan("delivery") is None
    assert await rotations.plan("delivery") is None
    assert temporal.queries == 1


async def test_a_failure_reaches_every_waiting_caller() -> None:
    class Broken(Rotations):
        def get_workflow_handle(self, workflow_id: str, **_: Any) -> Any:
            owner = self

            class Handle:
                async def query(self, *args: Any, **kwargs: Any) -> RotationPlan:
                    owner.queries += 1
                    await asyncio.sleep(0.05)
                    raise RuntimeError("connection lost")

            return Handle()

    temporal = Broken()
    rotations = TemporalRotations(cast(Client, temporal))

    results = await asyncio.gather(
        *(rotations.plan("delivery") for _ in range(3)), return_exceptions=True
    )

    assert temporal.queries == 1
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await rotations.plan("delivery")  # not remembered: asked again
    assert temporal.queries == 2
