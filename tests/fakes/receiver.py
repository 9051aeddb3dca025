"""A loopback HTTP receiver for Apprise ``json://`` notifications (a real socket, real HTTP)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

_PAGE = re.compile(r"^Page:\s+(\S+)$", re.MULTILINE)
_STEP = re.compile(r"^Step:\s+(\d+) of \d+$", re.MULTILINE)


@dataclass
class Delivery:
    path: str
    body: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))

    @property
    def page_id(self) -> str | None:
        match = _PAGE.search(self.message)
        return match.group(1) if match else None

    @property
    def step(self) -> int | None:
        match = _STEP.search(self.message)
        return int(match.group(1)) if match else None


@dataclass
class Receiver:
    """Answers every POST with 200 (or ``fail_status`` while set) and records the JSON body."""

    deliveries: list[Delivery] = field(default_factory=list)
    fail_status: int | None = None
    # Seconds to wait before answering (a slow receiver); the delivery is recorded first.
    delay: float = 0.0
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def for_page(self, page_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.page_id == page_id]

    async def wait_for(self, predicate: Any, within: float = 15.0) -> list[Delivery]:
        """Wait until ``predicate(deliveries)`` is true; return the deliveries."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: predicate(self.deliveries)), within
            )
        return self.deliveries

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in header_lines if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.fail_status or 200
            if status == 200:
                async with self._arrived:
                    self.deliveries.append(Delivery(request_line.split()[1], json.loads(body)))
                    self._arrived.notify_all()
            reason = "OK" if status == 200 else "Error"
            if self.delay:
                await asyncio.sleep(self.delay)
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()
