"""A loopback HTTP receiver that keeps each request's exact body bytes (to check signatures)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    """One request: path, headers (lower-case names) and the body exactly as sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class SignedReceiver:
    """Answers every request with ``status``, ``body`` and ``headers`` after ``delay`` seconds."""

    status: int = 200
    body: str = "rollback started"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stopping.set()  # releases handlers still holding back an answer
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, path: str = "rollback") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in header_lines if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            method, path, _ = request_line.split(" ", 2)
            self.received.append(Received(method, path, headers, body))
            if self.delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.delay)
            payload = self.body.encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
            writer.write(
                f"HTTP/1.1 {self.status} Status\r\nContent-Type: text/plain\r\n{extra}"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up (a timeout test); nothing to answer
        finally:
            writer.close()
