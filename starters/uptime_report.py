"""Uptime checks' figures from their kept probe results: per check, the status now, uptime
over 24 hours, 7 days and 30 days, p50/p99 latency and the last failure. Pure: the
``GET /api/checks`` route and ``tocsin checks`` read the results and call :func:`summarise`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import groupby
from typing import Literal

from pydantic import BaseModel, Field

from workflows.check_models import ProbeResult

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class CheckSummary(BaseModel):
    """One check's figures. Uptime is the share of probes that succeeded in each window
    (None: the results read do not cover it, or it has no probe); latency is over every
    probe read that got an answer."""

    check: str
    status: Literal["up", "down", "pending"] = Field(
        description="What the latest probe found; pending: configured, not probed yet"
    )
    last_probe: datetime | None = None
    probes: int = 0
    uptime_24h: float | None = Field(default=None, description="Percent, 0 to 100")
    uptime_7d: float | None = None
    uptime_30d: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    last_failure: datetime | None = None
    last_error: str | None = None


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.5 for p50) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(share * len(ordered)), 1)
    return ordered[rank - 1]


def uptime(results: list[ProbeResult], since: datetime) -> float | None:
    """Percent of the probes since ``since`` that succeeded; None without any."""
    within = [r for r in results if r.at >= since]
    if not within:
        return None
    return round(100 * sum(r.ok for r in within) / len(within), 3)


def summarise(
    results: Iterable[ProbeResult],
    now: datetime,
    days: int,
    configured: Iterable[str] | None = None,
) -> list[CheckSummary]:
    """Per check (by name), from results of the last ``days`` days, ordered by name.

    With ``configured`` (the config's check names), exactly those checks are listed: one
    not probed yet is ``pending``, and a removed check's kept results are left out."""
    summaries = []
    wanted = None if configured is None else set(configured)
    ordered = sorted(
        (r for r in results if wanted is None or r.check in wanted), key=lambda r: (r.check, r.at)
    )
    for name, group in groupby(ordered, key=lambda r: r.check):
        rows = list(group)
        last = rows[-1]
        failed = [r for r in rows if not r.ok]
        figures = {
            f"uptime_{label}": uptime(rows, now - span) if span <= timedelta(days=days) else None
            for label, span in WINDOWS.items()
        }
        latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        summaries.append(
            CheckSummary(
                check=name,
                status="up" if last.ok else "down",
                last_probe=last.at,
                probes=len(rows),
                p50_ms=None if p50 is None else round(p50, 1),
                p99_ms=None if p99 is None else round(p99, 1),
                last_failure=failed[-1].at if failed else None,
                last_error=failed[-1].error if failed else None,
                **figures,
            )
        )
    probed = {s.check for s in summaries}
    summaries += [CheckSummary(check=n, status="pending") for n in wanted or () if n not in probed]
    return sorted(summaries, key=lambda s: s.check)


def summary_text(summaries: list[CheckSummary]) -> str:
    """A table for people: one line per check."""
    if not summaries:
        return "no check results (checks: in the config, and a worker running them)"

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}%"

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}ms"

    lines = [
        f"{'CHECK':<20} {'NOW':<5} {'24H':>8} {'7D':>8} {'30D':>8} {'P50':>7} {'P99':>7}  LAST FAILURE"
    ]
    for s in summaries:
        if s.last_probe is None:
            lines.append(f"{s.check:<20} {s.status:<5}  (not probed yet)")
            continue
        failure = (
            f"{s.last_failure:%Y-%m-%d %H:%M}Z {s.last_error or ''}".strip()
            if s.last_failure
            else "-"
        )
        lines.append(
            f"{s.check:<20} {s.status:<5} {pct(s.uptime_24h):>8} {pct(s.uptime_7d):>8} "
            f"{pct(s.uptime_30d):>8} {ms(s.p50_ms):>7} {ms(s.p99_ms):>7}  {failure}"
        )
    return "\n".join(lines)


__all__ = ["CheckSummary", "percentile", "summarise", "summary_text", "uptime"]
