"""The incident log as people read it: rows with their times to acknowledge and resolve,
MTTA/MTTR reports per severity and per service, and the text, JSON and CSV they print as.

Pure functions over :class:`IncidentRecord`; the HTTP API and the CLI share them.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel

from workflows.durations import DurationTooLarge, parse_duration
from workflows.incident_models import IncidentRecord
from workflows.instants import EARLIEST, check_instant

NO_SERVICE = "(no service)"
# What the log and the report cover when no --since/since= is given.
DEFAULT_PERIOD = timedelta(days=30)


class LogRow(IncidentRecord):
    """A row of the incident log with its durations (seconds; None until they happen)."""

    time_to_acknowledge_seconds: float | None = None
    time_to_resolve_seconds: float | None = None

    @classmethod
    def of(cls, record: IncidentRecord) -> LogRow:
        tta = time_to_acknowledge(record)
        ttr = time_to_resolve(record)
        return cls(
            **record.model_dump(),
            time_to_acknowledge_seconds=None if tta is None else tta.total_seconds(),
            time_to_resolve_seconds=None if ttr is None else ttr.total_seconds(),
        )


class DurationStats(BaseModel):
    """Median and mean of one duration over the incidents that have it."""

    count: int = 0
    median_seconds: float | None = None
    mean_seconds: float | None = None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> DurationStats:
        if not values:
            return cls()
        seconds = [v.total_seconds() for v in values]
        return cls(
            count=len(seconds),
            median_seconds=statistics.median(seconds),
            mean_seconds=statistics.fmean(seconds),
        )


class GroupStats(BaseModel):
    """Incidents of one severity, one service, or all of them.

    MTTA counts every acknowledged incident; MTTR leaves false positives out (closing a
    false alarm is not repairing anything) and counts them in ``false_positives`` instead.
    """

    key: str
    incidents: int
    false_positives: int
    mtta: DurationStats
    mttr: DurationStats

    @classmethod
    def of(cls, key: str, records: Sequence[IncidentRecord]) -> GroupStats:
        acknowledged = [d for r in records if (d := time_to_acknowledge(r)) is not None]
        repaired = [
            d
            for r in records
            if r.resolution != "false_positive" and (d := time_to_resolve(r)) is not None
        ]
        return cls(
            key=key,
            incidents=len(records),
            false_positives=sum(1 for r in records if r.resolution == "false_positive"),
            mtta=DurationStats.of(acknowledged),
            mttr=DurationStats.of(repaired),
        )


class Report(BaseModel):
    """MTTA and MTTR over a period: overall, per severity and per service."""

    since: datetime | None = None
    until: datetime | None = None
    total: GroupStats
    by_severity: list[GroupStats]
    by_service: list[GroupStats]


def time_to_acknowledge(record: IncidentRecord) -> timedelta | None:
    """Declared → first lead taken; None while nobody has."""
    return _elapsed(record.declared_at, record.acknowledged_at)


def time_to_resolve(record: IncidentRecord) -> timedelta | None:
    """Declared → resolved; None while unresolved."""
    return _elapsed(record.declared_at, record.resolved_at)


def _elapsed(start: datetime, end: datetime | None) -> timedelta | None:
    if end is None:
        return None
    # An incident promoted from a page may carry an acknowledgement from just before it was
    # declared; it was acknowledged at once, not in negative time.
    return max(end - start, timedelta(0))


def report(
    records: Iterable[IncidentRecord],
    since: datetime | None = None,
    until: datetime | None = None,
) -> Report:
    """Group ``records`` by severity and by service (each sorted by name)."""
    rows = list(records)
    return Report(
        since=since,
        until=until,
        total=GroupStats.of("all", rows),
        by_severity=_grouped(rows, lambda r: r.severity),
        by_service=_grouped(rows, lambda r: r.service or NO_SERVICE),
    )


def _grouped(
    records: Sequence[IncidentRecord], key: Callable[[IncidentRecord], str]
) -> list[GroupStats]:
    groups: dict[str, list[IncidentRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return [GroupStats.of(name, groups[name]) for name in sorted(groups)]


def parse_when(value: str, now: datetime) -> datetime:
    """A point in time as people type it, in UTC.

    ``7d``/``12h``/``PT1H`` go back from ``now``; ``2026-05-01`` is that day's midnight
    UTC; ``2026-05-01T09:00:00+02:00`` is that instant (UTC when it has no offset).

    Raises:
        ValueError: none of these forms.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty time: use a duration back from now (7d, 12h) or an ISO 8601 date")
    try:
        back = parse_duration(text)
    except DurationTooLarge:
        raise ValueError(f"{text} back from now is before {EARLIEST:%Y-%m-%d}") from None
    except ValueError:
        pass
    else:
        if back > now.astimezone(UTC) - EARLIEST:
            raise ValueError(f"{text} back from now is before {EARLIEST:%Y-%m-%d}")
        return now.astimezone(UTC) - back
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"invalid time {value!r}: use a duration back from now such as 7d or 12h, or an "
            "ISO 8601 date or time such as 2026-05-01 or 2026-05-01T09:00:00+02:00"
        ) from None
    return check_instant(
        parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    ).astimezone(UTC)


def human_duration(seconds: float | None) -> str:
    """``45s``, ``12m05s``, ``3h07m``, ``2d04h``; ``-`` for None."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


LOG_COLUMNS = (
    "ID",
    "TITLE",
    "SEVERITY",
    "SERVICE",
    "LEAD",
    "DECLARED",
    "ACKNOWLEDGED",
    "RESOLVED",
    "CLOSED",
    "TTA",
    "TTR",
    "RESOLUTION",
    "POSTMORTEM",
    "FOLLOW-UPS",
)


def log_text(rows: Sequence[LogRow], title_width: int = 40) -> str:
    """The log as an aligned table, times in UTC; follow-ups as ``open/closed``."""
    if not rows:
        return "no incidents"
    cells = [
        [
            r.id,
            _clip(r.title, title_width),
            r.severity,
            r.service or "-",
            r.lead or "-",
            _when(r.declared_at),
            _when(r.acknowledged_at),
            _when(r.resolved_at),
            _when(r.closed_at),
            human_duration(r.time_to_acknowledge_seconds),
            human_duration(r.time_to_resolve_seconds),
            r.resolution or "-",
            r.postmortem_url or "-",
            f"{r.followups_open}/{r.followups_closed}",
        ]
        for r in rows
    ]
    return _table(list(LOG_COLUMNS), cells) + "\n(times in UTC; follow-ups open/closed)"


CSV_FIELDS = (
    *IncidentRecord.model_fields,
    "time_to_acknowledge_seconds",
    "time_to_resolve_seconds",
)


def log_csv(rows: Sequence[LogRow]) -> str:
    """The log as CSV with a header: every field, times in ISO 8601 UTC, durations in seconds."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.model_dump(mode="json").items()})
    return out.getvalue().rstrip("\n")


def report_text(result: Report) -> str:
    """MTTA/MTTR tables per severity and per service, durations as ``median (mean)``."""
    period = f"{_when(result.since)} to {_when(result.until)}"
    total = result.total
    lines = [
        f"Incidents declared {period}: {total.incidents}"
        f" ({total.false_positives} false positive{'' if total.false_positives == 1 else 's'})"
    ]
    if not total.incidents:
        return lines[0]
    for title, groups in (("SEVERITY", result.by_severity), ("SERVICE", result.by_service)):
        cells = [_stats_cells(g) for g in [*groups, total]]
        header = [
            title,
            "INCIDENTS",
            "FALSE POS.",
            "MTTA MEDIAN",
            "MTTA MEAN",
            "MTTR MEDIAN",
            "MTTR MEAN",
        ]
        lines += ["", _table(header, cells)]
    lines += [
        "",
        "MTTA: declared to acknowledged. MTTR: declared to resolved, false positives left out.",
    ]
    return "\n".join(lines)


def _stats_cells(g: GroupStats) -> list[str]:
    return [
        g.key,
        str(g.incidents),
        str(g.false_positives),
        human_duration(g.mtta.median_seconds),
        human_duration(g.mtta.mean_seconds),
        human_duration(g.mttr.median_seconds),
        human_duration(g.mttr.mean_seconds),
    ]


def _table(header: list[str], cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    ]
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"
