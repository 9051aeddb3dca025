"""``tocsin dev`` as a real process: its Temporal server dies with it, even on SIGKILL, and it
refuses a port something else holds instead of attaching to it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from starters.dev import port_in_use
from starters.dev_state import live_state, read_state
from tests.conftest import REPO, binary
from tests.e2e.conftest import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

STARTUP = 30.0  # seconds; about 5 on an idle machine


def hermetic_env(tmp_path: Path) -> dict[str, str]:
    """This test's data dir, config and free ports; none of the caller's Tocsin settings."""
    config = tmp_path / "tocsin.yaml"
    shutil.copy(REPO / "tocsin.example.yaml", config)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TOCSIN_", "SLACK_", "GITHUB_", "SMTP_"))
    }
    return {
        **env,
        "TOCSIN_CONFIG": str(config),
        "TOCSIN_DATA_DIR": str(tmp_path / "data"),
        "TOCSIN_TEMPORAL_PORT": str(free_port()),
        "TOCSIN_UI_PORT": str(free_port()),
        "TOCSIN_API_PORT": str(free_port()),
        "TOCSIN_WORKER_METRICS_PORT": str(free_port()),
        "TOCSIN_LOG_FORMAT": "json",
    }


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its new parent has not reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_healthy(process: subprocess.Popen[bytes], api_port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"tocsin dev did not become healthy: {log.read_text()[-2000:]}")


@dataclass
class Dev:
    """A running ``tocsin dev`` and the processes it started (known before a kill)."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    started: list[int] = field(default_factory=list)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    """A ``tocsin dev`` process; it and its children are killed at the end, whatever happens."""
    env = hermetic_env(tmp_path)
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary("tocsin"), "dev"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Dev(process, env, log)
    try:
        yield running
    finally:
        if process.poll() is None:
            running.started += children(process.pid)
        process.kill()
        process.wait()
        for pid in running.started:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


class TestOwnsItsChildren:
    def test_temporal_dies_with_a_killed_dev(self, dev: Dev) -> None:
        """SIGKILL of `tocsin dev` (nothing of it runs after) still ends its Temporal server
        within seconds, and frees its ports for the next start."""
        process, env = dev.process, dev.env
        wait_healthy(process, int(env["TOCSIN_API_PORT"]), dev.log)
        data = Path(env["TOCSIN_DATA_DIR"])
        deadline = time.monotonic() + STARTUP
        while live_state(data) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # Written with the banner, once the worker polls: the CLI finds the stack by it.
        state = live_state(data)
        assert state is not None, dev.log.read_text()[-2000:]
        assert state.pid == process.pid
        assert state.temporal_address == f"127.0.0.1:{env['TOCSIN_TEMPORAL_PORT']}"
        assert "Tocsin is running" in dev.log.read_text()
        dev.started += children(process.pid)
        assert len(dev.started) == 1, dev.started
        server = dev.started[0]
        assert Path(f"/proc/{server}/comm").read_text().strip() == "temporal"
        # A single process: nothing forked from the server could escape the signal.
        assert children(server) == []

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not gone(server) and time.monotonic() < deadline:
            time.sleep(0.05)

        assert gone(server), "the Temporal server outlived tocsin dev"
        # The state file a killed stack leaves names a dead process: ignored.
        assert read_state(data) is not None
        assert live_state(data) is None
        # A killed Go process shows as a zombie once its main thread has exited; its other
        # threads (and so its sockets) may take a moment more.
        ports = {
            name: int(env[name])
            for name in ("TOCSIN_TEMPORAL_PORT", "TOCSIN_UI_PORT", "TOCSIN_API_PORT")
        }
        while any(port_in_use(p) for p in ports.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for name, port in ports.items():
            assert not port_in_use(port), name

    def test_refuses_a_port_it_did_not_take(self, tmp_path: Path) -> None:
        """A foreign listener on the Temporal port: exit 2 within 10 s, with the port and
        what to do, and no banner."""
        env = hermetic_env(tmp_path)
        with socket.socket() as foreign:
            foreign.bind(("127.0.0.1", 0))
            foreign.listen()
            port = foreign.getsockname()[1]
            env["TOCSIN_TEMPORAL_PORT"] = str(port)
            started = time.monotonic()
            result = subprocess.run(
                [binary("tocsin"), "dev"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )

        elapsed = time.monotonic() - started
        assert result.returncode == 2
        assert elapsed < 10, elapsed
        assert "Tocsin is running" not in result.stdout
        assert f"port {port} (Temporal) is already in use" in result.stderr
        assert "stop it, or set TOCSIN_TEMPORAL_PORT" in result.stderr
        assert not (tmp_path / "data").exists()
