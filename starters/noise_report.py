"""The alert-noise report: which alert rules waste people's time, and who carried the pages.

Pure: computed from the page log's rows (:class:`~workflows.page_log.PageLogEntry`), the
shifts' kept on-call reports and the rotations' plans, so the CLI, the API, the console
and ``bench/noise_month.py`` print the same thing.

Per rule, sorted by noise (see :data:`NOISE`), each rule that trips one of :data:`CHECKS`
is marked with what to do. Pages are attributed to a shift as the on-call reports'
recovery days are: to whoever acknowledged the page, else the first layer's holder (it
woke them); the shift is the kept report's when there is one, else the rotation's plan.
Incidents too, by the reports' rule: an incident of the team declared during the shift
counts for everyone who worked it (the kept report's ``worked_by``; outside kept shifts
the incident log names only its lead), and a page for an incident's role for whoever
answered it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from workflows.config import TocsinConfig
from workflows.durations import format_duration
from workflows.incident_models import IncidentRecord
from workflows.page_log import PageLogEntry
from workflows.rotation_models import RotationPlan, ShiftReport, ShiftSpan
from workflows.rotation_rules import oncall_at, plan_from_config

# The source of the test page a shift's handoff sends (workflows.shift).
HANDOFF_TEST = "handoff"

NOISE = (
    "noise = pages nobody acknowledged + flaps + unacknowledged off-hours pages again "
    "(silenced pages notified nobody and do not count)"
)


@dataclass(frozen=True)
class Check:
    """A stated rule: when a rule's numbers say to fix or disable it."""

    name: str
    rule: str
    advice: str


DISABLE = Check(
    "disable-or-fix",
    "at least 5 pages and at least 50 % of them resolved by their source unacknowledged",
    "disable or fix: nobody acts on it",
)
FLAPPING = Check(
    "flapping",
    "at least 3 flaps per page on average",
    "flapping: add `for:` or hysteresis",
)
LOW_URGENCY = Check(
    "low-urgency",
    "at least 3 acknowledged high-urgency off-hours pages with a median time to "
    "acknowledge over 30 minutes",
    "make it low urgency? nobody hurries at night",
)
CHECKS = (DISABLE, FLAPPING, LOW_URGENCY)

MIN_PAGES = 5
AUTO_SHARE = 0.5
FLAPS_PER_PAGE = 3.0
MIN_OFF_HOURS_ACKED = 3
SLOW_ACK = timedelta(minutes=30)


class RuleNoise(BaseModel):
    """One alert rule over the period."""

    rule: str
    sources: list[str]
    teams: list[str]
    pages: int
    acked: int
    auto_resolved_unacked: int
    median_ack_seconds: float | None = None
    flaps: int
    off_hours: int
    silenced: int
    noise: int
    marks: list[str] = Field(
        default_factory=list, description="Names of the checks the rule trips (see checks)"
    )
    advice: list[str] = Field(default_factory=list)


class ShiftLoad(BaseModel):
    """The pages one person carried in one shift and the incidents they worked in it
    (``from_report``: the shift as kept)."""

    person: str
    rotation: str
    team: str | None = None
    start: datetime
    end: datetime
    pages: int = 0
    off_hours_pages: int = 0
    incidents: list[str] = Field(
        default_factory=list,
        description="Ids of the incidents declared in the shift that they worked (led, "
        "answered a page for, updated or resolved: as the shift's report says)",
    )
    from_report: bool = False


class CheckText(BaseModel):
    name: str
    rule: str
    advice: str


class NoiseReport(BaseModel):
    """Per alert rule, noisiest first; the on-call load per person and shift."""

    start: datetime
    end: datetime
    pages: int
    noise: str = NOISE
    checks: list[CheckText] = Field(
        default_factory=lambda: [
            CheckText(name=c.name, rule=c.rule, advice=c.advice) for c in CHECKS
        ]
    )
    rules: list[RuleNoise]
    test_pages: int = Field(
        0,
        description="Tocsin's own handoff test pages in the period: no alert rule sent "
        "them, so they are not in the rules (they count in the on-call load)",
    )
    load: list[ShiftLoad]
    unattributed: int = Field(
        0, description="Pages whose team has no rotation (or nobody on call): in no shift"
    )
    incidents: int = Field(0, description="Incidents declared in the period")
    unattributed_incidents: int = Field(
        0,
        description="Incidents declared in the period that count for nobody: no shift of "
        "their team, or nobody worked them (no lead)",
    )


def _ack_seconds(page: PageLogEntry) -> float | None:
    if page.acked_at is None:
        return None
    return max((page.acked_at - page.opened_at).total_seconds(), 0.0)


def _median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def rule_noise(rule: str, pages: list[PageLogEntry]) -> RuleNoise:
    """One rule's numbers and the checks it trips."""
    heard = [p for p in pages if not p.silenced]
    unacked = [p for p in heard if p.acked_by is None]
    auto = sum(1 for p in pages if p.auto_resolved_unacked)
    flaps = sum(p.flaps for p in pages)
    found = RuleNoise(
        rule=rule,
        sources=sorted({p.source for p in pages}),
        teams=sorted({p.team for p in pages}),
        pages=len(pages),
        acked=sum(1 for p in pages if p.acked_by is not None),
        auto_resolved_unacked=auto,
        median_ack_seconds=_median(s for p in pages if (s := _ack_seconds(p)) is not None),
        flaps=flaps,
        off_hours=sum(1 for p in pages if p.off_hours),
        silenced=len(pages) - len(heard),
        noise=len(unacked) + flaps + sum(1 for p in unacked if p.off_hours),
    )
    night = _median(
        s
        for p in heard
        if p.off_hours and p.urgency == "high" and (s := _ack_seconds(p)) is not None
    )
    night_acked = sum(1 for p in heard if p.off_hours and p.urgency == "high" and p.acked_at)
    tripped = [
        len(pages) >= MIN_PAGES and auto >= AUTO_SHARE * len(pages),
        bool(pages) and flaps >= FLAPS_PER_PAGE * len(pages),
        night_acked >= MIN_OFF_HOURS_ACKED
        and night is not None
        and night > SLOW_ACK.total_seconds(),
    ]
    for check, hit in zip(CHECKS, tripped, strict=True):
        if hit:
            found.marks.append(check.name)
            found.advice.append(check.advice)
    return found


@dataclass(frozen=True)
class _Shift:
    person: str
    rotation: str
    team: str | None
    start: datetime
    end: datetime
    from_report: bool


def _report_at(team: str, at: datetime, reports: list[ShiftReport]) -> ShiftReport | None:
    """The kept report of ``team``'s shift holding ``at``."""
    return next((r for r in reports if r.team == team and r.start <= at < r.end), None)


def _from_reports(page: PageLogEntry, reports: list[ShiftReport]) -> _Shift | None:
    report = _report_at(page.team, page.opened_at, reports)
    if report is None:
        return None
    first = next((p for p in report.holders.values() if p), None)
    who = page.acked_by if page.acked_by in report.holders.values() else first
    if who is None:
        return None
    return _Shift(who, report.rotation, report.team, report.start, report.end, True)


def _plan_spans(
    team_name: str, at: datetime, config: TocsinConfig, plans: Mapping[str, RotationPlan]
) -> tuple[str, list[ShiftSpan]] | None:
    """The team's rotation and the spans holding its layers at ``at`` (None: no rotation,
    or nobody on call)."""
    team = config.teams.get(team_name)
    if team is None or team.rotation is None or team.rotation not in config.rotations:
        return None
    plan = plans.get(team.rotation) or plan_from_config(
        team.rotation, config.rotations[team.rotation]
    )
    # oncall_at leaves out the layers nobody holds: every span here has a person.
    held = [s for s in oncall_at(plan, at).values() if s is not None]
    return (team.rotation, held) if held else None


def _from_plan(
    page: PageLogEntry, config: TocsinConfig, plans: Mapping[str, RotationPlan]
) -> _Shift | None:
    found = _plan_spans(page.team, page.opened_at, config, plans)
    if found is None:
        return None
    rotation, held = found
    span = next((s for s in held if s.person == page.acked_by), held[0])
    return _Shift(span.person or "", rotation, page.team, span.start, span.end, False)


@dataclass(frozen=True)
class _Incident:
    id: str
    team: str
    declared_at: datetime
    lead: str | None


def _incident_shifts(
    incident: _Incident,
    reports: list[ShiftReport],
    config: TocsinConfig,
    plans: Mapping[str, RotationPlan],
) -> list[_Shift]:
    """The shifts an incident counts in, one per person who worked it (the reports'
    rule): in a kept shift of its team, everyone its report says worked it (the log's lead
    when the report missed it); else the rotation's plan, for its lead, in the shift the
    lead held then (else the first layer's). Empty: it counts for nobody."""
    report = _report_at(incident.team, incident.declared_at, reports)
    if report is not None:
        listed = next((i for i in report.activity.incidents if i.id == incident.id), None)
        people = listed.worked_by if listed is not None else [incident.lead]
        return [
            _Shift(p, report.rotation, report.team, report.start, report.end, True)
            for p in people
            if p
        ]
    found = _plan_spans(incident.team, incident.declared_at, config, plans)
    if found is None or incident.lead is None:
        return []
    rotation, held = found
    span = next((s for s in held if s.person == incident.lead), held[0])
    return [_Shift(incident.lead, rotation, incident.team, span.start, span.end, False)]


def _period_incidents(
    logged: list[IncidentRecord], reports: list[ShiftReport], start: datetime, end: datetime
) -> list[_Incident]:
    """The log's incidents declared in ``[start, end)``, and any a kept report lists
    that the log lacks (the log should hold them all; a report stands in for a lost row)."""
    found = {
        r.id: _Incident(r.id, r.team, r.declared_at, r.lead)
        for r in logged
        if start <= r.declared_at < end
    }
    for report in reports:
        for i in report.activity.incidents:
            if report.team and i.id not in found and start <= i.declared_at < end:
                found[i.id] = _Incident(i.id, report.team, i.declared_at, None)
    return sorted(found.values(), key=lambda i: (i.declared_at, i.id))


def _load(loads: dict[_Shift, ShiftLoad], shift: _Shift) -> ShiftLoad:
    return loads.setdefault(
        shift,
        ShiftLoad(
            person=shift.person,
            rotation=shift.rotation,
            team=shift.team,
            start=shift.start,
            end=shift.end,
            from_report=shift.from_report,
        ),
    )


def shift_load(
    pages: list[PageLogEntry],
    reports: list[ShiftReport],
    config: TocsinConfig,
    plans: Mapping[str, RotationPlan] | None = None,
    incidents: Sequence[IncidentRecord] = (),
    period: tuple[datetime, datetime] | None = None,
) -> tuple[list[ShiftLoad], int, int]:
    """Each person's pages, off-hours pages and incidents per shift, in shift order; how
    many pages fell in no shift, and how many incidents counted for nobody. Silenced pages
    notified nobody and are left out. ``incidents``: the incident log's; those (and the
    ones kept reports list) declared in ``period`` count, every one without a period."""
    loads: dict[_Shift, ShiftLoad] = {}
    unattributed = 0
    for page in pages:
        if page.silenced:
            continue
        shift = _from_reports(page, reports) or _from_plan(page, config, plans or {})
        if shift is None:
            unattributed += 1
            continue
        load = _load(loads, shift)
        load.pages += 1
        load.off_hours_pages += page.off_hours
        # A page for an incident's role: whoever answered it worked the incident.
        answered = page.incident_id if page.acked_by == shift.person else None
        if answered and answered not in load.incidents:
            load.incidents.append(answered)
    nobody = 0
    start, end = period or (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    for incident in _period_incidents(list(incidents), reports, start, end):
        shifts = _incident_shifts(incident, reports, config, plans or {})
        nobody += not shifts
        for shift in shifts:
            load = _load(loads, shift)
            if incident.id not in load.incidents:
                load.incidents.append(incident.id)
    ordered = sorted(loads.values(), key=lambda s: (s.start, s.rotation, s.person))
    return ordered, unattributed, nobody


def noise_report(
    pages: list[PageLogEntry],
    start: datetime,
    end: datetime,
    config: TocsinConfig,
    reports: list[ShiftReport] | None = None,
    plans: Mapping[str, RotationPlan] | None = None,
    incidents: Sequence[IncidentRecord] = (),
) -> NoiseReport:
    """The report over ``[start, end)`` (``pages``: the log's openings in it;
    ``incidents``: the incident log's declared in it)."""
    by_rule: dict[str, list[PageLogEntry]] = defaultdict(list)
    tests = 0
    for page in pages:
        if page.source == HANDOFF_TEST:
            tests += 1
        else:
            by_rule[page.rule].append(page)
    rules = [rule_noise(rule, found) for rule, found in by_rule.items()]
    rules.sort(key=lambda r: (-r.noise, -r.pages, r.rule))
    kept = reports or []
    load, unattributed, nobody = shift_load(
        pages, kept, config, plans, incidents, period=(start, end)
    )
    return NoiseReport(
        start=start,
        end=end,
        pages=len(pages),
        rules=rules,
        test_pages=tests,
        load=load,
        unattributed=unattributed,
        incidents=len(_period_incidents(list(incidents), kept, start, end)),
        unattributed_incidents=nobody,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _ack(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return format_duration(timedelta(seconds=max(round(seconds), 1)))


def report_text(report: NoiseReport, zone: ZoneInfo | None = None) -> str:
    """The report as ``tocsin report alerts`` prints it (shift times in ``zone``, else UTC)."""
    lines = [
        f"Alert noise {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC: "
        f"{_count(report.pages, 'page')}, {_count(report.incidents, 'incident')}",
        "",
        f"{'rule':<28} {'pages':>5} {'acked':>5} {'auto':>5} {'ack p50':>8} "
        f"{'flaps':>5} {'night':>5} {'silen':>5} {'noise':>5}",
    ]
    for r in report.rules:
        lines.append(
            f"{r.rule[:28]:<28} {r.pages:>5} {r.acked:>5} {r.auto_resolved_unacked:>5} "
            f"{_ack(r.median_ack_seconds):>8} {r.flaps:>5} {r.off_hours:>5} {r.silenced:>5} "
            f"{r.noise:>5}"
        )
        lines += [f"  ! {advice}" for advice in r.advice]
    if not report.rules:
        lines.append("no alert pages in the period")
    if report.test_pages:
        lines.append(
            f"(and {_count(report.test_pages, 'handoff test page')}: not an alert rule, "
            "counted in the load below)"
        )
    lines += ["", f"Sorted by noise: {report.noise}.", "Marked when:"]
    lines += [f"  {c.name}: {c.rule} → {c.advice}" for c in report.checks]
    lines += ["", "On-call load (per person and shift):"]
    for s in report.load:
        start, end = (t.astimezone(zone) if zone else t for t in (s.start, s.end))
        kept = "" if s.from_report else " (planned)"
        named = f" ({', '.join(s.incidents)})" if s.incidents else ""
        lines.append(
            f"  {s.person:<12} {s.rotation:<12} {start:%a %m-%d %H:%M} → {end:%a %m-%d %H:%M}"
            f"{kept}: {_count(s.pages, 'page')}, {s.off_hours_pages} off hours, "
            f"{_count(len(s.incidents), 'incident')}{named}"
        )
    if not report.load:
        lines.append("  nobody was paged or worked an incident")
    if report.unattributed:
        lines.append(f"  {report.unattributed} page(s) in no shift (team without a rotation)")
    if report.unattributed_incidents:
        lines.append(
            f"  {report.unattributed_incidents} incident(s) nobody worked in a shift "
            "(no lead, or a team without a rotation)"
        )
    return "\n".join(lines)
