"""``tocsin incident``: bad input is refused (exit 2) before Temporal is tried."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from starters.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@pytest.fixture
def tocsin(closed_port: int) -> CliRunner:
    """A runner acting as bob, with the example config and a Temporal that refuses."""
    return CliRunner(
        env={
            "TOCSIN_TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port}",
            "TOCSIN_USER": "bob",
            "TOCSIN_CONFIG": str(EXAMPLE),
        }
    )


def refused_before_temporal(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert "Temporal" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


class TestDeclare:
    def test_needs_actor(self, tocsin: CliRunner) -> None:
        """Without --as or TOCSIN_USER, declare says to pass --as."""
        result = tocsin.invoke(
            app, ["incident", "declare", "--title", "x"], env={"TOCSIN_USER": ""}
        )
        refused_before_temporal(result, "pass --as")

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            (
                ["--severity", "sev9"],
                "unknown severity 'sev9' (severities: critical, major, minor)",
            ),
            (["--service", "nope"], "unknown service 'nope' (services: database, gitserver"),
            (["--as", "mallory"], "unknown person 'mallory'"),
            (["--title", ""], "--title:"),
        ],
    )
    def test_unknown_names(self, tocsin: CliRunner, args: list[str], fragment: str) -> None:
        """Unknown severities, services and people are named, with what is configured."""
        result = tocsin.invoke(app, ["incident", "declare", "--title", "Git is down", *args])
        refused_before_temporal(result, fragment)

    def test_valid_declaration_tries_temporal(self, tocsin: CliRunner, closed_port: int) -> None:
        """A valid declaration gets as far as Temporal; unreachable is exit 1, in one line."""
        result = tocsin.invoke(
            app, ["incident", "declare", "--title", "Git is down", "--severity", "critical"]
        )
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: cannot reach Temporal at 127.0.0.1:{closed_port}")


class TestActions:
    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            (["show", "nope"], "no incident 'nope' (incident ids look like INC-42)"),
            (["lead", "INC-x", "alice"], "no incident 'INC-x'"),
            (["lead", "INC-4", "mallory"], "unknown person 'mallory'"),
            (["messenger", "INC-4", "alice", "--as", "mallory"], "unknown person 'mallory'"),
            (["severity", "INC-4", "sev9"], "unknown severity 'sev9'"),
            (["update", "INC-4", ""], "--text:"),
            (["rollback", "INC-4"], "give either a CHOICE"),
            (["edit", "INC-4"], "give --title, --description or --summary"),
            (["note", "INC-4", ""], "--text:"),
            (["edit", "INC-4", "--title", ""], "--title:"),
            (["rollback", "INC-4", "roll_back", "--outcome", "resolved"], "not both"),
            (["rollback", "INC-4", "--outcome", "resolved", "--confirm"], "--confirm goes with"),
            (["rollback", "INC-4", "yolo"], "yolo"),
            (["resolve", "INC-4"], "--summary"),
            (["resolve", "INC-4", "--summary", "x", "--resolution", "meh"], "meh"),
            (["list", "--severity", "sev9"], "unknown severity 'sev9'"),
            (["list", "--status", "open"], "open"),
        ],
    )
    def test_bad_input(self, tocsin: CliRunner, args: list[str], fragment: str) -> None:
        """Unknown incidents, people, severities and choices exit 2 without trying Temporal."""
        result = tocsin.invoke(app, ["incident", *args])
        refused_before_temporal(result, fragment)

    def test_lowercase_id_is_accepted(self, tocsin: CliRunner, closed_port: int) -> None:
        """``inc-4`` (as in the channel name) is a valid id: the command goes on to Temporal."""
        result = tocsin.invoke(app, ["incident", "show", "inc-4"])
        assert result.exit_code == 1
        assert "cannot reach Temporal" in result.stderr
