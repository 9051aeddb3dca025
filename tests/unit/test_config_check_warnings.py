"""``tocsin config check`` prints rotation warnings on stderr and still succeeds."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from starters.cli import app

WARNED = """\
people:
  alice: {name: Alice, contact: []}
  bob: {name: Bob}
  cy: {name: Cy, notify: [{after: 0m, via: slack}, {after: 5m, via: email}]}
teams:
  delivery: {members: [alice, bob], rotation: delivery, escalation_policy: delivery}
rotations:
  delivery:
    timezone: America/Chicago
    handoff: {weekday: monday, time: "10:00"}
    shift: 1w
    start: 2026-01-01
    layers: {eoc: [alice, bob], tm: [bob, cy]}
escalation_policies:
  delivery:
    steps:
      - {targets: ["rotation:delivery/eoc"], ack_timeout: 10m}
"""


class TestConfigCheckWarnings:
    def test_warnings_on_stderr_exit_zero(self, tmp_path: Path) -> None:
        """An unreachable person and a late first handoff are warned about; the check passes."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(WARNED)

        result = CliRunner().invoke(app, ["config", "check", str(path)])

        assert result.exit_code == 0
        assert result.stdout == "ok\n"
        assert result.stderr.splitlines() == [
            "warning: rotation delivery: nobody is on call from its start date 2026-01-01 "
            "until its first handoff Mon 2026-01-05 10:00 CST (the start is not a monday)",
            "warning: rotation delivery: alice (eoc) has no working contact method: "
            "the contact list is empty",
            "warning: rotation delivery: cy (tm) has no working contact method: "
            "'slack' needs people.cy.slack, 'email' needs people.cy.email",
        ]
