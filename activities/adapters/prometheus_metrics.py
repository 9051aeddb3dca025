"""Tocsin's Prometheus metrics: every ``tocsin_*`` series, defined once, and the worker's
:class:`~activities.ports.Meter` that counts into them.

Labels are bounded by the config (teams, channels, sources, routes), never ids: a page,
an incident or a person is never a label. The shipped rules (``deploy/prometheus/``) and
the Grafana dashboard query exactly these names; ``tests/unit/test_monitoring_files.py``
holds them to it.

The series live in prometheus-client's process-wide registry, so ``tocsin dev`` (worker
and API in one process) shows all of them on both endpoints.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No ``*_created`` series beside each counter and histogram: Prometheus does not use them,
# and they would double what every scrape carries.
disable_created_metrics()  # type: ignore[no-untyped-call]  # the library leaves it unannotated

# Escalation lateness spans a healthy few hundred milliseconds to a surge's minute.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- worker --------------------------------------------------------------------------
NOTIFICATIONS = Counter(
    "tocsin_notifications",
    "Page notifications by channel (contact method kind) and outcome: sent, failed "
    "(retried), rejected (not retried: the next contact method is tried)",
    ["channel", "outcome"],
)
ESCALATION_LATENESS = Histogram(
    "tocsin_escalation_lateness_seconds",
    "How long after its due time a step's notification was sent: for the first step from "
    "the page's opening, for a later one from the acknowledgement timeout that moved it",
    ["step"],
    buckets=LATENESS_BUCKETS,
)
HANDOFFS = Counter(
    "tocsin_handoffs",
    "On-call handoff messages by outcome (sent, failed)",
    ["outcome"],
)
WORKER_POLLING = Gauge(
    "tocsin_worker_polling",
    "1 while this worker polls its task queue and the Temporal server answers it, else 0",
)
WATCHDOG_PINGS = Counter(
    "tocsin_watchdog_pings",
    "Requests to TOCSIN_WATCHDOG_URL by outcome (ok, failed, skipped: not polling)",
    ["outcome"],
)

# --- API and worker -----------------------------------------------------------------
TEMPORAL_UP = Gauge(
    "tocsin_temporal_up",
    "1 when the Temporal server answered this process's last health check, else 0",
)

# --- API -----------------------------------------------------------------------------
ALERTS = Counter(
    "tocsin_alerts",
    "Alert deliveries at the intake endpoints by source and outcome (accepted, refused)",
    ["source", "outcome"],
)
REQUEST_DURATION = Histogram(
    "tocsin_http_request_duration_seconds",
    "HTTP requests by route template, method and status code",
    ["route", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
PAGES_OPEN = Gauge(
    "tocsin_pages_open",
    "Pages not yet resolved, from the page log, by team, status and urgency",
    ["team", "status", "urgency"],
)
INCIDENTS_OPEN = Gauge(
    "tocsin_incidents_open",
    "Incidents not yet resolved, from the incident log, by status and severity",
    ["status", "severity"],
)
FOLLOWUPS_OPEN = Gauge(
    "tocsin_followups_open",
    "Open follow-ups of incidents, from the incident log, by team",
    ["team"],
)


class PrometheusMeter:
    """The worker's meter: counts into the series above."""

    def notification(self, channel: str, outcome: str) -> None:
        NOTIFICATIONS.labels(channel=channel, outcome=outcome).inc()

    def escalation_lateness(self, step: int, seconds: float) -> None:
        ESCALATION_LATENESS.labels(step="first" if step <= 1 else "later").observe(
            max(seconds, 0.0)
        )

    def handoff(self, outcome: str) -> None:
        HANDOFFS.labels(outcome=outcome).inc()
