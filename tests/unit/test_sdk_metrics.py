"""The Temporal SDK's buffered metrics as Prometheus series: names, labels, histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    BUFFERED_METRIC_KIND_HISTOGRAM,
    MetricBuffer,
)

from worker.sdk_metrics import SdkMetrics

QUEUE = {"service_name": "temporal-core-sdk", "namespace": "default", "task_queue": "tocsin"}


@dataclass(frozen=True)
class FakeMetric:
    name: str
    kind: int
    description: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class FakeUpdate:
    metric: FakeMetric
    value: float
    attributes: dict[str, Any]


class FakeBuffer:
    def __init__(self) -> None:
        self.pending: list[FakeUpdate] = []

    def retrieve_updates(self) -> list[FakeUpdate]:
        taken, self.pending = self.pending, []
        return taken


def scrape(collector: SdkMetrics) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    registry = CollectorRegistry()
    registry.register(collector)
    found: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return found


def test_counters_gauges_and_histograms() -> None:
    buffer = FakeBuffer()
    collector = SdkMetrics(cast(MetricBuffer, buffer))
    failed = FakeMetric("temporal_workflow_task_execution_failed", BUFFERED_METRIC_KIND_COUNTER)
    local = FakeMetric("temporal_local_activity_total", BUFFERED_METRIC_KIND_COUNTER)
    slots = FakeMetric("temporal_worker_task_slots_available", BUFFERED_METRIC_KIND_GAUGE)
    latency = FakeMetric(
        "temporal_workflow_task_schedule_to_start_latency", BUFFERED_METRIC_KIND_HISTOGRAM
    )
    eager = {**QUEUE, "eager": True}
    buffer.pending = [
        FakeUpdate(failed, 1, QUEUE),
        FakeUpdate(failed, 2, QUEUE),
        FakeUpdate(local, 1, eager),
        FakeUpdate(slots, 8, {**QUEUE, "worker_type": "WorkflowWorker"}),
        FakeUpdate(slots, 5, {**QUEUE, "worker_type": "WorkflowWorker"}),
        FakeUpdate(latency, 0.02, QUEUE),
        FakeUpdate(latency, 3.0, QUEUE),
        FakeUpdate(latency, 500.0, QUEUE),
    ]
    found = scrape(collector)
    queue = frozenset({("namespace", "default"), ("task_queue", "tocsin")})
    assert found["temporal_workflow_task_execution_failed_total"] == {queue: 3}
    assert found["temporal_local_activity_total"] == {queue | {("eager", "true")}: 1}
    assert found["temporal_worker_task_slots_available"] == {
        queue | {("worker_type", "WorkflowWorker")}: 5
    }
    buckets = found["temporal_workflow_task_schedule_to_start_latency_seconds_bucket"]
    assert buckets[queue | {("le", "0.025")}] == 1
    assert buckets[queue | {("le", "5.0")}] == 2
    assert buckets[queue | {("le", "60.0")}] == 2
    assert buckets[queue | {("le", "+Inf")}] == 3
    assert found["temporal_workflow_task_schedule_to_start_latency_seconds_count"] == {queue: 3}
    assert found["temporal_workflow_task_schedule_to_start_latency_seconds_sum"] == {
        queue: 503.02
    }


def test_counts_carry_over_scrapes() -> None:
    buffer = FakeBuffer()
    collector = SdkMetrics(cast(MetricBuffer, buffer))
    polls = FakeMetric("temporal_workflow_task_queue_poll_succeed", BUFFERED_METRIC_KIND_COUNTER)
    buffer.pending = [FakeUpdate(polls, 4, QUEUE)]
    scrape(collector)
    buffer.pending = [FakeUpdate(polls, 1, QUEUE)]
    found = scrape(collector)
    assert list(found["temporal_workflow_task_queue_poll_succeed_total"].values()) == [5]
