"""``tocsin checks``: uptime checks' figures, read from the probe results in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from starters.cli_common import ConfigOpt, JsonOpt, config_file, emit, settings_from
from starters.cli_log import read_store


def checks_command(
    days: Annotated[
        int, typer.Option(min=1, max=30, help="Read the results of the last N days (kept: 30).")
    ] = 30,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Uptime checks: status now, uptime over 24h/7d/30d, p50/p99 latency, last failure
    (the database in TOCSIN_DATABASE_URL)."""
    from activities.adapters.sql_check_results import SqlCheckResults  # noqa: PLC0415
    from starters.uptime_report import summarise, summary_text  # noqa: PLC0415

    settings = settings_from(config=config)
    configured = config_file(settings).current().checks
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    results = read_store(
        settings, lambda store: SqlCheckResults(store).list_check_results(since)
    )
    summaries = summarise(results, now, days, configured)
    emit(summaries, as_json, lambda: summary_text(summaries))
