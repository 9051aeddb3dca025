"""The ``tocsin`` command line: config checks, who is on call, bad input refused before
Temporal, and kept on-call reports."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from activities.adapters.sql_store import SqlStore
from starters.cli import app
from tests.unit.test_report_routes import REPORTS

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"

SCHEMA_ERRORS = """\
people:
  alice: {name: Alice, timezone: Mars/Base}
teams:
  delivery: {members: [alice], escalation_policy: delivery}
escalation_policies:
  delivery:
    steps:
      - {targets: ["team:delivery"], ack_timeout: soon}
"""

REFERENCE_ERRORS = """\
people:
  alice: {name: Alice}
teams:
  delivery: {members: [alice, zed], escalation_policy: delivery}
escalation_policies:
  delivery:
    steps:
      - {targets: ["team:ops"], ack_timeout: 5m}
"""


@pytest.fixture
def tocsin(closed_port: int) -> CliRunner:
    """A runner whose Temporal address refuses connections and with no TOCSIN_USER."""
    return CliRunner(
        env={
            "TOCSIN_TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port}",
            "TOCSIN_USER": "",
            "TOCSIN_CONFIG": str(EXAMPLE),
        }
    )


def no_traceback(result: Result) -> bool:
    """The command ended by exiting, not by an uncaught exception."""
    return result.exception is None or isinstance(result.exception, SystemExit)


class TestConfigCheck:
    def test_example_ok(self, tocsin: CliRunner) -> None:
        """The shipped example config checks clean."""
        result = tocsin.invoke(app, ["config", "check", str(EXAMPLE)])

        assert result.exit_code == 0
        assert result.stdout == "ok\n"

    def test_schema_errors_each_on_a_line(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """Every schema error is printed as ``FILE: key.path: message`` and the exit code is 2."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(SCHEMA_ERRORS)

        result = tocsin.invoke(app, ["config", "check", str(path)])

        assert result.exit_code == 2
        assert result.stdout.splitlines() == [
            f"{path}: people.alice.timezone: unknown time zone 'Mars/Base' "
            "(use an IANA name such as 'America/Chicago')",
            f"{path}: escalation_policies.delivery.steps.0.ack_timeout: invalid duration "
            "'soon': use <int><s|m|h|d|w> such as '10m' or ISO 8601 such as 'PT10M'",
        ]

    def test_reference_errors_each_on_a_line(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """Every unresolved reference is printed with its key path and the exit code is 2."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(REFERENCE_ERRORS)

        result = tocsin.invoke(app, ["config", "check", str(path)])

        assert result.exit_code == 2
        assert result.stdout.splitlines() == [
            f"{path}: teams.delivery.members.1: unknown person 'zed'",
            f"{path}: escalation_policies.delivery.steps.0.targets.0: unknown team 'ops'",
        ]

    def test_missing_file(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """A file that does not exist is named and the exit code is 2."""
        path = tmp_path / "absent.yaml"

        result = tocsin.invoke(app, ["config", "check", str(path)])

        assert result.exit_code == 2
        assert result.stdout == f"{path}: file not found\n"


def example_with(old: str, new: str) -> str:
    """The shipped example with the first ``old`` replaced by ``new``."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


class TestConfigCheckBounds:
    """Values beyond a field's bound, and repeated keys, fail the check like any config error."""

    @pytest.mark.parametrize("value", ["99999999999w", "P99999999999W", "3000000d"])
    def test_ack_timeout_too_long(self, tocsin: CliRunner, tmp_path: Path, value: str) -> None:
        """An ack_timeout over a week, however large, is one error line naming the bound; exit 2."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(example_with("ack_timeout: 10m}", f"ack_timeout: {value}}}"))

        result = tocsin.invoke(app, ["config", "check", str(path)])

        assert no_traceback(result)
        assert result.exit_code == 2
        assert result.stdout.splitlines() == [
            f"{path}: escalation_policies.delivery.steps.0.ack_timeout: must be at most 1w"
        ]

    def test_repeat_too_large(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """`repeat: 1000` is refused at its key path with the largest repeat allowed; exit 2."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(example_with("repeat: 0", "repeat: 1000"))

        result = tocsin.invoke(app, ["config", "check", str(path)])

        assert result.exit_code == 2
        assert result.stdout.splitlines() == [
            f"{path}: escalation_policies.delivery.repeat: Input should be less than or equal to 20"
        ]

    def test_duplicate_key(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """A person listed twice is refused with the line of the second entry; exit 2."""
        text = example_with("  bob:", "  alice: {name: Alice Again}\n  bob:")
        line = text.splitlines().index("  alice: {name: Alice Again}") + 1
        path = tmp_path / "tocsin.yaml"
        path.write_text(text)

        result = tocsin.invoke(app, ["config", "check", str(path)])

        assert no_traceback(result)
        assert result.exit_code == 2
        assert result.stdout == f"{path}: line {line}, column 3: duplicate key 'alice'\n"


class TestOncall:
    # The delivery rotation starts Monday 2026-01-05 10:00 Chicago with weekly shifts:
    # 2026-11-23 09:59 CST (15:59 UTC) is the last minute of shift 45, held by
    # eoc[45 % 3] = alice; at 10:00 CST shift 46 begins and eoc[46 % 3] = bob takes over.
    # The tm layer has only dana.
    LAST_MINUTE = "2026-11-23T15:59:00+00:00"
    HANDOFF = "2026-11-23T10:00:00-06:00"

    def delivery(self, tocsin: CliRunner, at: str) -> dict[str, dict[str, str]]:
        """``oncall --json`` at ``at``, as the delivery team's entries keyed by layer."""
        result = tocsin.invoke(app, ["oncall", "--config", str(EXAMPLE), "--at", at, "--json"])
        assert result.exit_code == 0, result.output
        entries = json.loads(result.stdout)
        return {e["layer"]: e for e in entries if e["team"] == "delivery"}

    def test_before_handoff(self, tocsin: CliRunner) -> None:
        """A minute before the Monday handoff, alice still holds eoc and dana tm, until 16:00 UTC."""
        delivery = self.delivery(tocsin, self.LAST_MINUTE)

        assert {layer: e["person"] for layer, e in delivery.items()} == {
            "eoc": "alice",
            "tm": "dana",
        }
        assert delivery["eoc"]["name"] == "Alice Example"
        assert delivery["eoc"]["start"] == "2026-11-16T16:00:00Z"
        assert delivery["eoc"]["end"] == "2026-11-23T16:00:00Z"

    def test_at_handoff(self, tocsin: CliRunner) -> None:
        """At 10:00 Chicago on the Monday, eoc passes to bob; tm stays with dana."""
        delivery = self.delivery(tocsin, self.HANDOFF)

        assert {layer: e["person"] for layer, e in delivery.items()} == {
            "eoc": "bob",
            "tm": "dana",
        }
        assert delivery["eoc"]["end"] == "2026-11-30T16:00:00Z"

    def test_team_filter(self, tocsin: CliRunner) -> None:
        """``--team`` lists only that team's layers."""
        result = tocsin.invoke(
            app,
            ["oncall", "--config", str(EXAMPLE), "--team", "ops", "--at", self.HANDOFF, "--json"],
        )

        assert result.exit_code == 0
        assert {(e["team"], e["layer"]) for e in json.loads(result.stdout)} == {
            ("ops", "eoc"),
            ("ops", "tm"),
        }

    def test_at_without_offset(self, tocsin: CliRunner) -> None:
        """An --at without a UTC offset is refused with a hint about the time zone."""
        result = tocsin.invoke(
            app, ["oncall", "--config", str(EXAMPLE), "--at", "2026-11-23T15:59:00"]
        )

        assert result.exit_code == 2
        assert "time zone" in result.stderr
        assert result.stdout == ""

    @pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "1000-01-01T00:00:00+01:00"])
    def test_at_out_of_range(self, tocsin: CliRunner, at: str) -> None:
        """An --at no rotation arithmetic can reach is refused, naming the option (no traceback)."""
        result = tocsin.invoke(app, ["oncall", "--config", str(EXAMPLE), "--at", at])

        assert result.exit_code == 2
        assert "'--at': must be between 2000-01-01 and 2200-01-01" in result.stderr
        assert "Traceback" not in result.output

    def test_unknown_team(self, tocsin: CliRunner) -> None:
        """An unknown team is refused, listing the teams that exist."""
        result = tocsin.invoke(app, ["oncall", "--config", str(EXAMPLE), "--team", "nope"])

        assert result.exit_code == 2
        assert "unknown team 'nope'" in result.stderr
        assert "delivery" in result.stderr


class TestPageCommands:
    def test_ack_needs_actor(self, tocsin: CliRunner) -> None:
        """Without --as or TOCSIN_USER, ack says to pass --as before trying Temporal."""
        result = tocsin.invoke(app, ["page", "ack", "X"])

        assert result.exit_code == 2
        assert "pass --as" in result.stderr
        assert "Temporal" not in result.output
        assert no_traceback(result)

    def test_bad_dedup_key(self, tocsin: CliRunner) -> None:
        """A dedup key with a space is refused naming --dedup-key, before trying Temporal."""
        result = tocsin.invoke(
            app,
            ["page", "create", "--team", "delivery", "--summary", "x", "--dedup-key", "bad key"],
        )

        assert result.exit_code == 2
        assert result.stderr.startswith("error: --dedup-key:")
        assert "Temporal" not in result.output
        assert no_traceback(result)

    def test_create_needs_team_or_person(self, tocsin: CliRunner) -> None:
        """Whom to page is asked for before trying Temporal; so is a known urgency."""
        result = tocsin.invoke(app, ["page", "create", "--summary", "x"])
        assert result.exit_code == 2
        assert result.stderr.startswith("error: give --team or --person")
        bad = tocsin.invoke(
            app, ["page", "create", "--team", "d", "--summary", "x", "--urgency", "urgent"]
        )
        assert bad.exit_code == 2
        assert "--urgency" in bad.stderr
        assert no_traceback(result)

    def test_list_without_temporal(self, tocsin: CliRunner, closed_port: int) -> None:
        """With Temporal unreachable, list says so in one line and exits 1."""
        result = tocsin.invoke(app, ["page", "list", "--config", str(EXAMPLE)])

        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: cannot reach Temporal at 127.0.0.1:{closed_port}")
        assert "Traceback" not in result.output
        assert no_traceback(result)


class TestResponderCommands:
    """unack, snooze, reassign and add-responders: bad input is exit 2 naming the
    argument, before Temporal is asked; good input goes on to Temporal."""

    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["snooze", "p1", "--for", "soon"], "error: --for: invalid duration 'soon'"),
            (["snooze", "p1", "--for", "2w"], "error: --for: a snooze lasts at most 1w, not 2w"),
            (["reassign", "p1"], "error: give --team or --person"),
            (
                ["reassign", "p1", "--team", "ops", "--person", "bob"],
                "error: give --team or --person",
            ),
            (["reassign", "p1", "--team", "nope"], "error: --team: unknown team 'nope' (teams: "),
            (
                ["reassign", "p1", "--person", "zed@example.com"],
                "error: --person: unknown person 'zed@example.com'",
            ),
            (
                ["add-responders", "p1", "--target", "person:bob", "--target", "person:zed"],
                "error: --target: target 'person:zed': unknown person 'zed'",
            ),
            (
                ["add-responders", "p1", "--target", "bob"],
                "error: --target: invalid target 'bob': use person:ID, team:ID or rotation:ID/LAYER",
            ),
            (
                ["add-responders", "p1", "--target", "rotation:delivery/night"],
                "error: --target: target 'rotation:delivery/night': rotation 'delivery' has no layer 'night'",
            ),
        ],
        ids=lambda a: " ".join(a) if isinstance(a, list) else "",
    )
    def test_bad_input_is_exit_2_naming_it(
        self, tocsin: CliRunner, args: list[str], says: str
    ) -> None:
        result = tocsin.invoke(app, ["page", *args, "--as", "alice"])

        assert no_traceback(result)
        assert result.exit_code == 2
        assert result.stderr.startswith(says), result.stderr
        assert "Temporal" not in result.output

    def test_snooze_needs_for(self, tocsin: CliRunner) -> None:
        result = tocsin.invoke(app, ["page", "snooze", "p1", "--as", "alice"])

        assert result.exit_code == 2
        assert "--for" in result.stderr

    def test_add_responders_needs_a_target(self, tocsin: CliRunner) -> None:
        result = tocsin.invoke(app, ["page", "add-responders", "p1", "--as", "alice"])

        assert result.exit_code == 2
        assert "--target" in result.stderr

    def test_unack_needs_actor(self, tocsin: CliRunner) -> None:
        result = tocsin.invoke(app, ["page", "unack", "p1"])

        assert result.exit_code == 2
        assert "pass --as" in result.stderr

    @pytest.mark.parametrize(
        "args",
        [
            ["unack", "p1"],
            ["snooze", "p1", "--for", "PT30M", "--note", "after the deploy"],
            ["reassign", "p1", "--person", "bob@example.com"],
            ["reassign", "p1", "--team", "ops"],
            ["add-responders", "p1", "--target", "team:ops", "--target", "rotation:delivery/tm"],
        ],
        ids=lambda a: a[0],
    )
    def test_good_input_goes_on_to_temporal(
        self, tocsin: CliRunner, closed_port: int, args: list[str]
    ) -> None:
        result = tocsin.invoke(app, ["page", *args, "--as", "alice"])

        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: cannot reach Temporal at 127.0.0.1:{closed_port}")


SWAP_SIDES = [
    "--first-person",
    "alice",
    "--first-start",
    "2026-12-07T10:00:00-06:00",
    "--second-person",
    "bob",
    "--second-start",
    "2026-12-14T10:00:00-06:00",
]


class TestActingPerson:
    """An acting person the config does not know is refused before Temporal is asked:
    exit 2, naming the person and where the name came from."""

    @pytest.mark.parametrize(
        "command",
        [
            ["page", "create", "--team", "delivery", "--summary", "disk full"],
            ["page", "ack", "p1"],
            ["page", "escalate", "p1"],
            ["page", "resolve", "p1"],
            ["page", "unack", "p1"],
            ["page", "snooze", "p1", "--for", "1h"],
            ["page", "reassign", "p1", "--team", "ops"],
            ["page", "add-responders", "p1", "--target", "person:bob"],
            ["rotation", "override", "delivery", "--layer", "eoc", "--person", "bob"],
            ["rotation", "swap", "delivery", "--layer", "eoc", *SWAP_SIDES],
            ["rotation", "remove", "delivery", "ov-1"],
            ["shift", "note", "delivery", "all quiet"],
            ["incident", "update", "INC-1", "rolled back"],
        ],
        ids=lambda c: " ".join(c[:2]),
    )
    def test_unknown_as(self, tocsin: CliRunner, command: list[str]) -> None:
        result = tocsin.invoke(app, [*command, "--as", "zed"])

        assert no_traceback(result)
        assert result.exit_code == 2
        assert "unknown person 'zed'" in result.stderr
        assert "Temporal" not in result.output

    def test_unknown_tocsin_user(self, closed_port: int) -> None:
        """A TOCSIN_USER that is nobody in the config is named as coming from there."""
        runner = CliRunner(
            env={
                "TOCSIN_TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port}",
                "TOCSIN_USER": "zed",
                "TOCSIN_CONFIG": str(EXAMPLE),
            }
        )

        result = runner.invoke(app, ["page", "ack", "p1"])

        assert result.exit_code == 2
        assert result.stderr == (
            "error: TOCSIN_USER: unknown person 'zed' (not among the config's people)\n"
        )

    def test_known_person_goes_on_to_temporal(self, tocsin: CliRunner, closed_port: int) -> None:
        """A person of the config passes the check: the command then tries Temporal."""
        result = tocsin.invoke(app, ["page", "ack", "p1", "--as", "alice"])

        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: cannot reach Temporal at 127.0.0.1:{closed_port}")


class TestShiftReports:
    """``tocsin shift reports`` and ``tocsin shift report ID``: kept on-call reports, read
    from the database directly (no Temporal)."""

    @pytest.fixture
    def kept(self, tmp_path: Path) -> CliRunner:
        """A data directory whose store keeps three reports (see test_report_routes)."""

        async def fill() -> None:
            store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
            for report in REPORTS:
                await store.keep_shift_report(report)
            await store.close()

        asyncio.run(fill())
        return CliRunner(env={"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_DATABASE_URL": ""})

    def test_table(self, kept: CliRunner) -> None:
        """A header, then newest shift first: its start in the rotation's zone, who was on
        call, pages, incidents and who gets a recovery day."""
        result = kept.invoke(app, ["shift", "reports"])

        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        header = ["ID", "START", "ON CALL", "PAGES", "INCIDENTS", "RECOVERY DAY"]
        assert re.split(r"\s{2,}", lines[0]) == header
        assert [line.split()[0] for line in lines[1:]] == [r.id for r in REPORTS[::-1]]
        assert "2026-11-09 10:00 CST" in lines[1]
        assert "eoc bob, tm dana" in lines[1]
        assert "2 (1 off hours)" in lines[1]
        assert lines[1].endswith("alice, dana")

    def test_filters_and_json(self, kept: CliRunner) -> None:
        ops = kept.invoke(app, ["shift", "reports", "--rotation", "ops", "--json"])
        dana = kept.invoke(app, ["shift", "reports", "--person", "dana", "--limit", "1", "--json"])

        assert [r["id"] for r in json.loads(ops.stdout)] == [REPORTS[1].id]
        assert [r["id"] for r in json.loads(dana.stdout)] == [REPORTS[2].id]

    def test_one_report(self, kept: CliRunner) -> None:
        """The text as it was posted; --json has all of it."""
        text = kept.invoke(app, ["shift", "report", REPORTS[2].id or ""])
        whole = kept.invoke(app, ["shift", "report", REPORTS[2].id or "", "--json"])

        assert text.exit_code == 0, text.output
        assert text.stdout == f"{REPORTS[2].text}\n"
        assert json.loads(whole.stdout)["recovery"][1] == {
            "person": "dana",
            "off_hours_pages": [],
            "incidents": ["INC-7"],
        }

    def test_unknown_report(self, kept: CliRunner) -> None:
        result = kept.invoke(app, ["shift", "report", "shift-nope-20200101T0000Z"])

        assert result.exit_code == 2
        assert result.stderr == (
            "error: no on-call report 'shift-nope-20200101T0000Z' (see tocsin shift reports)\n"
        )

    def test_bad_since(self, kept: CliRunner) -> None:
        result = kept.invoke(app, ["shift", "reports", "--since", "soon"])

        assert result.exit_code == 2
        assert result.stderr.startswith("error: --since: ")

    def test_none_kept(self, tmp_path: Path) -> None:
        runner = CliRunner(env={"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_DATABASE_URL": ""})

        assert runner.invoke(app, ["shift", "reports"]).stdout == "no on-call reports\n"
