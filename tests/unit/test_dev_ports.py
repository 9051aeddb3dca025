"""``tocsin dev`` owns what it runs: taken ports are refused, and its child dies with it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starters.cli import app
from starters.dev import PortInUse, check_ports, dev_ports, die_with_parent, port_in_use
from tests.conftest import free_port
from worker.logging import configure_logging
from worker.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_settings(tmp_path: Path, **ports: int) -> Settings:
    chosen = {
        "temporal_port": free_port(),
        "ui_port": free_port(),
        "api_port": free_port(),
        "worker_metrics_port": free_port(),
    }
    return Settings(data_dir=tmp_path / "data", **{**chosen, **ports})


class TestPortInUse:
    """A port counts as taken when something listens on it or holds it bound."""

    def test_free(self) -> None:
        assert not port_in_use(free_port())

    def test_listening(self, listening: int) -> None:
        assert port_in_use(listening)

    def test_bound_not_listening(self) -> None:
        """A bound socket (no SO_REUSEADDR) keeps a server from binding: taken too."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            assert port_in_use(sock.getsockname()[1])


class TestCheckPorts:
    """Before anything starts, each port is checked; the message says what to do."""

    def test_all_free(self, tmp_path: Path) -> None:
        check_ports(free_settings(tmp_path))

    @pytest.mark.parametrize(
        ("field", "what", "setting", "holder"),
        [
            ("temporal_port", "Temporal", "TOCSIN_TEMPORAL_PORT", "Temporal server Tocsin did not"),
            ("ui_port", "Temporal UI", "TOCSIN_UI_PORT", "Temporal server Tocsin did not"),
            ("api_port", "API", "TOCSIN_API_PORT", "`tocsin api`"),
            (
                "worker_metrics_port",
                "worker metrics",
                "TOCSIN_WORKER_METRICS_PORT",
                "`tocsin worker`",
            ),
        ],
    )
    def test_taken(
        self, tmp_path: Path, listening: int, field: str, what: str, setting: str, holder: str
    ) -> None:
        """The message names the port, what it was for, who may hold it, and the setting."""
        with pytest.raises(PortInUse) as caught:
            check_ports(free_settings(tmp_path, **{field: listening}))

        message = str(caught.value)
        assert f"port {listening} ({what}) is already in use" in message
        assert "another `tocsin dev`" in message
        assert holder in message
        assert message.endswith(f"stop it, or set {setting}")

    def test_worker_metrics_off(self, tmp_path: Path) -> None:
        """TOCSIN_WORKER_METRICS_PORT=0: no metrics port, none checked."""
        settings = free_settings(tmp_path, worker_metrics_port=0)

        assert [p.what for p in dev_ports(settings)] == ["Temporal", "Temporal UI", "API"]
        check_ports(settings)

    def test_same_port_twice(self, tmp_path: Path) -> None:
        port = free_port()

        with pytest.raises(PortInUse, match=f"both set to port {port}: set TOCSIN_UI_PORT"):
            check_ports(free_settings(tmp_path, temporal_port=port, ui_port=port))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The command sets up logging on the runner's stderr, closed once it returns."""
    yield
    configure_logging("console", "info")


class TestDevCommand:
    def test_taken_port_exits_2_before_starting(
        self, tmp_path: Path, listening: int, restore_logging: None
    ) -> None:
        """`tocsin dev` on a taken port: exit 2 (bad input), the message, nothing created."""
        data = tmp_path / "data"
        runner = CliRunner(
            env={
                "TOCSIN_CONFIG": str(EXAMPLE),
                "TOCSIN_DATA_DIR": str(data),
                "TOCSIN_TEMPORAL_PORT": str(listening),
                "TOCSIN_UI_PORT": str(free_port()),
                "TOCSIN_API_PORT": str(free_port()),
                "TOCSIN_WORKER_METRICS_PORT": str(free_port()),
            }
        )

        result = runner.invoke(app, ["dev"])

        assert result.exit_code == 2
        assert f"error: port {listening} (Temporal) is already in use" in result.stderr
        assert "TOCSIN_TEMPORAL_PORT" in result.stderr
        assert not data.exists()


# A parent that starts `sleep` as `tocsin dev` starts the Temporal server, prints its pid,
# and waits to be killed.
PARENT = """
import subprocess, sys, time
from starters.dev import die_with_parent
child = subprocess.Popen(["sleep", "60"], start_new_session=True, preexec_fn=die_with_parent())
print(child.pid, flush=True)
time.sleep(60)
"""


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its new parent has not reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


class TestDieWithParent:
    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux signal")
    def test_child_dies_when_parent_is_killed(self) -> None:
        """SIGKILL of the parent (no cleanup runs) still takes the child down at once."""
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, cwd=EXAMPLE.parent
        )
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert not gone(child)
            parent.send_signal(signal.SIGKILL)
            parent.wait(timeout=10)
            deadline = time.monotonic() + 5
            while not gone(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert gone(child)
        finally:
            parent.kill()
            parent.wait()

    def test_none_elsewhere(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without Linux's parent-death signal the server starts unarmed (no error)."""
        monkeypatch.setattr(sys, "platform", "darwin")

        assert die_with_parent() is None
