"""Follow-up issues and postmortems on GitHub (or GitHub Enterprise Server) with PyGithub.

PyGithub is synchronous, so every call runs in a thread with a client of its own. The
token needs Issues read/write (follow-ups, postmortem issues) and Contents write when
postmortems are committed as files.

Creating an issue is idempotent: the body carries a hidden ``<!-- tocsin:key=… -->``
marker, and before creating, the repository's issues with the same incident label (open
and closed) are searched for it. A retried activity whose first try created the issue
(and lost the answer) finds that issue instead of opening a second one.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, UnknownObjectException
from github.ContentFile import ContentFile
from github.Issue import Issue
from github.Repository import Repository

from activities.adapters.rollback_github import DEFAULT_API_URL, rate_limit_wait
from activities.errors import (
    AdapterError,
    NotConfigured,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)
from workflows.incident_models import (
    FileSpec,
    IssueCheck,
    IssueRef,
    IssueSpec,
)

T = TypeVar("T")

_ISSUE_URL = re.compile(
    r"^(?P<scheme>https?)://(?P<host>[^/\s?#]+)/(?P<owner>[A-Za-z0-9_.-]+)/"
    r"(?P<name>[A-Za-z0-9_.-]+)/issues/(?P<number>[1-9][0-9]{0,9})/?(?:[?#]\S*)?$"
)
_INCIDENT_LABEL = re.compile(r"^INC-[1-9][0-9]*$")


def key_marker(key: str) -> str:
    """The hidden line that ties an issue to its idempotency key (quoted: no ``-->`` inside)."""
    return f"<!-- tocsin:key={quote(key, safe='/:@')} -->"


def parse_issue_url(url: str) -> tuple[str, str, int]:
    """``(host, owner/name, number)`` of a GitHub or GitHub Enterprise issue URL.

    Raises:
        Rejected: the URL is not ``https://<host>/<owner>/<repo>/issues/<number>``.
    """
    match = _ISSUE_URL.match(url.strip())
    if match is None:
        raise Rejected(
            f"{url!r} is not a GitHub issue URL: paste one like "
            "https://github.com/acme/shop/issues/7 (or your GitHub Enterprise host)"
        )
    repo = f"{match['owner']}/{match['name']}"
    return match["host"].lower(), repo, int(match["number"])


def github_tracker(token: str | None, base_url: str | None = None) -> GithubTracker | None:
    """The tracker for ``token`` (``GITHUB_TOKEN``) at ``base_url`` (``GITHUB_API_URL``,
    default github.com); None without a token."""
    if not token:
        return None
    return GithubTracker(token, base_url=base_url or DEFAULT_API_URL)


class GithubTracker:
    """The :class:`activities.ports.Tracker` on GitHub issues and repository contents."""

    def __init__(
        self, token: str, base_url: str = DEFAULT_API_URL, timeout: int = 15, per_page: int = 100
    ) -> None:
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._per_page = per_page

    async def create_issue(self, spec: IssueSpec) -> IssueRef:
        return await self._run(f"issue creation in {spec.repo}", self._create_issue, spec)

    async def get_issue(self, check: IssueCheck) -> IssueRef | None:
        return await self._run(f"issue {check.repo}#{check.number}", self._get_issue, check)

    async def link_issue(self, url: str) -> IssueRef:
        host, repo, number = parse_issue_url(url)
        found = await self.get_issue(IssueCheck(repo=repo, number=number))
        if found is None:  # no etag was sent, so GitHub cannot have answered 304
            raise Unavailable(f"GitHub sent no issue for {url}")
        if urlsplit(found.url).netloc.lower() != host:
            raise Rejected(
                f"{url} is not on this GitHub server (its issues are at "
                f"{urlsplit(found.url).netloc}); set GITHUB_API_URL for another server"
            )
        return found

    async def add_label(self, repo: str, number: int, label: str) -> None:
        await self._run(f"labelling {repo}#{number}", self._add_label, (repo, number, label))

    async def publish_file(self, spec: FileSpec) -> str:
        step = f"commit of {spec.path} to {spec.repo}@{spec.branch}"
        return await self._run(step, self._publish_file, spec)

    # -- in a thread ----------------------------------------------------------------------

    async def _run(self, step: str, call: Callable[[Github, Any], T], arg: Any) -> T:
        return await asyncio.to_thread(self._guarded, step, call, arg)

    def _guarded(self, step: str, call: Callable[[Github, Any], T], arg: Any) -> T:
        # No retries inside PyGithub (it would sleep through rate limits) and no client-side
        # throttling: Temporal's retry policy owns waiting.
        with Github(
            auth=Auth.Token(self._token),
            base_url=self._base_url,
            timeout=self._timeout,
            per_page=self._per_page,
            # get_repo makes no request: the issue and contents calls name the repo.
            lazy=True,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        ) as gh:
            try:
                return call(gh, arg)
            except GithubException as err:
                raise github_error(err, step) from None
            except requests.Timeout:
                raise Unavailable(f"GitHub timed out ({step})") from None
            except requests.RequestException as err:
                raise Unavailable(f"GitHub unreachable ({step}): {type(err).__name__}") from None

    def _create_issue(self, gh: Github, spec: IssueSpec) -> IssueRef:
        repo = gh.get_repo(spec.repo)
        marker = key_marker(spec.key)
        existing = _find_marked(repo, spec.labels, marker)
        if existing is not None:
            return _ref(spec.repo, existing, etag=None)
        # A marker pasted into the text (a copied issue body) must not pass for ours.
        text = spec.body.replace("<!-- tocsin:key=", "<!-- tocsin:quoted-key=")
        try:
            issue = _create(repo, spec.title, f"{text}\n\n{marker}", spec.labels, spec.assignee)
        except GithubException as err:
            if err.status != 422 or spec.assignee is None:
                raise
            # An assignee GitHub will not take (unknown login, no access) must not cost the
            # follow-up its issue: create it unassigned and say who it was meant for.
            note = f"(Meant for @{spec.assignee}, whom GitHub would not assign.)"
            issue = _create(repo, spec.title, f"{text}\n\n{note}\n\n{marker}", spec.labels)
        # The POST's ETag need not be the one a GET answers with: the first check fetches it.
        return _ref(spec.repo, issue, etag=None)

    def _get_issue(self, gh: Github, check: IssueCheck) -> IssueRef | None:
        headers = {"If-None-Match": check.etag} if check.etag else {}
        status, answer_headers, output = gh.requester.requestJson(
            "GET", f"/repos/{check.repo}/issues/{check.number}", headers=headers
        )
        if status == 304:
            return None
        data = json.loads(output) if output else {}
        if status >= 400:
            raise gh.requester.createException(status, answer_headers, data)
        return IssueRef(
            repo=check.repo,
            number=int(data["number"]),
            url=str(data["html_url"]),
            state="closed" if data.get("state") == "closed" else "open",
            title=data.get("title"),
            etag=answer_headers.get("etag"),
        )

    def _add_label(self, gh: Github, target: tuple[str, int, str]) -> None:
        # GitHub's "add labels" keeps the issue's other labels (a PATCH of ``labels`` would
        # replace them) and creates a label the repository does not have yet.
        repo, number, label = target
        gh.requester.requestJsonAndCheck(
            "POST", f"/repos/{repo}/issues/{number}/labels", input={"labels": [label]}
        )

    def _publish_file(self, gh: Github, spec: FileSpec) -> str:
        repo = gh.get_repo(spec.repo)
        try:
            current = repo.get_contents(spec.path, ref=spec.branch)
        except UnknownObjectException:
            current = None
        if isinstance(current, list):
            raise Rejected(f"{spec.path} in {spec.repo} is a directory, not a file")
        if current is None:
            result = repo.create_file(spec.path, spec.message, spec.content, branch=spec.branch)
        elif current.decoded_content == spec.content.encode():
            return current.html_url
        else:
            result = repo.update_file(
                spec.path, spec.message, spec.content, current.sha, branch=spec.branch
            )
        written = result["content"]
        if not isinstance(written, ContentFile):
            raise Unavailable(f"GitHub answered the commit of {spec.path} without its content")
        return written.html_url


def _find_marked(repo: Repository, labels: list[str], marker: str) -> Issue | None:
    """The issue (open or closed) whose body carries ``marker``, among the labelled ones."""
    # The incident's own label narrows the search most; GitHub ANDs the labels it is given.
    narrow = [label for label in labels if _INCIDENT_LABEL.match(label)] or labels
    issues = repo.get_issues(state="all", labels=narrow) if narrow else repo.get_issues(state="all")
    for issue in issues:
        if marker in (issue.body or ""):
            return issue
    return None


def _create(
    repo: Repository, title: str, body: str, labels: list[str], assignee: str | None = None
) -> Issue:
    # GitHub creates labels that do not exist yet (with a grey colour) on issue creation.
    if assignee is None:
        return repo.create_issue(title=title, body=body, labels=labels)
    return repo.create_issue(title=title, body=body, labels=labels, assignees=[assignee])


def _ref(repo: str, issue: Issue, etag: str | None) -> IssueRef:
    return IssueRef(
        repo=repo,
        number=issue.number,
        url=issue.html_url,
        state="closed" if issue.state == "closed" else "open",
        title=issue.title,
        etag=etag,
    )


def github_error(err: GithubException, step: str) -> AdapterError:
    """A failed GitHub call as the domain error that says whether to retry."""
    status = err.status
    data = err.data if isinstance(err.data, dict) else {}
    message = err.message or data.get("message")
    detail = f": {message}" if message else ""
    wait = rate_limit_wait(status, err.headers or {}, time.time())
    if wait is not None:
        return RateLimited(f"GitHub rate limit ({step}); retry in {wait:.0f}s", wait)
    errors = data.get("errors")
    if status == 422 and isinstance(errors, list) and errors:
        detail += " (" + "; ".join(_describe(e) for e in errors) + ")"
    by_status: dict[int, AdapterError] = {
        401: NotConfigured(f"GitHub rejected GITHUB_TOKEN (401) for {step}{detail}"),
        403: Rejected(f"GitHub refused {step} (403): the token lacks access{detail}"),
        404: NotFound(f"{step}: not found (or the token cannot see it)"),
        # The file changed between reading its sha and writing: a retry reads it again.
        409: Unavailable(f"GitHub reported a conflict (409) for {step}{detail}"),
        410: NotFound(f"{step}: gone (deleted, or issues are turned off){detail}"),
    }
    if status >= 500:
        return Unavailable(f"GitHub answered {status} ({step})")
    return by_status.get(status) or Rejected(f"GitHub refused {step} ({status}){detail}")


def _describe(error: object) -> str:
    if isinstance(error, dict):
        if "message" in error:
            return str(error["message"])
        return f"{error.get('field', '?')} {error.get('code', 'invalid')}"
    return str(error)
