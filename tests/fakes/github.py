"""A loopback fake of the GitHub REST endpoints Tocsin uses: dispatch, issues, contents.

Workflow dispatch: PyGithub (non-lazy) asks for ``GET /repos/{owner}/{repo}``, then ``GET
/repos/{owner}/{repo}/actions/workflows/{id}``, then POSTs to the ``url`` the workflow
came back with plus ``/dispatches``. Issues: create (labels that do not exist are
created, as GitHub does), get (with an ``ETag``; ``If-None-Match`` answers 304, which
costs no rate limit), list (``state``, ``labels``, pagination with a ``Link`` header),
update and add labels. Contents: get and put (create, or update with the file's blob ``sha``; a
stale ``sha`` is a 409). The fake answers as GitHub does, on ``http://127.0.0.1:<port>``
(github.com shape, html on ``https://github.com``) and under ``/api/v3`` (Enterprise
shape, html on the fake's own origin).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    if_none_match: str | None = None
    query: str = ""


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
class FakeIssue:
    """An issue as the fake stores it."""

    repo: str
    number: int
    id: int
    title: str
    body: str | None
    labels: list[str]
    assignees: list[str]
    user: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None


@dataclass
class FakeFile:
    """A file on a branch: its bytes and git blob sha."""

    content: bytes
    sha: str


@dataclass(frozen=True)
class Commit:
    """A commit the contents API made."""

    repo: str
    branch: str
    path: str
    message: str
    sha: str


@dataclass
class FakeGithub:
    """GitHub with a few repositories, their workflows, branches, issues and files.

    ``repo`` is the one with workflows (the rollback tests move it); ``other_repos`` exist
    too (a docs repository for postmortem files). Failures switch on and off.
    """

    repo: str = "acme/shop"
    other_repos: set[str] = field(default_factory=lambda: {"acme/docs"})
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
    # The token's user, and who may be assigned issues (others are refused with 422).
    login: str = "tocsin-bot"
    assignable: set[str] = field(default_factory=lambda: {"octocat", "alice-gh", "tocsin-bot"})
    issues: dict[str, list[FakeIssue]] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[tuple[str, str, str], FakeFile] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    # The primary rate limit: every authenticated request but a 304 spends one.
    rate_remaining: int = 5000
    # Create the next issue but answer 502, as when a proxy loses GitHub's answer.
    lose_next_create: bool = False
    _ids: int = 1_000_000
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
        for name in (
            "repo",
            "other_repos",
            "token",
            "workflows",
            "refs",
            "failure",
            "requests",
            "login",
            "assignable",
            "issues",
            "labels",
            "files",
            "commits",
            "rate_remaining",
            "lose_next_create",
        ):
            setattr(self, name, getattr(fresh, name))

    # -- test helpers: what a person does on github.com ----------------------------------

    def add_issue(
        self,
        repo: str,
        title: str,
        body: str | None = None,
        labels: list[str] | None = None,
        user: str = "octocat",
    ) -> FakeIssue:
        """An issue someone opened on GitHub (labels that do not exist are created)."""
        now = datetime.now(UTC)
        issues = self.issues.setdefault(repo, [])
        for label in labels or []:
            self._label(repo, label)
        issue = FakeIssue(
            repo=repo,
            number=len(issues) + 1,
            id=self._next_id(),
            title=title,
            body=body,
            labels=list(labels or []),
            assignees=[],
            user=user,
            created_at=now,
            updated_at=now,
        )
        issues.append(issue)
        return issue

    def issue(self, repo: str, number: int) -> FakeIssue:
        return next(i for i in self.issues.get(repo, []) if i.number == number)

    def set_state(self, repo: str, number: int, state: str, by: str = "octocat") -> FakeIssue:
        """Close (``completed``) or reopen an issue, as a person would."""
        issue = self.issue(repo, number)
        now = datetime.now(UTC)
        issue.state = state
        issue.updated_at = now
        if state == "closed":
            issue.state_reason, issue.closed_at, issue.closed_by = "completed", now, by
        else:
            issue.state_reason, issue.closed_at, issue.closed_by = "reopened", None, None
        return issue

    def file(self, repo: str, path: str, branch: str = "main") -> str | None:
        found = self.files.get((repo, branch, path))
        return found.content.decode() if found else None

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _label(self, repo: str, name: str) -> None:
        self.labels.setdefault(repo, {}).setdefault(name, self._next_id())

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
        issues = "/repos/{owner}/{name}/issues"
        router.add_api_route(issues, self._list_issues, methods=["GET"])
        router.add_api_route(issues, self._create_issue, methods=["POST"])
        router.add_api_route(issues + "/{number}", self._get_issue, methods=["GET"])
        router.add_api_route(issues + "/{number}", self._update_issue, methods=["PATCH"])
        router.add_api_route(issues + "/{number}/labels", self._add_labels, methods=["POST"])
        router.add_api_route("/repos/{owner}/{name}/labels", self._list_labels, methods=["GET"])
        contents = "/repos/{owner}/{name}/contents/{path:path}"
        router.add_api_route(contents, self._get_contents, methods=["GET"])
        router.add_api_route(contents, self._put_contents, methods=["PUT"])
        app.include_router(router)
        app.include_router(router, prefix="/api/v3")
        return app

    async def _guard(self, request: Request) -> Response | None:
        """Record the request; answer for GitHub when it fails, has a bad token or repo."""
        body = await request.json() if await request.body() else None
        self.requests.append(
            RecordedRequest(
                request.method,
                request.url.path,
                request.headers.get("authorization"),
                body,
                request.headers.get("if-none-match"),
                request.url.query,
            )
        )
        if self.failure is not None:
            return _error(self.failure.status, self.failure.message, self.failure.headers)
        if request.headers.get("authorization") != f"token {self.token}":
            return _error(401, "Bad credentials")
        self.rate_remaining -= 1
        owner, name = request.path_params["owner"], request.path_params["name"]
        if f"{owner}/{name}" not in {self.repo, *self.other_repos}:
            return _error(404, "Not Found")
        return None

    def _json(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A JSON answer with GitHub's rate limit headers (and an ETag over the body)."""
        content = json.dumps(data, separators=(",", ":")).encode()
        return Response(
            content,
            status_code=status,
            media_type="application/json; charset=utf-8",
            headers={
                "etag": _etag(content),
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": str(self.rate_remaining),
                "x-ratelimit-resource": "core",
                **(headers or {}),
            },
        )

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

    # -- issues ----------------------------------------------------------------------------

    def _issue_json(self, issue: FakeIssue, request: Request) -> dict[str, Any]:
        api, html = self._origins(request)
        repo_api = f"{api}/repos/{issue.repo}"
        url = f"{repo_api}/issues/{issue.number}"
        return {
            "url": url,
            "repository_url": repo_api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{html}/{issue.repo}/issues/{issue.number}",
            "id": issue.id,
            "node_id": base64.b64encode(f"I_{issue.id}".encode()).decode(),
            "number": issue.number,
            "title": issue.title,
            "user": _user(issue.user, api, html),
            "labels": [
                {
                    "id": self.labels.get(issue.repo, {}).get(label, 0),
                    "node_id": base64.b64encode(f"LA_{label}".encode()).decode(),
                    "url": f"{repo_api}/labels/{label}",
                    "name": label,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                }
                for label in issue.labels
            ],
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": False,
            "assignee": _user(issue.assignees[0], api, html) if issue.assignees else None,
            "assignees": [_user(a, api, html) for a in issue.assignees],
            "milestone": None,
            "comments": 0,
            "created_at": _time(issue.created_at),
            "updated_at": _time(issue.updated_at),
            "closed_at": _time(issue.closed_at) if issue.closed_at else None,
            "closed_by": _user(issue.closed_by, api, html) if issue.closed_by else None,
            "author_association": "MEMBER",
            "body": issue.body,
        }

    async def _list_issues(self, request: Request, owner: str, name: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        query = request.query_params
        state = query.get("state", "open")
        wanted = [label for label in query.get("labels", "").split(",") if label]
        found = [
            i
            for i in reversed(self.issues.get(f"{owner}/{name}", []))  # newest first
            if state in ("all", i.state) and all(w in i.labels for w in wanted)
        ]
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
        page = max(int(query.get("page", "1")), 1)
        last = max((len(found) + per_page - 1) // per_page, 1)
        chunk = found[(page - 1) * per_page : page * per_page]
        links = []
        if page < last:
            links += [("next", page + 1), ("last", last)]
        if page > 1:
            links += [("first", 1), ("prev", page - 1)]
        headers = {}
        if links:
            headers["link"] = ", ".join(
                f'<{request.url.include_query_params(page=n)}>; rel="{rel}"' for rel, n in links
            )
        return self._json([self._issue_json(i, request) for i in chunk], headers=headers)

    async def _create_issue(self, request: Request, owner: str, name: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = self.requests[-1].body or {}
        repo = f"{owner}/{name}"
        if not body.get("title"):
            return _invalid("Issue", "title", "missing_field")
        assignees = list(
            body.get("assignees") or ([body["assignee"]] if body.get("assignee") else [])
        )
        for login in assignees:
            if login not in self.assignable:
                return _invalid("Issue", "assignees", "invalid", login)
        issue = self.add_issue(
            repo, body["title"], body.get("body"), body.get("labels"), self.login
        )
        issue.assignees = assignees
        if self.lose_next_create:
            self.lose_next_create = False
            return _error(502, "Server Error")
        data = self._issue_json(issue, request)
        return self._json(data, status=201, headers={"location": data["url"]})

    async def _get_issue(self, request: Request, owner: str, name: str, number: int) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        issue = next(
            (i for i in self.issues.get(f"{owner}/{name}", []) if i.number == number), None
        )
        if issue is None:
            return _error(404, "Not Found")
        answer = self._json(self._issue_json(issue, request))
        if _matches(request.headers.get("if-none-match"), answer.headers["etag"]):
            self.rate_remaining += 1  # GitHub does not count a 304 against the limit
            return Response(
                status_code=304,
                headers={
                    "etag": answer.headers["etag"],
                    "x-ratelimit-remaining": str(self.rate_remaining),
                },
            )
        return answer

    async def _update_issue(self, request: Request, owner: str, name: str, number: int) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = self.requests[-1].body or {}
        repo = f"{owner}/{name}"
        try:
            issue = self.issue(repo, number)
        except StopIteration:
            return _error(404, "Not Found")
        if body.get("state") in ("open", "closed") and body["state"] != issue.state:
            self.set_state(repo, number, body["state"], by=self.login)
        for key in ("title", "body"):
            if key in body:
                setattr(issue, key, body[key])
        if "labels" in body:
            for label in body["labels"]:
                self._label(repo, label)
            issue.labels = list(body["labels"])
        issue.updated_at = datetime.now(UTC)
        return self._json(self._issue_json(issue, request))

    async def _add_labels(self, request: Request, owner: str, name: str, number: int) -> Response:
        """Add labels, keeping the issue's others (a label the repo lacks is created)."""
        if (refused := await self._guard(request)) is not None:
            return refused
        body = self.requests[-1].body
        repo = f"{owner}/{name}"
        try:
            issue = self.issue(repo, number)
        except StopIteration:
            return _error(404, "Not Found")
        labels = body.get("labels") if isinstance(body, dict) else body
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            return _invalid("Label", "labels", "invalid")
        for label in labels:
            self._label(repo, label)
            if label not in issue.labels:
                issue.labels.append(label)
        issue.updated_at = datetime.now(UTC)
        return self._json(self._issue_json(issue, request)["labels"])

    async def _list_labels(self, request: Request, owner: str, name: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        api, _ = self._origins(request)
        return self._json(
            [
                {
                    "id": ident,
                    "url": f"{api}/repos/{owner}/{name}/labels/{label}",
                    "name": label,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                }
                for label, ident in self.labels.get(f"{owner}/{name}", {}).items()
            ]
        )

    # -- contents --------------------------------------------------------------------------

    def _content_json(
        self, request: Request, repo: str, branch: str, path: str, stored: FakeFile
    ) -> dict[str, Any]:
        api, html = self._origins(request)
        url = f"{api}/repos/{repo}/contents/{path}?ref={branch}"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(stored.content),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.encodebytes(stored.content).decode(),
            "sha": stored.sha,
            "url": url,
            "git_url": f"{api}/repos/{repo}/git/blobs/{stored.sha}",
            "html_url": f"{html}/{repo}/blob/{branch}/{path}",
            "download_url": f"https://raw.githubusercontent.com/{repo}/{branch}/{path}",
            "_links": {
                "self": url,
                "git": f"{api}/repos/{repo}/git/blobs/{stored.sha}",
                "html": f"{html}/{repo}/blob/{branch}/{path}",
            },
        }

    async def _get_contents(self, request: Request, owner: str, name: str, path: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        repo, branch = f"{owner}/{name}", request.query_params.get("ref", "main")
        if branch not in self.refs:
            return _error(404, f"No commit found for the ref {branch}")
        stored = self.files.get((repo, branch, path))
        if stored is None:
            return _error(404, "Not Found")
        return self._json(self._content_json(request, repo, branch, path, stored))

    async def _put_contents(self, request: Request, owner: str, name: str, path: str) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = self.requests[-1].body or {}
        repo, branch = f"{owner}/{name}", body.get("branch", "main")
        if not body.get("message") or "content" not in body:
            return _error(422, 'Invalid request.\n\n"message" and "content" are required.')
        if branch not in self.refs:
            return _error(404, f"Branch {branch} not found")
        key = (repo, branch, path)
        current = self.files.get(key)
        if current is not None and "sha" not in body:
            return _error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and body["sha"] != current.sha:
            return _error(409, f"{path} does not match {body['sha']}")
        content = base64.b64decode(body["content"])
        stored = FakeFile(content, _sha1(b"blob %d\0" % len(content) + content))  # git's blob id
        self.files[key] = stored
        commit_sha = _sha1(f"{repo}{branch}{path}{len(self.commits)}".encode())
        self.commits.append(Commit(repo, branch, path, body["message"], commit_sha))
        _, html = self._origins(request)
        return self._json(
            {
                "content": self._content_json(request, repo, branch, path, stored),
                "commit": {
                    "sha": commit_sha,
                    "html_url": f"{html}/{repo}/commit/{commit_sha}",
                    "message": body["message"],
                },
            },
            status=200 if current is not None else 201,
        )


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


def _invalid(resource: str, field_name: str, code: str, value: str | None = None) -> Response:
    error: dict[str, Any] = {"resource": resource, "field": field_name, "code": code}
    if value is not None:
        error["value"] = value
    return JSONResponse(
        {
            "message": "Validation Failed",
            "errors": [error],
            "documentation_url": DOCS,
            "status": "422",
        },
        status_code=422,
    )


def _user(login: str, api: str, html: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": int(hashlib.sha256(login.encode()).hexdigest()[:6], 16),
        "type": "User",
        "url": f"{api}/users/{login}",
        "html_url": f"{html}/{login}",
    }


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _etag(content: bytes) -> str:
    return f'W/"{hashlib.sha256(content).hexdigest()[:40]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as GitHub does it: ``W/`` prefixes are ignored."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()
