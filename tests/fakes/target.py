"""A loopback HTTP(S) target for uptime checks (aiohttp, real sockets): its status, body
and delay can be changed while it runs; it records the headers of each request."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Target:
    """Answers every request with ``status`` and ``body`` after ``delay`` seconds."""

    status: int = 200
    body: str = "ok"
    delay: float = 0.0
    tls: ssl.SSLContext | None = None
    port: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls)
        await site.start()
        server = site._server  # the port the OS chose
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start` again)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str = "health") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen_headers.append(dict(request.headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text=self.body)
