"""A loopback fake of the GitHub REST endpoints a workflow dispatch goes through.

PyGithub (non-lazy) asks for ``GET /repos/{owner}/{repo}``, then ``GET
/repos/{owner}/{repo}/actions/workflows/{id}``, then POSTs to the ``url`` the workflow
came back with plus ``/dispatches``. The fake answers as GitHub does, on
``http://127.0.0.1:<port>`` (github.com shape, html on ``https://github.com``) and under
``/api/v3`` (Enterprise shape, html on the fake's own origin).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it."""

    method: str
    path: str
    authorization: str | None
    body: dict[str, Any] | None


@dataclass(frozen=True)
class FakeWorkflow:
    """A workflow file with a ``workflow_dispatch`` trigger declaring ``inputs``."""

    id: int
    name: str
    file: str
    inputs: frozenset[str]


@dataclass(frozen=True)
class Failure:
    """An answer the fake gives to every request while it is set."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeGithub:
    """GitHub with one repository, its workflows and branches; failures switch on and off."""

    repo: str = "acme/shop"
    token: str = "ghp_fake-token"
    workflows: list[FakeWorkflow] = field(
        default_factory=lambda: [
            FakeWorkflow(
                id=161335,
                name="Roll back",
                file="rollback.yml",
                inputs=frozenset({"incident", "service", "by", "choice", "environment"}),
            )
        ]
    )
    refs: set[str] = field(default_factory=lambda: {"main", "release"})
    failure: Failure | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def api_url(self) -> str:
        """Base URL for ``Github(base_url=...)`` in the github.com shape."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def enterprise_api_url(self) -> str:
        """Base URL in the GitHub Enterprise Server shape (``/api/v3``)."""
        return f"http://127.0.0.1:{self.port}/api/v3"

    @property
    def dispatches(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/dispatches")]

    def fail(self, status: int, message: str = "Server Error") -> None:
        self.failure = Failure(status, message)

    def rate_limit_primary(self, reset_in: float) -> None:
        """The hourly quota is spent: 403, ``x-ratelimit-remaining: 0`` and the reset time."""
        reset = int(time.time() + reset_in)
        self.failure = Failure(
            403,
            "API rate limit exceeded for user ID 1.",
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            },
        )

    def rate_limit_secondary(self, retry_after: int, status: int = 403) -> None:
        """A secondary (abuse) limit: 403 or 429 with ``Retry-After``."""
        self.failure = Failure(
            status,
            "You have exceeded a secondary rate limit. "
            "Please wait a few minutes before you try again.",
            {"retry-after": str(retry_after)},
        )

    def reset(self) -> None:
        """Back to one healthy repository and no recorded requests (the server keeps running)."""
        fresh = FakeGithub()
        for name in ("repo", "token", "workflows", "refs", "failure", "requests"):
            setattr(self, name, getattr(fresh, name))

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_config=None, access_log=False, lifespan="off", log_level="warning"
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    def _app(self) -> FastAPI:
        app = FastAPI()
        router = APIRouter()
        router.add_api_route("/repos/{owner}/{name}", self._get_repo, methods=["GET"])
        router.add_api_route(
            "/repos/{owner}/{name}/actions/workflows/{ident}", self._get_workflow, methods=["GET"]
        )
        router.add_api_route(
            "/repos/{owner}/{name}/actions/workflows/{ident}/dispatches",
            self._dispatch,
            methods=["POST"],
        )
        app.include_router(router)
        app.include_router(router, prefix="/api/v3")
        return app

    async def _guard(self, request: Request) -> Response | None:
        """Record the request; answer for GitHub when it fails, has a bad token or repo."""
        body = await request.json() if await request.body() else None
        self.requests.append(
            RecordedRequest(
                request.method, request.url.path, request.headers.get("authorization"), body
            )
        )
        if self.failure is not None:
            return _error(self.failure.status, self.failure.message, self.failure.headers)
        if request.headers.get("authorization") != f"token {self.token}":
            return _error(401, "Bad credentials")
        owner, name = request.path_params["owner"], request.path_params["name"]
        if f"{owner}/{name}" != self.repo:
            return _error(404, "Not Found")
        return None

    def _origins(self, request: Request) -> tuple[str, str]:
        """API root and html origin for the shape the request came in."""
        origin = f"http://127.0.0.1:{self.port}"
        if request.url.path.startswith("/api/v3/"):
            return f"{origin}/api/v3", origin
        return origin, "https://github.com"

    def _workflow(self, ident: str) -> FakeWorkflow | None:
        for workflow in self.workflows:
            if ident in (str(workflow.id), workflow.file):
                return workflow
        return None

    async def _get_repo(self, request: Request, owner: str, name: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        api, html = self._origins(request)
        return JSONResponse(
            {
                "id": 1296269,
                "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
                "name": name,
                "full_name": f"{owner}/{name}",
                "private": True,
                "owner": {
                    "login": owner,
                    "id": 1,
                    "type": "Organization",
                    "url": f"{api}/users/{owner}",
                    "html_url": f"{html}/{owner}",
                },
                "html_url": f"{html}/{owner}/{name}",
                "url": f"{api}/repos/{owner}/{name}",
                "default_branch": "main",
                "archived": False,
                "disabled": False,
            }
        )

    async def _get_workflow(self, request: Request, owner: str, name: str, ident: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        workflow = self._workflow(ident)
        if workflow is None:
            return _error(404, "Not Found")
        api, html = self._origins(request)
        return JSONResponse(
            {
                "id": workflow.id,
                "node_id": "MDg6V29ya2Zsb3cxNjEzMzU=",
                "name": workflow.name,
                "path": f".github/workflows/{workflow.file}",
                "state": "active",
                "created_at": "2024-05-01T09:00:00.000Z",
                "updated_at": "2024-05-01T09:00:00.000Z",
                "url": f"{api}/repos/{owner}/{name}/actions/workflows/{workflow.id}",
                "html_url": f"{html}/{owner}/{name}/blob/main/.github/workflows/{workflow.file}",
                "badge_url": f"{html}/{owner}/{name}/workflows/{workflow.name}/badge.svg",
            }
        )

    async def _dispatch(self, request: Request, owner: str, name: str, ident: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        workflow = self._workflow(ident)
        if workflow is None:
            return _error(404, "Not Found")
        body = self.requests[-1].body or {}
        if body.get("ref") not in self.refs:
            return _error(422, f"No ref found for: {body.get('ref')}")
        unexpected = sorted(set(body.get("inputs", {})) - workflow.inputs)
        if unexpected:
            names = ", ".join(f'"{n}"' for n in unexpected)
            return _error(422, f"Unexpected inputs provided: [{names}]")
        return Response(status_code=204)


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the test owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"message": message, "documentation_url": DOCS, "status": str(status)},
        status_code=status,
        headers=headers,
    )
