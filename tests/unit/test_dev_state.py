"""A ``tocsin`` command run beside a running ``tocsin dev`` finds its config, data dir and
Temporal server through ``.tocsin/dev.json``; a file left by a dead stack is ignored; and
``page ack`` goes ahead while the config file has a syntax error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starters.cli import app
from starters.cli_common import settings_from
from starters.dev_state import (
    DevState,
    live_state,
    process_start,
    read_state,
    remove_state,
    state_path,
    write_state,
)
from tests.conftest import free_port
from worker.logging import configure_logging

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
VARIABLES = ("TOCSIN_CONFIG", "TOCSIN_DATA_DIR", "TOCSIN_TEMPORAL_ADDRESS", "TOCSIN_TASK_QUEUE")


def state(data_dir: Path, pid: int, config: Path = EXAMPLE) -> DevState:
    return DevState(
        pid=pid,
        started=process_start(pid),
        config=config,
        data_dir=data_dir.resolve(),
        temporal_address="127.0.0.1:17233",
        temporal_namespace="default",
        task_queue="tocsin",
        api_url="http://127.0.0.1:18080",
        ports={"Temporal": 17233},
    )


@pytest.fixture
def beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no tocsin.yaml and none of the caller's Tocsin settings; cwd."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tocsin").mkdir()
    return tmp_path


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


class TestStateFile:
    """Written whole, read back, and removed only by the stack that wrote it."""

    def test_round_trip(self, tmp_path: Path) -> None:
        written = state(tmp_path, os.getpid())

        write_state(written)

        assert read_state(tmp_path) == written
        assert live_state(tmp_path) == written
        assert [p.name for p in tmp_path.iterdir()] == ["dev.json"]

    def test_dead_pid_ignored(self, tmp_path: Path, dead_pid: int) -> None:
        write_state(state(tmp_path, dead_pid))

        assert live_state(tmp_path) is None

    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
    def test_reused_pid_ignored(self, tmp_path: Path) -> None:
        """A live pid that started at another time is another process."""
        stale = state(tmp_path, os.getpid()).model_copy(update={"started": 1})
        write_state(stale)

        assert live_state(tmp_path) is None

    def test_garbage_ignored(self, tmp_path: Path) -> None:
        state_path(tmp_path).write_text("{not json")

        assert live_state(tmp_path) is None

    def test_removed_only_by_its_stack(self, tmp_path: Path) -> None:
        write_state(state(tmp_path, os.getpid()))

        remove_state(tmp_path, os.getpid() + 1)
        assert state_path(tmp_path).exists()
        remove_state(tmp_path, os.getpid())
        assert not state_path(tmp_path).exists()


class TestFindsTheStack:
    """No --config, no TOCSIN_CONFIG, no tocsin.yaml here: the live stack's settings."""

    def test_uses_the_running_stack(self, beside: Path, capsys: pytest.CaptureFixture[str]) -> None:
        write_state(state(beside / ".tocsin", os.getpid()))

        settings = settings_from(config=None)
        settings_from()  # a command builds settings more than once: one note

        assert settings.config == EXAMPLE
        assert settings.data_dir == (beside / ".tocsin").resolve()
        assert settings.temporal_address == "127.0.0.1:17233"
        err = capsys.readouterr().err
        assert err.count("note: using the config of the running tocsin dev") == 1
        assert str(EXAMPLE) in err

    def test_dead_stack_ignored(self, beside: Path, dead_pid: int) -> None:
        write_state(state(beside / ".tocsin", dead_pid))

        settings = settings_from()

        assert settings.config == Path("tocsin.yaml")
        assert settings.temporal_address == "127.0.0.1:7233"

    @pytest.mark.parametrize("chosen", ["option", "env", "file"])
    def test_a_chosen_config_wins(
        self, beside: Path, monkeypatch: pytest.MonkeyPatch, chosen: str
    ) -> None:
        write_state(state(beside / ".tocsin", os.getpid()))
        mine = beside / "mine.yaml"
        if chosen == "env":
            monkeypatch.setenv("TOCSIN_CONFIG", str(mine))
        if chosen == "file":
            mine = Path("tocsin.yaml")
            mine.write_text("people: {}\n")

        settings = settings_from(config=mine if chosen == "option" else None)

        assert settings.config == mine
        assert settings.temporal_address == "127.0.0.1:7233"

    def test_env_address_wins(self, beside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write_state(state(beside / ".tocsin", os.getpid()))
        monkeypatch.setenv("TOCSIN_TEMPORAL_ADDRESS", "127.0.0.1:1")

        settings = settings_from()

        assert settings.config == EXAMPLE
        assert settings.temporal_address == "127.0.0.1:1"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The command sets up logging on the runner's stderr, closed once it returns."""
    yield
    configure_logging("console", "info")


class TestAckWithABrokenConfig:
    """A config with a YAML syntax error: `page ack` warns and goes on to Temporal (here
    none answers: exit 1, not the config's exit 2); commands that need it still exit 2."""

    def env(self, tmp_path: Path) -> dict[str, str]:
        config = tmp_path / "tocsin.yaml"
        config.write_text(EXAMPLE.read_text() + "\npeople: [unclosed\n")
        return {
            "TOCSIN_CONFIG": str(config),
            "TOCSIN_DATA_DIR": str(tmp_path / "data"),
            "TOCSIN_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        }

    def test_ack_goes_ahead(self, tmp_path: Path, restore_logging: None) -> None:
        result = CliRunner(env=self.env(tmp_path)).invoke(
            app, ["page", "ack", "db-down", "--as", "nobody-checked"]
        )

        assert result.exit_code == 1, result.stderr
        assert f"warning: {tmp_path / 'tocsin.yaml'} does not load" in result.stderr
        assert "running stack keeps its last good config" in result.stderr
        assert "cannot reach Temporal" in result.stderr

    def test_create_refused(self, tmp_path: Path, restore_logging: None) -> None:
        result = CliRunner(env=self.env(tmp_path)).invoke(
            app, ["page", "create", "--team", "delivery", "--summary", "x", "--as", "alice"]
        )

        assert result.exit_code == 2
        assert str(tmp_path / "tocsin.yaml") in result.stderr
        assert "warning" not in result.stderr
