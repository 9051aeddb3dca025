"""What every JSON route checks before FastAPI parses a body: who is calling, then whether
the body is JSON Tocsin will parse at all (not nested deeper than :data:`MAX_DEPTH`, no
``NaN``/``Infinity``).

Python's JSON parser recurses once per nesting level: a body of 200,000 brackets is a
``RecursionError`` and a 500, and a few hundred levels already cost the renderers and
the history dearly. Alert payloads are 3 to 6 levels deep; 32 is room enough for any
``custom_details`` a monitoring tool sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

log = structlog.get_logger("tocsin.api")

MAX_DEPTH = 32

# A JSON string (escapes included, possessive: linear time), a bracket, a non-finite
# number, or a lone quote: a string that never ends, which the parser will name.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]|NaN|Infinity|"')
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE = ord('"')


def json_problem(body: bytes, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``body`` must not be parsed, or None; only scans, never builds objects.

    Syntax errors are left to the parser, which says where they are.
    """
    depth = 0
    for match in _TOKEN.finditer(body):
        first = match.group()[0]
        if first == _QUOTE:
            if match.end() - match.start() == 1:
                return None
        elif first in _OPEN:
            depth += 1
            if depth > max_depth:
                return f"body is nested more than {max_depth} levels deep"
        elif first in _CLOSE:
            depth -= 1
        else:
            return "body is not valid JSON: NaN and Infinity are not JSON numbers"
    return None


class Gate:
    """A credential check that runs before the body is read (see :class:`GuardedRoute`).

    Subclasses implement :meth:`check`; FastAPI also calls the gate as a dependency (for
    the OpenAPI description), which then does not check twice.
    """

    async def __call__(self, request: Request) -> None:
        passed: set[int] = request.scope.setdefault("tocsin.gates", set())
        if id(self) not in passed:
            await self.check(request)
            passed.add(id(self))

    async def check(self, request: Request) -> None:
        """Raise ``HTTPException(401)`` unless the request carries the credential."""
        raise NotImplementedError


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class GuardedRoute(APIRoute):
    """A route whose gates run first, then the body check, and only then FastAPI's parsing.

    (FastAPI itself parses the body before it resolves any dependency, so a malformed
    body from a caller without credentials would be answered 422 instead of 401.)
    """

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()
        gates = [d.dependency for d in self.dependencies if isinstance(d.dependency, Gate)]

        async def guarded(request: Request) -> Response:
            for gate in gates:
                await gate(request)
            problem = json_problem(await request.body())
            if problem is not None:
                log.info("request refused", path=request.url.path, status=400, reason=problem)
                return self.refuse(problem)
            return await handle(request)

        return guarded

    def refuse(self, problem: str) -> Response:
        """The 400 for a body that is not JSON Tocsin parses: ``{"detail": problem}``; a route
        that answers in its sender's own format says it that way instead."""
        return JSONResponse({"detail": problem}, status_code=400)
