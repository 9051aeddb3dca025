"""``tocsin silence``: set and list silences on the server's database; bad input is exit 2
naming the option."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starters.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    shutil.copy(EXAMPLE, tmp_path / "tocsin.yaml")
    return {
        "TOCSIN_CONFIG": str(tmp_path / "tocsin.yaml"),
        "TOCSIN_DATA_DIR": str(tmp_path / "data"),
        "TOCSIN_GITSERVER_EVENTS_KEY": "k",
        "TOCSIN_USER": "alice",
    }


class TestSilenceCli:
    def test_add_then_list(self, env: dict[str, str]) -> None:
        """The silence is recorded as set by the acting person, with the server CLI."""
        runner = CliRunner()
        made = runner.invoke(
            app,
            ["silence", "add", "--team", "delivery", "--reason", "deploy", "--for", "2h"],
            env=env,
        )
        assert made.exit_code == 0, made.output
        listed = runner.invoke(app, ["silence", "list", "--json"], env=env)
        [silence] = json.loads(listed.stdout)
        assert (silence["teams"], silence["created_by"], silence["created_via"]) == (
            ["delivery"],
            "alice",
            "server CLI",
        )

    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["--team", "delivery", "--reason", "x"], "--for/--until: a silence needs an end"),
            (
                ["--team", "delivery", "--reason", "x", "--for", "8d"],
                "--for/--until: a silence may last at most 1w",
            ),
            (["--team", "delivery", "--reason", "x", "--until", "2001-01-01T00:00:00Z"], "--until"),
            (
                ["--service", "nope", "--reason", "x", "--for", "1h"],
                "--service: unknown service 'nope'",
            ),
            (["--reason", "x", "--for", "1h"], "--service/--team/--match"),
        ],
    )
    def test_bad_input(self, env: dict[str, str], args: list[str], says: str) -> None:
        refused = CliRunner().invoke(app, ["silence", "add", *args], env=env)
        assert refused.exit_code == 2
        assert says in refused.stderr
