"""``tocsin log`` and ``tocsin report`` over a SQLite incident log in the data directory."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from activities.adapters.sql_store import SqlStore
from starters.cli import app
from workflows.incident_models import IncidentRecord, IncidentStatus

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def incident(number: int, days_ago: float, **changes: object) -> IncidentRecord:
    declared = NOW - timedelta(days=days_ago)
    base = IncidentRecord(
        id=f"INC-{number}",
        number=number,
        title=f"Incident {number}",
        severity="critical",
        status=IncidentStatus.closed,
        service="gitserver",
        team="delivery",
        declared_by="bob",
        lead="alice",
        declared_at=declared,
        acknowledged_at=declared + timedelta(minutes=3),
        resolved_at=declared + timedelta(minutes=45),
        closed_at=declared + timedelta(days=1),
        resolution="fixed",
        postmortem_url=f"https://github.com/acme/ops/issues/{number}",
        followups_open=0,
        followups_closed=2,
    )
    return base.model_copy(update=changes)


RECORDS = (
    incident(1, 40),
    incident(2, 10, severity="minor", service="database", resolution="false_positive"),
    incident(3, 2, status=IncidentStatus.active, resolved_at=None, closed_at=None, resolution=None),
    incident(4, 1, severity="major", lead=None, acknowledged_at=None),
)


@pytest.fixture
def tocsin(tmp_path: Path) -> CliRunner:
    """A runner whose data directory holds an incident log of four incidents."""

    async def fill() -> None:
        store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
        for r in RECORDS:
            await store.upsert_incident(r)
        await store.close()

    asyncio.run(fill())
    return CliRunner(env={"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_DATABASE_URL": ""})


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


class TestLog:
    def test_table(self, tocsin: CliRunner) -> None:
        """The table lists the last 30 days newest first, with every column."""
        lines = ok(tocsin.invoke(app, ["log"])).splitlines()

        assert lines[0].split()[:5] == ["ID", "TITLE", "SEVERITY", "SERVICE", "LEAD"]
        assert [line.split()[0] for line in lines[1:-1]] == ["INC-4", "INC-3", "INC-2"]
        inc2 = lines[3]
        assert "false_positive" in inc2
        assert "https://github.com/acme/ops/issues/2" in inc2
        assert inc2.split()[-5:-3] == ["3m00s", "45m00s"]
        assert inc2.endswith("0/2")

    def test_since_and_filters(self, tocsin: CliRunner) -> None:
        """--since takes durations or dates; --severity and --service filter."""
        since = (NOW - timedelta(days=60)).date().isoformat()
        every = ok(tocsin.invoke(app, ["log", "--since", since])).splitlines()
        critical = ok(tocsin.invoke(app, ["log", "--since", "60d", "--severity", "critical"]))
        database = ok(tocsin.invoke(app, ["log", "--service", "database"]))

        assert [line.split()[0] for line in every[1:-1]] == ["INC-4", "INC-3", "INC-2", "INC-1"]
        assert [line.split()[0] for line in critical.splitlines()[1:-1]] == ["INC-3", "INC-1"]
        assert [line.split()[0] for line in database.splitlines()[1:-1]] == ["INC-2"]

    def test_json(self, tocsin: CliRunner) -> None:
        """--json prints the rows with their durations in seconds, and nothing else."""
        rows = json.loads(ok(tocsin.invoke(app, ["log", "--json"])))

        assert [r["id"] for r in rows] == ["INC-4", "INC-3", "INC-2"]
        assert rows[0]["time_to_acknowledge_seconds"] is None
        assert rows[2]["time_to_resolve_seconds"] == 45 * 60.0
        assert rows[2]["declared_at"].endswith("Z")

    def test_csv(self, tocsin: CliRunner) -> None:
        """--csv prints a header and one line per incident."""
        rows = list(csv.DictReader(io.StringIO(ok(tocsin.invoke(app, ["log", "--csv"])))))

        assert [r["id"] for r in rows] == ["INC-4", "INC-3", "INC-2"]
        assert rows[2]["followups_closed"] == "2"
        assert rows[2]["time_to_acknowledge_seconds"] == "180.0"

    def test_empty_log(self, tmp_path: Path) -> None:
        """A new data directory has an empty log (created on first use)."""
        runner = CliRunner(
            env={"TOCSIN_DATA_DIR": str(tmp_path / "new"), "TOCSIN_DATABASE_URL": ""}
        )

        assert ok(runner.invoke(app, ["log"])) == "no incidents\n"
        assert (tmp_path / "new" / "tocsin.db").is_file()

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            (["--since", "last week"], "error: --since: invalid time 'last week'"),
            (["--until", "tomorrow"], "error: --until: invalid time 'tomorrow'"),
            (["--json", "--csv"], "error: --json and --csv: choose one"),
            (["--limit", "0"], "--limit"),
        ],
    )
    def test_bad_arguments(self, tocsin: CliRunner, args: list[str], fragment: str) -> None:
        """Bad arguments exit 2 and name the argument."""
        result = tocsin.invoke(app, ["log", *args])

        assert result.exit_code == 2
        assert fragment in result.stderr

    def test_unsupported_database(self, tocsin: CliRunner) -> None:
        """A TOCSIN_DATABASE_URL of another database exits 2 without printing the password."""
        result = tocsin.invoke(
            app, ["log"], env={"TOCSIN_DATABASE_URL": "mysql://tocsin:hunter2@db/tocsin"}
        )

        assert result.exit_code == 2
        assert "TOCSIN_DATABASE_URL" in result.stderr
        assert "hunter2" not in result.output + result.stderr

    def test_database_down(self, tocsin: CliRunner) -> None:
        """A database that cannot be reached exits 1 with one line."""
        result = tocsin.invoke(
            app, ["log"], env={"TOCSIN_DATABASE_URL": "postgresql://tocsin:hunter2@127.0.0.1:9/x"}
        )

        assert result.exit_code == 1
        assert result.stderr.startswith("error: incident log (migrate):")
        assert "hunter2" not in result.stderr


class TestReport:
    def test_text(self, tocsin: CliRunner) -> None:
        """MTTA/MTTR per severity and per service over the last 30 days by default."""
        text = ok(tocsin.invoke(app, ["report"]))
        lines = text.splitlines()

        assert "UTC: 3 (1 false positive)" in lines[0]
        assert lines[2].split()[0] == "SEVERITY"
        assert [line.split()[0] for line in lines[3:7]] == ["critical", "major", "minor", "all"]
        assert lines[6].split()[1:5] == ["3", "1", "3m00s", "3m00s"]
        assert "SERVICE" in text
        assert "false positives left out" in lines[-1]

    def test_since(self, tocsin: CliRunner) -> None:
        """--since widens the period to take in older incidents."""
        text = ok(tocsin.invoke(app, ["report", "--since", "90d"]))

        assert "UTC: 4 (1 false positive)" in text.splitlines()[0]

    def test_json(self, tocsin: CliRunner) -> None:
        """--json prints the report's numbers."""
        body = json.loads(ok(tocsin.invoke(app, ["report", "--json"])))

        assert body["total"]["incidents"] == 3
        assert body["total"]["mtta"]["median_seconds"] == 180.0
        assert [g["key"] for g in body["by_service"]] == ["database", "gitserver"]

    def test_bad_since(self, tocsin: CliRunner) -> None:
        """A bad --since exits 2 naming it."""
        result = tocsin.invoke(app, ["report", "--since", "a while"])

        assert result.exit_code == 2
        assert "error: --since: invalid time 'a while'" in result.stderr
