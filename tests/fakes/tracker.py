"""GitHub issues in memory: the ``Tracker`` port for workflow tests.

It keeps GitHub's semantics that the workflow relies on: a create with a key seen before
returns the first issue; every change gives the issue a new ETag, and a check with the
current ETag answers "unchanged" (None).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from activities.errors import NotFound, Rejected, Unavailable
from workflows.incident_models import (
    FileSpec,
    IssueCheck,
    IssueRef,
    IssueSpec,
)

_URL = re.compile(r"^https://github\.com/([^/]+/[^/]+)/issues/([0-9]+)$")


@dataclass
class FakeIssue:
    ref: IssueRef
    spec: IssueSpec | None = None


@dataclass
class FakeTracker:
    issues: dict[tuple[str, int], FakeIssue] = field(default_factory=dict)
    keys: dict[str, tuple[str, int]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    checks: list[IssueCheck] = field(default_factory=list)
    # Labels added to issues after they were created or found (linked issues).
    labels: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    down: bool = False
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(101))
    _etags: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def create_issue(self, spec: IssueSpec) -> IssueRef:
        if self.down:
            raise Unavailable("github: HTTP 502")
        if spec.key in self.keys:
            return self.issues[self.keys[spec.key]].ref
        number = next(self._numbers)
        ref = IssueRef(
            repo=spec.repo,
            number=number,
            url=f"https://github.com/{spec.repo}/issues/{number}",
            title=spec.title,
        )
        self.issues[(spec.repo, number)] = FakeIssue(ref, spec)
        self.keys[spec.key] = (spec.repo, number)
        self._touch(spec.repo, number)
        return ref.model_copy(update={"etag": None})

    async def get_issue(self, check: IssueCheck) -> IssueRef | None:
        self.checks.append(check)
        if self.down:
            raise Unavailable("github: HTTP 502")
        issue = self.issues.get((check.repo, check.number))
        if issue is None:
            raise NotFound(f"github: {check.repo}#{check.number} not found")
        if check.etag is not None and check.etag == issue.ref.etag:
            return None
        return issue.ref

    async def link_issue(self, url: str) -> IssueRef:
        match = _URL.match(url)
        if match is None:
            raise Rejected(f"not a GitHub issue URL: {url}")
        key = (match.group(1), int(match.group(2)))
        if key not in self.issues:
            raise NotFound(f"github: {url} not found")
        return self.issues[key].ref

    async def add_label(self, repo: str, number: int, label: str) -> None:
        if self.down:
            raise Unavailable("github: HTTP 502")
        if (repo, number) not in self.issues:
            raise NotFound(f"github: {repo}#{number} not found")
        kept = self.labels.setdefault((repo, number), [])
        if label not in kept:
            kept.append(label)

    async def publish_file(self, spec: FileSpec) -> str:
        self.files[f"{spec.repo}/{spec.path}"] = spec.content
        return f"https://github.com/{spec.repo}/blob/{spec.branch}/{spec.path}"

    def existing(self, repo: str, title: str, state: str = "open") -> IssueRef:
        """An issue someone opened by hand (to be linked)."""
        number = next(self._numbers)
        ref = IssueRef(
            repo=repo,
            number=number,
            url=f"https://github.com/{repo}/issues/{number}",
            title=title,
            state="open" if state == "open" else "closed",
        )
        self.issues[(repo, number)] = FakeIssue(ref)
        self._touch(repo, number)
        return ref

    def set_state(self, repo: str, number: int, state: str) -> IssueRef:
        """Close or reopen an issue on "GitHub" (no webhook: the test sends one or not)."""
        issue = self.issues[(repo, number)]
        issue.ref.state = "open" if state == "open" else "closed"
        self._touch(repo, number)
        return issue.ref

    def created(self) -> list[IssueSpec]:
        return [i.spec for i in self.issues.values() if i.spec is not None]

    def _touch(self, repo: str, number: int) -> None:
        self.issues[(repo, number)].ref.etag = f'W/"{next(self._etags)}"'
