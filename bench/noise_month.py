"""A generated month of pages, and the alert-noise report on it.

Writes November 2026 of pages for the teams of ``tocsin.example.yaml`` (or ``--config``)
into a throwaway SQLite store, through the page log's own activity and adapter (each page
written as a page writes it: opened, each step, acknowledged, resolved, reopened), and a
few incidents through the incident log's activity and adapter (written at each status
change, as an incident writes them), then prints the report exactly as
``tocsin report alerts`` does. Deterministic (``--seed``).

The month: ``DiskSpaceLow`` pages ops day and night and mostly resolves by itself before
anyone looks; ``HighLatencyP99`` flaps; ``ErrorBudgetBurn`` is healthy (acked in minutes,
resolved by a person); the ``nightly-backup`` heartbeat goes overdue at night and is acked
slowly; some Events API and manual pages; a few pages fall in a maintenance window.
Six incidents, mostly led by whoever held the team's first layer then; a false alarm
closed before anyone took the lead counts for nobody.

    .venv/bin/python bench/noise_month.py [--seed 18] [--config tocsin.example.yaml] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_store import open_store
from activities.page_log import PageLogActivities
from activities.store import StoreActivities
from starters.alert_report import read_noise_report
from starters.noise_report import report_text
from worker.config import ConfigFile
from workflows.config import TocsinConfig
from workflows.incident_models import IncidentState, IncidentStatus, incident_record
from workflows.models import Alert, PageInput, PageState, TimelineEntry
from workflows.page_log import is_off_hours, page_log_entry
from workflows.page_rules import mark_acknowledged, mark_reopened, mark_resolved, opened_state
from workflows.rotation_rules import oncall_at, plan_from_config

EXAMPLE = Path(__file__).resolve().parents[1] / "tocsin.example.yaml"
START = datetime(2026, 11, 1, 6, tzinfo=UTC)  # 1 Nov 2026, 00:00 in Chicago
END = datetime(2026, 12, 1, 6, tzinfo=UTC)
FLAP_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Rule:
    """How one alert rule behaves over the month."""

    name: str
    source: str
    team: str
    service: str | None
    count: int
    # Share of its pages that resolve by themselves before anyone acknowledges them.
    auto_share: float
    # Minutes to acknowledge (low, high), when someone does.
    ack_minutes: tuple[float, float]
    flaps: tuple[int, int] = (0, 0)
    night_share: float = 0.3
    silenced_share: float = 0.0
    label: str = "alertname"


RULES = (
    Rule(
        "DiskSpaceLow",
        "alertmanager",
        "ops",
        "database",
        46,
        0.72,
        (4, 25),
        night_share=0.5,
        silenced_share=0.1,
    ),
    Rule("HighLatencyP99", "alertmanager", "delivery", "web", 14, 0.3, (3, 15), flaps=(3, 7)),
    Rule("ErrorBudgetBurn", "alertmanager", "delivery", "web", 9, 0.0, (1, 6)),
    Rule(
        "nightly-backup",
        "heartbeat",
        "ops",
        "database",
        7,
        0.0,
        (35, 110),
        night_share=1.0,
        label="heartbeat",
    ),
    Rule("Payment webhook failures", "events", "delivery", "gitserver", 5, 0.2, (2, 9)),
    Rule("Checkout is down", "api", "delivery", "web", 3, 0.0, (1, 4)),
)


@dataclass(frozen=True)
class Incident:
    """An incident of the month (``led``: somebody takes the lead)."""

    title: str
    team: str
    service: str
    severity: str
    led: bool = True


INCIDENTS = (
    Incident("Primary database failover", "ops", "database", "critical"),
    Incident("Replica lag over ten minutes", "ops", "database", "major"),
    Incident("Checkout errors after deploy", "delivery", "web", "critical"),
    Incident("p99 latency over the SLO", "delivery", "web", "major"),
    Incident("Payment webhooks dropped", "delivery", "gitserver", "major"),
    Incident("Error budget alarm on a test cluster", "delivery", "web", "minor", led=False),
)


def opening(rng: random.Random, rule: Rule, config: TocsinConfig) -> datetime:
    """A random instant of the month: outside the team's working hours ``night_share`` of
    the time, within them otherwise."""
    while True:
        at = START + timedelta(seconds=rng.uniform(0, (END - START).total_seconds()))
        if is_off_hours(config, rule.team, at) == (rng.random() < rule.night_share):
            return at.replace(microsecond=0)


def opened(rule: Rule, number: int, at: datetime) -> PageState:
    key = f"{rule.name.lower().replace(' ', '-')}-{number}"
    page = PageInput(
        key=key, team=rule.team, summary=rule.name, source=rule.source, service=rule.service
    )
    state = opened_state(page, f"page-{key}", at)
    if rule.source in ("alertmanager", "heartbeat"):
        labels = {rule.label: rule.name, "alertname": rule.name}
        state.alerts = [Alert(fingerprint=key, status="firing", summary=rule.name, labels=labels)]
    return state


class Writer:
    """Writes a page's row at each of its moves, as PageWorkflow does."""

    def __init__(self, activities: PageLogActivities) -> None:
        self._activities = activities
        self.writes = 0

    async def __call__(self, state: PageState, event: str, at: datetime) -> None:
        # The page's timeline grows with each move: its length orders the log's writes.
        state.timeline.append(TimelineEntry(at=at, kind=event, text=event))
        await self._activities.record_page(page_log_entry(state))
        self.writes += 1


async def flap(
    rng: random.Random, state: PageState, rule: Rule, now: datetime, write: Writer
) -> datetime:
    """Its alerts resolve, then fire again within the flap window."""
    now += timedelta(minutes=rng.uniform(2, 8))
    mark_resolved(state, rule.source, now)
    await write(state, "resolved", now)
    now += timedelta(minutes=rng.uniform(1, 20))
    mark_reopened(state, FLAP_WINDOW)
    await write(state, "reopened", now)
    return now


async def live(rng: random.Random, rule: Rule, state: PageState, write: Writer) -> None:
    """One page from opening to resolution, writing the log at each move."""
    now = state.created_at
    await write(state, "opened", now)
    state.step, state.step_count = 1, 2
    await write(state, "step", now)
    state.silenced = rng.random() < rule.silenced_share
    if rng.random() < rule.auto_share:
        for _ in range(rng.randint(*rule.flaps)):
            now = await flap(rng, state, rule, now, write)
        now += timedelta(minutes=rng.uniform(2, 9))
        mark_resolved(state, rule.source, now)
        await write(state, "resolved", now)
        return
    ack_after = timedelta(minutes=rng.uniform(*rule.ack_minutes))
    if ack_after > timedelta(minutes=10):  # the first step's ack timeout: step 2 paged
        state.step = 2
        await write(state, "step", now + timedelta(minutes=10))
    members = {"ops": ["erik", "fatima", "gus"], "delivery": ["alice", "bob", "carol"]}
    now += ack_after
    mark_acknowledged(state, rng.choice(members[rule.team]), now)
    await write(state, "acknowledged", now)
    for _ in range(rng.randint(*rule.flaps)):  # an acknowledged page flaps acknowledged
        now = await flap(rng, state, rule, now, write)
    resolver = rule.source if rng.random() < 0.3 else state.acknowledged_by or rule.source
    now += timedelta(minutes=rng.uniform(5, 90))
    mark_resolved(state, resolver, now)
    await write(state, "resolved", now)


def lead_of(rng: random.Random, incident: Incident, at: datetime, config: TocsinConfig) -> str:
    """Whoever held the team's first layer at ``at``, four times in five; else another
    member of the team."""
    team = config.teams[incident.team]
    if team.rotation is not None and rng.random() < 0.8:
        plan = plan_from_config(team.rotation, config.rotations[team.rotation])
        held = [s.person for s in oncall_at(plan, at).values() if s is not None and s.person]
        if held:
            return held[0]
    return rng.choice(team.members)


async def declare(
    rng: random.Random,
    number: int,
    incident: Incident,
    config: TocsinConfig,
    write: StoreActivities,
) -> None:
    """One incident from declaration to resolution, its log row written at each change."""
    at = START + timedelta(seconds=rng.uniform(0, (END - START).total_seconds()))
    at = at.replace(microsecond=0)
    state = IncidentState(
        id=f"INC-{number}",
        number=number,
        title=incident.title,
        severity=incident.severity,
        service=incident.service,
        team=incident.team,
        declared_by=rng.choice(config.teams[incident.team].members),
        declared_at=at,
    )
    await write.record_incident(incident_record(state))
    now = at
    if incident.led:
        now += timedelta(minutes=rng.uniform(1, 8))
        state.lead = lead_of(rng, incident, at, config)
        state.status, state.acknowledged_at = IncidentStatus.active, now
        await write.record_incident(incident_record(state))
    now += timedelta(minutes=rng.uniform(20, 180))
    state.status, state.resolved_at = IncidentStatus.resolved, now
    state.resolved_by = state.lead or state.declared_by
    state.resolution = "fixed" if incident.led else "false_positive"
    await write.record_incident(incident_record(state))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--config", type=Path, default=EXAMPLE)
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # As the CLI: only errors are logged (stdout is the report's).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    source = ConfigFile(args.config)
    config = source.current()
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite+aiosqlite:///{tmp}/tocsin.db")
        try:
            write = Writer(PageLogActivities(source, SqlPageLog(store)))
            for rule in RULES:
                for number in range(1, rule.count + 1):
                    state = opened(rule, number, opening(rng, rule, config))
                    await live(rng, rule, state, write)
            for number, incident in enumerate(INCIDENTS, start=1):
                await declare(rng, number, incident, config, StoreActivities(store))
            report = await read_noise_report(SqlPageLog(store), store, config, START, END, store)
        finally:
            await store.close()
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report_text(report, ZoneInfo(config.timezone)))
        print(f"\n({write.writes} page log writes, seed {args.seed})")


if __name__ == "__main__":
    asyncio.run(main())
