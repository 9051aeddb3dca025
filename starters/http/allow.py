"""``405 Method Not Allowed`` that lists every method of the path.

Routes for one path live in different routers (``GET /api/pages`` and ``POST /api/pages``);
the router answers a wrong method from the first route that matched the path, so its
``Allow`` would name only that route's methods. The OpenAPI description knows them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class AllowedMethods:
    """ASGI middleware: the ``Allow`` header of a 405 from the described routes."""

    def __init__(self, app: ASGIApp, describe: Callable[[], dict[str, Any]]) -> None:
        self._app = app
        self._describe = describe
        self._table: list[tuple[re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self.methods(scope["path"])
                if allowed:
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"
                    ]
                    message = {**message, "headers": [*headers, (b"allow", allowed.encode())]}
            await send(message)

        await self._app(scope, receive, send_with_allow)

    def methods(self, path: str) -> str:
        """``GET, POST`` for a described path, or "" for one the description does not have."""
        if self._table is None:
            self._table = [
                (
                    re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"),
                    ", ".join(m.upper() for m in operations if m in _HTTP_METHODS),
                )
                for template, operations in self._describe().get("paths", {}).items()
            ]
        return next((allowed for pattern, allowed in self._table if pattern.match(path)), "")
