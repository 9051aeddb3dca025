"""Serving the FastAPI app with uvicorn inside our own event loop and signal handling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the caller owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_api(app: Starlette, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set."""
    server = _Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))

    async def watch() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(watch())
    try:
        try:
            await server.serve()
        except SystemExit:
            # uvicorn exits the process when it cannot bind; report it as an error instead.
            server.started = False
        if not server.started:
            raise OSError(f"could not serve the API on {host}:{port} (port in use?)")
    finally:
        watcher.cancel()
