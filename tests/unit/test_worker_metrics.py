"""What the worker counts for /metrics: each notification by channel and outcome, how late
a sent one went out against its step's due time, and each handoff."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.adapters.prometheus_metrics import PrometheusMeter
from activities.errors import Rejected, Unavailable
from activities.notify import NotifyActivities
from activities.rotation import RotationActivities
from tests.fakes.notifier import RecordingNotifier
from tests.unit.test_notify import API, StaticConfig, notify_input
from workflows.rotation_models import ShiftInput


@dataclass
class CountingMeter:
    counted: list[tuple[str, str]] = field(default_factory=list)
    late: list[tuple[int, float]] = field(default_factory=list)

    def notification(self, channel: str, outcome: str) -> None:
        self.counted.append((channel, outcome))

    def escalation_lateness(self, step: int, seconds: float) -> None:
        self.late.append((step, seconds))

    def handoff(self, outcome: str) -> None:
        self.counted.append(("handoff", outcome))


async def test_sent_is_counted_with_its_lateness() -> None:
    meter = CountingMeter()
    notify = NotifyActivities(StaticConfig(), {"console": RecordingNotifier()}, API, meter=meter)
    due = datetime.now(UTC) - timedelta(seconds=42)
    await ActivityEnvironment().run(notify.notify, notify_input(step=2, due_at=due))
    assert meter.counted == [("console", "sent")]
    [(step, seconds)] = meter.late
    assert step == 2
    assert 42 <= seconds < 60


async def test_no_due_time_no_lateness() -> None:
    meter = CountingMeter()
    notify = NotifyActivities(StaticConfig(), {"console": RecordingNotifier()}, API, meter=meter)
    await ActivityEnvironment().run(notify.notify, notify_input())
    assert meter.counted == [("console", "sent")]
    assert meter.late == []


@pytest.mark.parametrize(
    ("error", "outcome"), [(Unavailable("terminal gone"), "failed"), (Rejected("no"), "rejected")]
)
async def test_failures_are_counted_by_whether_they_are_retried(
    error: Exception, outcome: str
) -> None:
    meter = CountingMeter()
    console = RecordingNotifier(failures={"console": error})
    notify = NotifyActivities(StaticConfig(), {"console": console}, API, meter=meter)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(notify.notify, notify_input(due_at=datetime.now(UTC)))
    assert meter.counted == [("console", outcome)]
    assert meter.late == []


async def test_a_method_gone_from_the_config_is_rejected() -> None:
    meter = CountingMeter()
    notify = NotifyActivities(StaticConfig(), {"console": RecordingNotifier()}, API, meter=meter)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(notify.notify, notify_input(method="pager"))
    assert meter.counted == [("unknown", "rejected")]


def test_prometheus_meter_buckets_first_and_later_steps() -> None:
    def count(step: str) -> float:
        value = REGISTRY.get_sample_value(
            "tocsin_escalation_lateness_seconds_count", {"step": step}
        )
        return value or 0.0

    def fast(step: str) -> float:
        value = REGISTRY.get_sample_value(
            "tocsin_escalation_lateness_seconds_bucket", {"step": step, "le": "0.1"}
        )
        return value or 0.0

    first, later, later_fast = count("first"), count("later"), fast("later")
    meter = PrometheusMeter()
    meter.escalation_lateness(1, 0.3)
    meter.escalation_lateness(3, 12.0)
    meter.escalation_lateness(2, -0.5)  # clocks apart: counted as on time, never negative
    assert count("first") == first + 1
    assert count("later") == later + 2
    assert fast("later") == later_fast + 1


class ShiftStarter:
    """Temporal's client as the shift start sees it: starts, or fails as ``error`` says."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def start_workflow(self, *args: object, **kwargs: object) -> None:
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize(
    ("error", "outcome"),
    [(None, "sent"), (RPCError("down", RPCStatusCode.UNAVAILABLE, b""), "failed")],
)
async def test_handoffs_are_counted(error: Exception | None, outcome: str) -> None:
    meter = CountingMeter()
    starter = cast(Client, ShiftStarter(error))
    rotations = RotationActivities(
        starter, StaticConfig(), cast(Any, None), cast(Any, None), None, meter=meter
    )
    shift = ShiftInput(
        rotation="delivery",
        team="delivery",
        start=datetime(2026, 11, 30, 10, tzinfo=UTC),
        end=datetime(2026, 12, 7, 10, tzinfo=UTC),
        holders={"primary": "alice"},
    )
    run = ActivityEnvironment().run(rotations.start_shift, shift)
    if error is None:
        await run
    else:
        with pytest.raises(RPCError):
            await run
    assert meter.counted == [("handoff", outcome)]
