"""The shipped monitoring files (``deploy/``): Prometheus rules, their unit tests and the
example scrape config pass ``promtool``, and the rules and the Grafana dashboard query
only series Tocsin exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import activities.adapters.prometheus_metrics  # noqa: F401 - registers every tocsin_* series

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "tocsin-rules.yml"
RULES_TEST = PROMETHEUS_DIR / "tocsin-rules.test.yml"
SCRAPE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "tocsin-dashboard.json"

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install prometheus; `make test` does it as root)",
)

# The Temporal SDK's metrics are not in prometheus-client's registry until a worker runs:
# worker/sdk_metrics.py bridges them at scrape time, counters as temporal_<name>_total,
# gauges as temporal_<name>, histograms as temporal_<name>_seconds. These are the SDK
# names (temporalio/sdk-core's worker and client metrics) that the rules and the
# dashboard use, in that bridged form less the _total/_bucket/_sum/_count suffix.
TEMPORAL_SDK_NAMES = frozenset(
    {
        "temporal_workflow_task_execution_failed",
        "temporal_activity_execution_failed",
        "temporal_request_failure",
        "temporal_worker_task_slots_available",
        "temporal_num_pollers",
        "temporal_sticky_cache_size",
        "temporal_workflow_task_schedule_to_start_latency_seconds",
        "temporal_activity_schedule_to_start_latency_seconds",
    }
)
SERIES_SUFFIXES = ("_bucket", "_sum", "_count", "_total")
METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:])((?:tocsin|temporal)_[A-Za-z0-9_:]*)")
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# Grafana's range variables, replaced by a duration so promtool can parse the expression.
GRAFANA_RANGE_RE = re.compile(r"\$__(?:rate_interval|interval|range)\b")


def exported_names() -> set[str]:
    """Names of the tocsin_* metric families in prometheus-client's registry."""
    return {m.name for m in REGISTRY.collect() if m.name.startswith("tocsin_")}


def metric_names(expr: str) -> set[str]:
    """The tocsin_*/temporal_* metric names an expression reads, series suffixes removed
    (string literals, such as label values, are ignored)."""
    return {family_name(name) for name in METRIC_RE.findall(STRING_RE.sub('""', expr))}


def family_name(series: str) -> str:
    """A series name less its one _bucket/_sum/_count/_total suffix."""
    for suffix in SERIES_SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    """Every rule of every group in tocsin-rules.yml."""
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Panels of a dashboard, including those nested in collapsed rows."""
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(all_panels(panel.get("panels") or []))
    return found


def dashboard_exprs() -> list[str]:
    return [
        target["expr"]
        for panel in all_panels(dashboard()["panels"])
        for target in panel.get("targets") or []
        if target.get("expr")
    ]


def promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


class TestPromtool:
    """promtool accepts the rules, passes their unit tests and accepts the example config."""

    @needs_promtool
    def test_check_rules(self) -> None:
        result = promtool("check", "rules", str(RULES.relative_to(REPO)))
        assert result.returncode == 0, result.stdout + result.stderr

    @needs_promtool
    def test_rule_unit_tests(self) -> None:
        result = promtool("test", "rules", str(RULES_TEST.relative_to(REPO)))
        assert result.returncode == 0, result.stdout + result.stderr

    @needs_promtool
    def test_check_example_config(self, tmp_path: Path) -> None:
        """The example config, with its rules and a token file beside it as the comments
        describe, is a valid Prometheus config (promtool needs the token file to exist)."""
        for source in (SCRAPE_CONFIG, RULES):
            shutil.copy(source, tmp_path / source.name)
        config = load_yaml(SCRAPE_CONFIG)
        for job in config["scrape_configs"]:
            token_file = tmp_path / job["authorization"]["credentials_file"]
            token_file.write_text("metrics-token", encoding="utf-8")
        result = promtool("check", "config", str(tmp_path / SCRAPE_CONFIG.name), cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr

    @needs_promtool
    def test_dashboard_exprs_parse(self, tmp_path: Path) -> None:
        """Every dashboard query is valid PromQL (checked as a recording rule each)."""
        exprs = [GRAFANA_RANGE_RE.sub("5m", expr) for expr in dashboard_exprs()]
        as_rules = {
            "groups": [
                {
                    "name": "dashboard",
                    "rules": [
                        {"record": f"tocsin:dashboard_panel_query_{i}", "expr": expr}
                        for i, expr in enumerate(exprs)
                    ],
                }
            ]
        }
        path = tmp_path / "dashboard-queries.yml"
        path.write_text(yaml.safe_dump(as_rules), encoding="utf-8")
        result = promtool("check", "rules", str(path), cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


class TestRules:
    """The rules alert on what Tocsin exports, and each one is unit-tested both ways."""

    def test_rules_read_only_exported_metrics(self) -> None:
        known = exported_names() | TEMPORAL_SDK_NAMES
        used = {name for rule in rules() for name in metric_names(rule["expr"])}
        assert used, "no tocsin_/temporal_ metric found in the rules"
        assert used - known == set()

    def test_every_alert_is_described(self) -> None:
        """Each alert waits (`for`), has a severity, a summary and a description."""
        for rule in rules():
            assert rule.get("for"), rule["alert"]
            assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert rule["annotations"]["description"], rule["alert"]

    def test_every_alert_fires_and_stays_quiet_in_a_test(self) -> None:
        alerts = {rule["alert"] for rule in rules()}
        firing: set[str] = set()
        quiet: set[str] = set()
        for test in load_yaml(RULES_TEST)["tests"]:
            for case in test.get("alert_rule_test") or []:
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
        assert alerts - firing == set(), "alerts never tested firing"
        assert alerts - quiet == set(), "alerts never tested quiet"


class TestDashboard:
    """The Grafana dashboard loads, is self-contained and queries what Tocsin exports."""

    def test_panel_ids_are_unique(self) -> None:
        ids = [panel["id"] for panel in all_panels(dashboard()["panels"])]
        assert len(ids) == len(set(ids))

    def test_queries_read_only_exported_metrics(self) -> None:
        known = exported_names() | TEMPORAL_SDK_NAMES
        used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
        assert used, "no tocsin_/temporal_ metric found in the dashboard"
        assert used - known == set()

    def test_every_query_uses_the_datasource_variable(self) -> None:
        """Queries go to the ${DS_PROMETHEUS} the importer picks, never a fixed data source."""
        board = dashboard()
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["DS_PROMETHEUS"]["type"] == "datasource"
        for panel in all_panels(board["panels"]):
            for target in panel.get("targets") or []:
                assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]

    def test_no_external_links(self) -> None:
        assert dashboard()["links"] == []
        assert "http://" not in DASHBOARD.read_text(encoding="utf-8")
        assert "https://" not in DASHBOARD.read_text(encoding="utf-8")

    def test_metric_name_parser(self) -> None:
        """The name check sees through suffixes and ignores label values."""
        expr = (
            'sum(rate(tocsin_alerts_total{job="tocsin_api"}[5m]))'
            " / histogram_quantile(0.9, rate(temporal_num_pollers_bucket[1m]))"
        )
        assert metric_names(expr) == {"tocsin_alerts", "temporal_num_pollers"}
