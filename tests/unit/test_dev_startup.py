"""``tocsin dev`` fails fast: it talks only to the Temporal server it started, and a server
that exits makes it stop with the reason and the server's log, before any banner."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import starters.dev
from starters.dev import StackFailed, Startup, _connect_when_up, listener_owned_by, run_dev
from tests.conftest import free_port
from worker.config import ConfigFile
from worker.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A child that listens on the port given, then waits to be killed.
LISTENER = """
import socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
print("listening", flush=True)
time.sleep(60)
"""


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port this test process listens on (not the child's)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def listener_child() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", LISTENER, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "listening\n"
    yield child, port
    child.kill()
    child.wait()


@LINUX
class TestListenerOwner:
    """The listener on 127.0.0.1:port is recognised as a given process's own socket."""

    def test_the_childs(self, listener_child: tuple[subprocess.Popen[str], int]) -> None:
        child, port = listener_child

        assert listener_owned_by(port, child.pid) is True
        assert listener_owned_by(port, os.getpid()) is False

    def test_anothers(self, listening: int) -> None:
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert listener_owned_by(listening, sleeper.pid) is False
            assert listener_owned_by(listening, os.getpid()) is True
        finally:
            sleeper.kill()
            sleeper.wait()

    def test_nothing_listens(self) -> None:
        assert listener_owned_by(free_port(), os.getpid()) is False


def script(tmp_path: Path, body: str) -> Path:
    """A stand-in for the ``temporal`` binary (it ignores its arguments)."""
    path = tmp_path / "temporal"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def settings(tmp_path: Path, **values: object) -> Settings:
    ports = {
        "temporal_port": free_port(),
        "ui_port": free_port(),
        "api_port": free_port(),
        "worker_metrics_port": free_port(),
    }
    return Settings(data_dir=tmp_path / "data", **{**ports, **values})


@LINUX
class TestConnectsOnlyToItsChild:
    """While another process holds the Temporal port, no connection is made; when the
    child then exits (address in use), startup fails with its log."""

    async def test_foreign_listener(
        self, tmp_path: Path, listening: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        connected: list[Settings] = []

        async def connect(settings: Settings, **_: object) -> object:
            connected.append(settings)
            return object()

        monkeypatch.setattr(starters.dev, "connect", connect)
        chosen = settings(tmp_path, temporal_port=listening)
        log = tmp_path / "temporal.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                str(script(tmp_path, "sleep 1; echo 'bind: address already in use'; exit 1")),
                stdout=out,
            )
        server = Startup(process, log, 0)

        with pytest.raises(StackFailed) as caught:
            await _connect_when_up(chosen, server, asyncio.Event())

        assert connected == []
        assert "exited with code 1 while starting" in str(caught.value)
        assert "bind: address already in use" in str(caught.value)

    async def test_own_listener(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        connected: list[Settings] = []

        async def connect(settings: Settings, **_: object) -> object:
            connected.append(settings)
            return object()

        monkeypatch.setattr(starters.dev, "connect", connect)
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LISTENER, str(port), stdout=asyncio.subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            await process.stdout.readline()
            chosen = settings(tmp_path, temporal_port=port)

            client = await _connect_when_up(
                chosen, Startup(process, tmp_path / "x.log", 0), asyncio.Event()
            )

            assert client is not None
            assert connected == [chosen]
        finally:
            process.kill()
            await process.wait()


class TestServerExitsAtStart:
    """The Temporal server exits while starting: exit non-zero (StackFailed), the reason
    and the tail of this run's temporal.log, no banner, no state file, within seconds."""

    async def test_reason_and_log(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        binary = script(tmp_path, "echo 'Error: listen tcp: bind: address already in use'; exit 3")
        monkeypatch.setattr(starters.dev, "temporal_binary", lambda: str(binary))
        chosen = settings(tmp_path)
        chosen.data_dir.mkdir()
        (chosen.data_dir / "temporal.log").write_text("an earlier run's line\n")
        started = time.monotonic()

        with pytest.raises(StackFailed) as caught:
            await run_dev(chosen, ConfigFile(EXAMPLE))

        assert time.monotonic() - started < 10
        message = str(caught.value)
        assert message.startswith("the Temporal dev server exited with code 3 while starting")
        assert "temporal.log:\n  Error: listen tcp: bind: address already in use" in message
        assert "earlier run" not in message
        assert "Tocsin is running" not in capsys.readouterr().out
        assert not (chosen.data_dir / "dev.json").exists()
