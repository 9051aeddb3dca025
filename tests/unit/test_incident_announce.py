"""Where a severity announces: chat channels and e-mail targets, checked in the config."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from starters.cli import app
from worker.config import ConfigError, load_config
from workflows.incident_config import AnnounceTarget, parse_announce, split_announce

BASE = """
people:
  alice: {name: Alice, email: alice@example.com}
  bob: {name: Bob}
teams:
  ops: {members: [alice, bob], escalation_policy: ops}
  nomail: {members: [bob], escalation_policy: ops}
escalation_policies:
  ops: {steps: [{targets: ["team:ops"], ack_timeout: 5m}]}
"""


def config_with(tmp_path: Path, announce: str) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(
        BASE + f"severities:\n  - {{name: P1}}\n  - {{name: P3, announce: {announce}}}\n"
    )
    return path


class TestTargets:
    @pytest.mark.parametrize(
        ("text", "target"),
        [
            ("#incidents", AnnounceTarget("chat", "#incidents")),
            ("C0INCIDENTS", AnnounceTarget("chat", "C0INCIDENTS")),
            ("slack:#incidents", AnnounceTarget("chat", "#incidents")),
            ("email:all@company.example", AnnounceTarget("email", "all@company.example")),
            ("email:ops", AnnounceTarget("email", "ops")),
        ],
    )
    def test_kinds(self, text: str, target: AnnounceTarget) -> None:
        """A bare channel and slack: are chat; email: is mail to an address, person or team."""
        assert parse_announce(text) == target

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("sms:+15550100", "unknown announce target kind 'sms'"),
            ("mailto:all@company.example", "unknown announce target kind 'mailto'"),
            ("email:", "names nothing after 'email:'"),
        ],
    )
    def test_refused(self, text: str, problem: str) -> None:
        with pytest.raises(ValueError, match=problem):
            parse_announce(text)

    def test_split(self) -> None:
        assert split_announce(["#incidents", "email:all@company.example", "slack:#company"]) == (
            ["#incidents", "#company"],
            ["all@company.example"],
        )


class TestConfigCheck:
    def test_email_targets_load(self, tmp_path: Path) -> None:
        """An address, a person with an address and a team with one are fine."""
        path = config_with(
            tmp_path,
            '["slack:#incidents", "email:all@company.example", "email:alice", "email:ops"]',
        )
        [_, p3] = load_config(path).severities
        assert p3.announce[1] == "email:all@company.example"

    @pytest.mark.parametrize(
        ("announce", "problem"),
        [
            (
                '["#incidents", "pager:ops"]',
                "severities.1.announce.1: unknown announce target kind 'pager' in 'pager:ops': "
                "use a chat channel (#incidents, or slack:#incidents) or email:ADDRESS, "
                "email:PERSON or email:TEAM",
            ),
            (
                '["email:carol"]',
                "severities.1.announce.0: email:carol: no person or team 'carol' "
                "(or write an address)",
            ),
            (
                '["email:bob"]',
                "severities.1.announce.0: email:bob: nobody there has an e-mail address",
            ),
            (
                '["email:nomail"]',
                "severities.1.announce.0: email:nomail: nobody there has an e-mail address",
            ),
        ],
    )
    def test_bad_targets_name_the_key(self, tmp_path: Path, announce: str, problem: str) -> None:
        path = config_with(tmp_path, announce)
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        assert any(problem in p for p in raised.value.problems), raised.value.problems

    def test_config_check_exits_2(self, tmp_path: Path) -> None:
        """``tocsin config check`` names the file and the key, exit 2."""
        path = config_with(tmp_path, '["email:all@company.example", "sms:+15550100"]')
        result = CliRunner().invoke(app, ["config", "check", str(path)])
        assert result.exit_code == 2, result.output
        assert f"{path}: severities.1.announce.1: unknown announce target kind 'sms'" in (
            result.stdout
        )
