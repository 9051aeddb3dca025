"""Uptime checks outside Temporal: the ``checks:`` config and its errors, the SQL results
store (kept 30 days), the uptime and latency figures, ``GET /api/checks`` and
``tocsin checks``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from activities.adapters.sql_check_results import SqlCheckResults
from activities.adapters.sql_store import SqlStore
from starters.cli import app
from starters.uptime_report import percentile, summarise, summary_text
from tests.unit.test_config import SOURCE, example
from tests.unit.test_log_http import AUTH, serve
from worker.config import ConfigError, parse_config
from workflows.check_models import ProbeResult

NOW = datetime.now(UTC).replace(microsecond=0)


def with_check(**fields: Any) -> dict[str, Any]:
    data = example()
    data["checks"] = {
        "api": {"url": "https://api.example.com/health", "team": "delivery", **fields}
    }
    return data


def configured(*names: str) -> str:
    """The example config with uptime checks called ``names``, as YAML."""
    data = example()
    data["checks"] = {n: {"url": f"https://{n}.example.com/", "team": "delivery"} for n in names}
    return yaml.safe_dump(data)


def problems(**fields: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_check(**fields), SOURCE)
    return caught.value.problems


class TestConfig:
    """A check's config: defaults, and every mistake named by its key."""

    def test_defaults(self) -> None:
        check = parse_config(with_check(), SOURCE).checks["api"]
        assert check.method == "GET"
        assert check.expected_status == [(200, 399)]
        assert check.failures_before_paging == 3
        assert check.certificate_warning_days == 14
        assert check.interval == timedelta(minutes=1)
        assert check.timeout == timedelta(seconds=10)

    def test_statuses_and_ranges(self) -> None:
        check = parse_config(with_check(expected_status=[200, "301-302"]), SOURCE).checks["api"]
        assert check.expects(302)
        assert not check.expects(304)

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (
                {"url": "ftp://files.example.com/"},
                "checks.api.url: must be an http:// or https:// URL",
            ),
            ({"url": "api.example.com"}, "checks.api.url: must be an http:// or https:// URL"),
            ({"body_regex": "(unclosed"}, "checks.api.body_regex: invalid regular expression"),
            (
                {"interval": "10s", "timeout": "10s"},
                "checks.api.timeout: must be shorter than interval",
            ),
            (
                {"expected_status": ["2xx"]},
                "checks.api.expected_status: expected a status such as 200",
            ),
            ({"expected_status": "399-200"}, "checks.api.expected_status: 399-200: statuses are"),
            ({"method": "FETCH"}, "checks.api.method:"),
            ({"failures_before_paging": 0}, "checks.api.failures_before_paging:"),
            ({"team": "nobody"}, "checks.api.team: unknown team 'nobody'"),
            ({"service": "ghost", "team": None}, "checks.api.service: unknown service 'ghost'"),
            ({"team": None}, "checks.api: name the service or team to page"),
        ],
    )
    def test_errors_name_the_key(self, fields: dict[str, Any], expected: str) -> None:
        found = problems(**fields)
        assert any(expected in line for line in found), found


def result(check: str, ago: timedelta, ok: bool = True, latency: float = 100.0) -> ProbeResult:
    return ProbeResult(
        check=check,
        at=NOW - ago,
        ok=ok,
        status=200 if ok else 503,
        latency_ms=latency,
        error=None if ok else "status 503 (expected 200-399)",
    )


# api: down for 1 of 4 probes in the last day, 2 of 8 over the week, 2 of 10 over 30 days;
# web: one probe, up.
RESULTS = [
    *(result("api", timedelta(hours=h), latency=10.0 * (h + 1)) for h in range(3)),
    result("api", timedelta(hours=5), ok=False, latency=900.0),
    *(result("api", timedelta(days=d)) for d in (2, 3, 4)),
    result("api", timedelta(days=5), ok=False),
    *(result("api", timedelta(days=d)) for d in (10, 20)),
    result("web", timedelta(minutes=1), latency=5.0),
]


class TestFigures:
    """Uptime per window, nearest-rank percentiles, status now and the last failure."""

    def test_percentile(self) -> None:
        values = [float(v) for v in range(1, 101)]
        assert percentile(values, 0.5) == 50.0
        assert percentile(values, 0.99) == 99.0
        assert percentile([7.0], 0.99) == 7.0
        assert percentile([], 0.5) is None

    def test_summary(self) -> None:
        api, web = summarise(RESULTS, NOW, 30)
        assert api.check == "api"
        assert api.status == "up"
        assert (api.uptime_24h, api.uptime_7d, api.uptime_30d) == (75.0, 75.0, 80.0)
        assert api.last_failure == NOW - timedelta(hours=5)
        assert api.probes == 10
        assert api.p99_ms == 900.0
        assert web.status == "up"
        assert web.uptime_24h == 100.0

    def test_windows_beyond_the_days_read_are_empty(self) -> None:
        [api, _] = summarise([r for r in RESULTS if r.at >= NOW - timedelta(days=1)], NOW, 1)
        assert api.uptime_24h == 75.0
        assert api.uptime_7d is None
        assert api.uptime_30d is None

    def test_text(self) -> None:
        text = summary_text(summarise(RESULTS, NOW, 30))
        assert "75.00%" in text
        assert "status 503" in text
        assert summary_text([]).startswith("no check results")


class TestStore:
    """Results kept in SQL; rows past 30 days pruned as rows are added."""

    async def test_record_list_and_prune(self, tmp_path: Path) -> None:
        store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
        results = SqlCheckResults(store)
        old = result("api", timedelta(days=31))
        await results.record_check_result(old)
        await SqlCheckResults(store).record_check_result(result("api", timedelta(0), ok=False))
        await results.record_check_result(result("api", timedelta(0), ok=False))  # again: no-op
        found = await results.list_check_results(NOW - timedelta(days=40))
        await store.close()
        assert len(found) == 1
        assert found[0].error == "status 503 (expected 200-399)"
        assert found[0].at == NOW


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    sql = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    results = SqlCheckResults(sql)
    for r in RESULTS:
        await results.record_check_result(r)
    yield sql
    await sql.close()


class TestRoute:
    """``GET /api/checks``: each check's figures for person and admin tokens."""

    async def test_lists_checks(self, tmp_path: Path, store: SqlStore) -> None:
        """Exactly the configured checks: one not probed yet is pending, and the kept
        results of one no longer configured (``old``) are not listed."""
        await SqlCheckResults(store).record_check_result(result("old", timedelta(hours=1)))
        async for api in serve(tmp_path, store, configured("api", "web", "new")):
            response = await api.get("/api/checks", headers=AUTH)
            assert response.status_code == 200
            body = response.json()
            assert [(c["check"], c["status"]) for c in body] == [
                ("api", "up"),
                ("new", "pending"),
                ("web", "up"),
            ]
            assert body[1]["last_probe"] is None
            assert body[0]["uptime_30d"] == 80.0
            assert body[0]["status"] == "up"
            week = await api.get("/api/checks", params={"days": 7}, headers=AUTH)
            assert week.json()[0]["uptime_30d"] is None
            assert (
                await api.get("/api/checks", params={"days": 31}, headers=AUTH)
            ).status_code == 422
            assert (await api.get("/api/checks")).status_code == 401

    async def test_no_store_is_503(self, tmp_path: Path) -> None:
        async for api in serve(tmp_path, None):
            response = await api.get("/api/checks", headers=AUTH)
            assert response.status_code == 503


class TestCli:
    """``tocsin checks`` reads the results from the database."""

    def test_text_and_json(self, tmp_path: Path) -> None:
        async def fill() -> None:
            sql = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
            for r in RESULTS:
                await SqlCheckResults(sql).record_check_result(r)
            await sql.close()

        asyncio.run(fill())
        (tmp_path / "tocsin.yaml").write_text(configured("api", "web", "new"))
        runner = CliRunner(
            env={
                "TOCSIN_DATA_DIR": str(tmp_path),
                "TOCSIN_DATABASE_URL": "",
                "TOCSIN_CONFIG": str(tmp_path / "tocsin.yaml"),
            }
        )
        text = runner.invoke(app, ["checks"])
        assert text.exit_code == 0, text.output
        lines = text.stdout.splitlines()
        assert lines[1].startswith("api")
        assert lines[2].split() == ["new", "pending", "(not", "probed", "yet)"]
        rows = json.loads(runner.invoke(app, ["checks", "--json", "--days", "7"]).stdout)
        assert [(r["check"], r["uptime_7d"]) for r in rows] == [
            ("api", 75.0),
            ("new", None),
            ("web", 100.0),
        ]
        bad = runner.invoke(app, ["checks", "--days", "0"])
        assert bad.exit_code == 2
