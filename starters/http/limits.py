"""A request body size limit enforced before the body is read into memory."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A route's own answer to a body over the limit: (status, JSON body) for a path, or None
# for the default 413.
TooLarge = Callable[[str, int], tuple[int, dict[str, Any]] | None]


class BodyLimit:
    """ASGI middleware: 413 for bodies over ``max_bytes``, declared or streamed.

    A declared ``Content-Length`` is checked up front (the HTTP server holds the client to
    it). A chunked body is read here, up to the limit, and replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, answer: TooLarge | None = None) -> None:
        self._app = app
        self._max = max_bytes
        self._answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self._max:
                await self._refuse(scope, send)
                return
            await self._app(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self._max:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self._app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        answer = self._answer(scope["path"], self._max) if self._answer else None
        status, content = answer or (
            413,
            {"detail": f"request body is larger than the limit of {self._max} bytes"},
        )
        body = json.dumps(content).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
