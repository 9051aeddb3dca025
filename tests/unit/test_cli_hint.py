"""The ``tocsin`` command printed in the banner, notifications and link pages works when
pasted where Tocsin was started: ``.venv/bin/tocsin`` after ``make run``, ``tocsin`` when
it is on the PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.cli_hint import tocsin_command
from activities.notify import render_message
from workflows.models import NotifyInput


def venv(root: Path) -> Path:
    """A repo with ``.venv/bin/tocsin``; returns the program."""
    program = root / ".venv" / "bin" / "tocsin"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return program


class TestTocsinCommand:
    """The command names this very program as the shell would find it from the cwd."""

    def test_make_run(self, tmp_path: Path) -> None:
        """`make run` starts `.venv/bin/tocsin` from the repo: printed relative to it."""
        venv(tmp_path)

        assert tocsin_command(".venv/bin/tocsin", tmp_path, "/usr/bin") == ".venv/bin/tocsin"

    def test_absolute_argv_inside_the_repo(self, tmp_path: Path) -> None:
        program = venv(tmp_path)

        assert tocsin_command(str(program), tmp_path, "/usr/bin") == ".venv/bin/tocsin"

    def test_on_the_path(self, tmp_path: Path) -> None:
        """The Docker image (or an activated venv): plain `tocsin`."""
        program = venv(tmp_path)

        assert tocsin_command(str(program), tmp_path, str(program.parent)) == "tocsin"

    def test_another_tocsin_on_the_path(self, tmp_path: Path) -> None:
        """A different `tocsin` first on the PATH is not this one: the path is printed."""
        program = venv(tmp_path / "repo")
        other = venv(tmp_path / "other")

        command = tocsin_command(str(program), tmp_path / "repo", str(other.parent))

        assert command == ".venv/bin/tocsin"

    def test_outside_the_cwd(self, tmp_path: Path) -> None:
        program = venv(tmp_path / "repo")
        (tmp_path / "elsewhere").mkdir()

        assert tocsin_command(str(program), tmp_path / "elsewhere", "/usr/bin") == str(program)

    def test_started_from_the_root(self, tmp_path: Path) -> None:
        """A service started in / prints the absolute path: nobody pastes in /."""
        program = venv(tmp_path)

        assert tocsin_command(str(program), Path("/"), "/usr/bin") == str(program)

    def test_in_the_cwd_itself(self, tmp_path: Path) -> None:
        program = tmp_path / "tocsin"
        program.write_text("#!/bin/sh\n")

        assert tocsin_command("tocsin", tmp_path, "/usr/bin") == "./tocsin"

    def test_quoted(self, tmp_path: Path) -> None:
        program = venv(tmp_path / "my repo")

        assert tocsin_command(str(program), tmp_path, "/usr/bin") == "'my repo/.venv/bin/tocsin'"

    def test_not_the_tocsin_program(self, tmp_path: Path) -> None:
        """Under pytest or `python -m` nothing says where tocsin is: plain `tocsin`."""
        assert tocsin_command(str(tmp_path / "pytest"), tmp_path, "/usr/bin") == "tocsin"


class TestNotification:
    def test_ack_command_is_this_tocsin(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A notification sent by a `make run` stack prints `.venv/bin/tocsin page ack …`."""
        venv(tmp_path)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr("sys.argv", [".venv/bin/tocsin", "dev"])
        monkeypatch.setenv("PATH", "/usr/bin")
        request = NotifyInput(
            page_id="db-down",
            team="delivery",
            summary="Disk full",
            person="alice",
            person_name="Alice",
            method="console",
            step=1,
            step_count=3,
        )

        message = render_message(request, "http://127.0.0.1:8080")

        assert message.ack_command == ".venv/bin/tocsin page ack db-down --as alice"
        assert "  .venv/bin/tocsin page ack db-down --as alice\n" in message.body
