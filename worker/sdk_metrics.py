"""The Temporal SDK's own metrics (task slots, schedule-to-start latency, sticky cache,
workflow task failures...) on Tocsin's ``/metrics``.

The SDK's runtime can serve Prometheus itself, but on a port of its own without any
authentication. Instead its metrics go into a buffer (:class:`temporalio.runtime.
MetricBuffer`) that this collector drains into prometheus-client's registry, so they are
served beside ``tocsin_*`` behind the same bearer token:

- counters as ``temporal_<name>_total`` (``temporal_local_activity_total`` stays as it is);
- gauges as ``temporal_<name>``;
- histograms (durations in seconds) as ``temporal_<name>_seconds``, in
  :data:`BUCKETS`.

Labels are the SDK's attributes (namespace, task queue, workflow and activity type...),
less ``service_name``, which is always the same.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import REGISTRY
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    BufferedMetricUpdate,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
)

BUFFER_SIZE = 100_000
# Drained this often besides at every scrape, so a surge never fills the buffer.
DRAIN_EVERY = 1.0
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DROPPED = frozenset({"service_name"})

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(BUCKETS, value)
        if index < len(BUCKETS):
            self.buckets[index] += 1
        self.total += value
        self.count += 1


class SdkMetrics(Collector):
    """Collects what the SDK reported into its buffer; registered once per process."""

    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self._lock = threading.Lock()
        self._labels: dict[int, Labels] = {}  # the SDK reuses attribute objects
        self._help: dict[str, str] = {}
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {}

    def drain(self) -> None:
        """Take every update out of the buffer into the totals."""
        with self._lock:
            for update in self._buffer.retrieve_updates():
                self._add(update)

    def _add(self, update: BufferedMetricUpdate) -> None:
        metric = update.metric
        labels = self._labels_of(update.attributes)
        self._help.setdefault(metric.name, metric.description or metric.name)
        if metric.kind == BUFFERED_METRIC_KIND_COUNTER:
            series = self._counters.setdefault(metric.name, {})
            series[labels] = series.get(labels, 0.0) + update.value
        elif metric.kind == BUFFERED_METRIC_KIND_GAUGE:
            self._gauges.setdefault(metric.name, {})[labels] = float(update.value)
        else:
            histograms = self._histograms.setdefault(metric.name, {})
            histograms.setdefault(labels, _Histogram()).observe(float(update.value))

    def _labels_of(self, attributes: Mapping[str, str | int | float | bool]) -> Labels:
        found = self._labels.get(id(attributes))
        if found is None:
            found = tuple(
                sorted(
                    (key, str(value).lower() if isinstance(value, bool) else str(value))
                    for key, value in attributes.items()
                    if key not in DROPPED
                )
            )
            self._labels[id(attributes)] = found
        return found

    def collect(self) -> Iterator[Metric]:
        self.drain()
        with self._lock:
            for name, counts in sorted(self._counters.items()):
                family = Metric(name.removesuffix("_total"), self._help[name], "counter")
                total = name if name.endswith("_total") else f"{name}_total"
                for labels, value in counts.items():
                    family.add_sample(total, dict(labels), value)
                yield family
            for name, values in sorted(self._gauges.items()):
                family = Metric(name, self._help[name], "gauge")
                for labels, value in values.items():
                    family.add_sample(name, dict(labels), value)
                yield family
            for name, histograms in sorted(self._histograms.items()):
                yield self._histogram(name, histograms)

    def _histogram(self, name: str, histograms: dict[Labels, _Histogram]) -> Metric:
        full = f"{name}_seconds"
        family = Metric(full, self._help[name], "histogram")
        for labels, histogram in histograms.items():
            running = 0
            for bound, count in zip(BUCKETS, histogram.buckets, strict=True):
                running += count
                family.add_sample(f"{full}_bucket", {**dict(labels), "le": str(bound)}, running)
            family.add_sample(
                f"{full}_bucket", {**dict(labels), "le": "+Inf"}, histogram.count
            )
            family.add_sample(f"{full}_sum", dict(labels), histogram.total)
            family.add_sample(f"{full}_count", dict(labels), histogram.count)
        return family


_installed: tuple[Runtime, SdkMetrics] | None = None


def metrics_runtime() -> tuple[Runtime, SdkMetrics]:
    """The runtime whose clients and workers report into Tocsin's registry (made and
    registered once per process)."""
    global _installed  # noqa: PLW0603  # one runtime per process, as the SDK expects
    if _installed is None:
        buffer = MetricBuffer(BUFFER_SIZE, duration_format=MetricBufferDurationFormat.SECONDS)
        runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
        collector = SdkMetrics(buffer)
        REGISTRY.register(collector)
        _installed = (runtime, collector)
    return _installed


async def keep_draining(stop: asyncio.Event) -> None:
    """Drain the buffer every :data:`DRAIN_EVERY` seconds until ``stop`` is set (nothing
    to do when this process's clients do not report metrics)."""
    if _installed is None:
        return
    collector = _installed[1]
    while not stop.is_set():
        collector.drain()
        try:
            await asyncio.wait_for(stop.wait(), DRAIN_EVERY)
        except TimeoutError:
            continue
