"""The GitHub tracker against the loopback GitHub fake: issues, ETags, links, files, errors."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from github import GithubException

from activities.adapters.github_tracker import (
    GithubTracker,
    github_error,
    github_tracker,
    key_marker,
    parse_issue_url,
)
from activities.errors import NotConfigured, NotFound, RateLimited, Rejected, Unavailable
from tests.fakes.github import FakeGithub
from workflows.incident_models import FileSpec, IssueCheck, IssueSpec

SPEC = IssueSpec(
    key="INC-42/followup/1",
    repo="acme/shop",
    title="Alert on replication lag before it pages",
    body="The replica fell 20 minutes behind before anyone noticed.",
    labels=["incident", "INC-42"],
)
POSTMORTEM = FileSpec(
    repo="acme/docs",
    path="postmortems/INC-42.md",
    content="# Postmortem: INC-42\n",
    message="Postmortem draft for INC-42",
)


@pytest.fixture(scope="module")
async def github_server() -> AsyncIterator[FakeGithub]:
    """One fake GitHub for the module: uvicorn takes a fifth of a second to stop."""
    fake = FakeGithub()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake(github_server: FakeGithub) -> FakeGithub:
    """The fake GitHub, healthy, with no issues, files or recorded requests."""
    github_server.reset()
    return github_server


@pytest.fixture
def tracker(fake: FakeGithub) -> GithubTracker:
    return GithubTracker(fake.token, base_url=fake.api_url)


class TestCreateIssue:
    """Follow-up issues are created once per key, labelled, and found again on retry."""

    async def test_created_with_labels_and_marker(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """The issue gets the title, the body plus its hidden key, and auto-created labels."""
        ref = await tracker.create_issue(SPEC)

        assert ref.repo == "acme/shop"
        assert ref.number == 1
        assert ref.url == "https://github.com/acme/shop/issues/1"
        assert ref.state == "open"
        assert ref.title == SPEC.title
        issue = fake.issue("acme/shop", 1)
        assert issue.labels == ["incident", "INC-42"]
        assert issue.body == f"{SPEC.body}\n\n<!-- tocsin:key=INC-42/followup/1 -->"
        assert set(fake.labels["acme/shop"]) == {"incident", "INC-42"}

    async def test_same_key_twice_is_one_issue(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """A second create with the same key returns the first issue instead of a new one."""
        first = await tracker.create_issue(SPEC)
        again = await tracker.create_issue(SPEC)

        assert again.number == first.number
        assert len(fake.issues["acme/shop"]) == 1
        listing = [r for r in fake.requests if r.method == "GET" and r.path.endswith("/issues")][-1]
        assert "labels=INC-42" in listing.query
        assert "state=all" in listing.query

    async def test_lost_answer_then_retry_is_one_issue(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """When GitHub created the issue but its answer was lost, the retry finds that issue."""
        fake.lose_next_create = True
        with pytest.raises(Unavailable, match="502"):
            await tracker.create_issue(SPEC)
        assert len(fake.issues["acme/shop"]) == 1

        ref = await tracker.create_issue(SPEC)

        assert ref.number == 1
        assert len(fake.issues["acme/shop"]) == 1

    async def test_found_when_closed_and_on_a_later_page(self, fake: FakeGithub) -> None:
        """The search covers closed issues and follows the Link header across pages."""
        tracker = GithubTracker(fake.token, base_url=fake.api_url, per_page=2)
        first = await tracker.create_issue(SPEC)
        fake.set_state("acme/shop", first.number, "closed")
        for n in range(5):
            fake.add_issue("acme/shop", f"Other follow-up {n}", "no marker", ["incident", "INC-42"])

        again = await tracker.create_issue(SPEC)

        assert again.number == first.number
        assert again.state == "closed"
        assert len(fake.issues["acme/shop"]) == 6
        pages = [r.query for r in fake.requests if r.path.endswith("/issues") and r.method == "GET"]
        assert any("page=3" in q for q in pages)

    async def test_other_key_is_another_issue(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """Each follow-up (key) has its own issue."""
        await tracker.create_issue(SPEC)
        second = await tracker.create_issue(SPEC.model_copy(update={"key": "INC-42/followup/2"}))

        assert second.number == 2

    async def test_pasted_marker_is_not_ours(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """A body that quotes another key's marker does not make its issue pass for that key."""
        other = SPEC.model_copy(
            update={"key": "INC-42/followup/9", "body": f"copied: {key_marker(SPEC.key)}"}
        )
        await tracker.create_issue(other)

        ref = await tracker.create_issue(SPEC)

        assert ref.number == 2

    async def test_unassignable_login_creates_it_unassigned(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """GitHub refusing the assignee (422) still creates the issue, saying who it was for."""
        ref = await tracker.create_issue(SPEC.model_copy(update={"assignee": "not-a-member"}))

        issue = fake.issue("acme/shop", ref.number)
        assert issue.assignees == []
        assert "Meant for @not-a-member" in (issue.body or "")
        assert len(fake.issues["acme/shop"]) == 1

    async def test_assignee_set(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """An assignable login is assigned."""
        ref = await tracker.create_issue(SPEC.model_copy(update={"assignee": "alice-gh"}))

        assert fake.issue("acme/shop", ref.number).assignees == ["alice-gh"]


class TestGetIssue:
    """Issue checks are conditional: an unchanged issue is a 304 that costs no rate limit."""

    async def test_etag_then_304(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """The first check returns the state and ETag; the next, with that ETag, returns None."""
        created = await tracker.create_issue(SPEC)
        first = await tracker.get_issue(IssueCheck(repo="acme/shop", number=created.number))
        assert first is not None
        assert first.etag
        remaining = fake.rate_remaining

        again = await tracker.get_issue(
            IssueCheck(repo="acme/shop", number=created.number, etag=first.etag)
        )

        assert again is None
        assert fake.requests[-1].if_none_match == first.etag
        assert fake.rate_remaining == remaining

    async def test_changed_issue_answers_in_full(
        self, fake: FakeGithub, tracker: GithubTracker
    ) -> None:
        """After the issue closes, the old ETag no longer matches: the new state comes back."""
        created = await tracker.create_issue(SPEC)
        first = await tracker.get_issue(IssueCheck(repo="acme/shop", number=created.number))
        assert first is not None
        fake.set_state("acme/shop", created.number, "closed")

        now = await tracker.get_issue(
            IssueCheck(repo="acme/shop", number=created.number, etag=first.etag)
        )

        assert now is not None
        assert now.state == "closed"
        assert now.etag not in (None, first.etag)

    async def test_unknown_issue(self, tracker: GithubTracker) -> None:
        """An issue that does not exist is NotFound."""
        with pytest.raises(NotFound, match="acme/shop#99"):
            await tracker.get_issue(IssueCheck(repo="acme/shop", number=99))


class TestLinkIssue:
    """Pasted issue URLs are parsed strictly and checked against the configured server."""

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("https://github.com/acme/shop/issues/7", ("github.com", "acme/shop", 7)),
            ("https://ghe.example/acme/shop/issues/7/", ("ghe.example", "acme/shop", 7)),
            (
                "https://GitHub.com/acme/shop.api/issues/12#issuecomment-1",
                ("github.com", "acme/shop.api", 12),
            ),
            ("  https://github.com/a-b/c_d/issues/3?x=1 ", ("github.com", "a-b/c_d", 3)),
        ],
    )
    def test_parsed(self, url: str, expected: tuple[str, str, int]) -> None:
        """github.com and Enterprise issue URLs give host, repository and number."""
        assert parse_issue_url(url) == expected

    @pytest.mark.parametrize(
        "url",
        [
            "https://github.com/acme/shop/pull/7",
            "https://github.com/acme/shop/issues/",
            "https://github.com/acme/shop/issues/0",
            "ftp://github.com/acme/shop/issues/7",
            "acme/shop#7",
            "https://github.com/acme/issues/7",
            "https://github.com/acme/shop/issues/7/comments",
        ],
    )
    def test_rejected(self, url: str) -> None:
        """Anything but an issue URL is Rejected with an example of a good one."""
        with pytest.raises(Rejected, match="is not a GitHub issue URL"):
            parse_issue_url(url)

    async def test_linked(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """An existing issue is found with its state."""
        fake.add_issue("acme/shop", "Add a replica lag alert")
        fake.set_state("acme/shop", 1, "closed")

        ref = await tracker.link_issue("https://github.com/acme/shop/issues/1")

        assert (ref.repo, ref.number, ref.state) == ("acme/shop", 1, "closed")
        assert ref.title == "Add a replica lag alert"

    async def test_enterprise(self, fake: FakeGithub) -> None:
        """On GitHub Enterprise the issue's own host is accepted."""
        fake.add_issue("acme/shop", "Add a replica lag alert")
        tracker = GithubTracker(fake.token, base_url=fake.enterprise_api_url)

        ref = await tracker.link_issue(f"http://127.0.0.1:{fake.port}/acme/shop/issues/1")

        assert ref.url == f"http://127.0.0.1:{fake.port}/acme/shop/issues/1"

    async def test_other_server_rejected(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """An Enterprise URL while Tocsin talks to github.com is refused, not misread."""
        fake.add_issue("acme/shop", "Add a replica lag alert")

        with pytest.raises(Rejected, match="not on this GitHub server"):
            await tracker.link_issue("https://ghe.example/acme/shop/issues/1")

    async def test_missing_issue(self, tracker: GithubTracker) -> None:
        with pytest.raises(NotFound):
            await tracker.link_issue("https://github.com/acme/shop/issues/5")


class TestAddLabel:
    """A linked issue gets the incident's label beside its own (what the webhook reads)."""

    async def test_added_beside_the_others(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """The issue keeps its labels; the new one is created in the repository."""
        fake.add_issue("acme/shop", "Add a replica lag alert", labels=["bug"])

        await tracker.add_label("acme/shop", 1, "INC-42")

        assert fake.issue("acme/shop", 1).labels == ["bug", "INC-42"]
        assert set(fake.labels["acme/shop"]) == {"bug", "INC-42"}
        [added] = [r for r in fake.requests if r.method == "POST"]
        assert (added.path, added.body) == (
            "/repos/acme/shop/issues/1/labels",
            {"labels": ["INC-42"]},
        )

    async def test_twice_is_once(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """A retried activity labels the issue once."""
        fake.add_issue("acme/shop", "Add a replica lag alert")

        for _ in range(2):
            await tracker.add_label("acme/shop", 1, "INC-42")

        assert fake.issue("acme/shop", 1).labels == ["INC-42"]

    async def test_missing_issue(self, tracker: GithubTracker) -> None:
        with pytest.raises(NotFound):
            await tracker.add_label("acme/shop", 5, "INC-42")

    async def test_no_access(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """A token without write access to the issue is refused, not retried."""
        fake.add_issue("acme/shop", "Add a replica lag alert")
        fake.fail(403, "Resource not accessible by personal access token")

        with pytest.raises(Rejected, match="labelling acme/shop#1"):
            await tracker.add_label("acme/shop", 1, "INC-42")


class TestPublishFile:
    """Files are created, updated with their sha, and not re-committed when unchanged."""

    async def test_create_update_unchanged(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """Create commits once; new content commits again; the same content commits nothing."""
        url = await tracker.publish_file(POSTMORTEM)
        assert url == "https://github.com/acme/docs/blob/main/postmortems/INC-42.md"
        assert fake.file("acme/docs", "postmortems/INC-42.md") == POSTMORTEM.content

        changed = POSTMORTEM.model_copy(update={"content": "# Postmortem: INC-42\n\nMore.\n"})
        assert await tracker.publish_file(changed) == url
        assert fake.file("acme/docs", "postmortems/INC-42.md") == changed.content

        assert await tracker.publish_file(changed) == url
        assert [c.message for c in fake.commits] == [POSTMORTEM.message] * 2

    async def test_unknown_branch(self, tracker: GithubTracker) -> None:
        """A branch that does not exist is NotFound."""
        with pytest.raises(NotFound, match=r"postmortems/INC-42\.md"):
            await tracker.publish_file(POSTMORTEM.model_copy(update={"branch": "nope"}))

    async def test_stale_sha_is_a_conflict(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """The fake answers a write with a stale sha 409, which the tracker retries."""
        await tracker.publish_file(POSTMORTEM)
        async with httpx.AsyncClient(base_url=fake.api_url) as client:
            response = await client.put(
                "/repos/acme/docs/contents/postmortems/INC-42.md",
                headers={"Authorization": f"token {fake.token}"},
                json={
                    "message": "edit",
                    "content": base64.b64encode(b"x").decode(),
                    "sha": "0" * 40,
                },
            )
        assert response.status_code == 409
        error = github_error(GithubException(409, response.json(), {}), "commit")
        assert isinstance(error, Unavailable)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestErrors:
    """Each GitHub failure becomes the domain error that says whether and when to retry."""

    async def test_bad_token(self, fake: FakeGithub) -> None:
        """A rejected token is NotConfigured (retrying will not fix the setup)."""
        tracker = GithubTracker("ghp_revoked", base_url=fake.api_url)
        with pytest.raises(NotConfigured, match="GITHUB_TOKEN"):
            await tracker.create_issue(SPEC)

    async def test_secondary_rate_limit(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """403 with Retry-After is RateLimited with that delay."""
        fake.rate_limit_secondary(45)
        with pytest.raises(RateLimited) as caught:
            await tracker.get_issue(IssueCheck(repo="acme/shop", number=1))
        assert caught.value.retry_after == 45

    async def test_secondary_rate_limit_429(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        fake.rate_limit_secondary(7, status=429)
        with pytest.raises(RateLimited) as caught:
            await tracker.publish_file(POSTMORTEM)
        assert caught.value.retry_after == 7

    async def test_primary_rate_limit(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """403 with x-ratelimit-remaining: 0 waits until the reset time."""
        fake.rate_limit_primary(reset_in=120)
        with pytest.raises(RateLimited) as caught:
            await tracker.create_issue(SPEC)
        assert 100 < caught.value.retry_after <= 121

    async def test_forbidden(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        """403 without rate limit headers is Rejected (the token lacks a permission)."""
        fake.fail(403, "Resource not accessible by personal access token")
        with pytest.raises(Rejected, match="not accessible"):
            await tracker.create_issue(SPEC)

    async def test_unknown_repository(self, tracker: GithubTracker) -> None:
        with pytest.raises(NotFound, match="acme/nope"):
            await tracker.create_issue(SPEC.model_copy(update={"repo": "acme/nope"}))

    async def test_validation_failed(self, tracker: GithubTracker) -> None:
        """422 is Rejected and says which field GitHub did not like."""
        with pytest.raises(Rejected, match=r"422.*title missing_field"):
            await tracker.create_issue(SPEC.model_copy(update={"title": ""}))

    async def test_server_error(self, fake: FakeGithub, tracker: GithubTracker) -> None:
        fake.fail(503, "Service Unavailable")
        with pytest.raises(Unavailable, match="503"):
            await tracker.get_issue(IssueCheck(repo="acme/shop", number=1))

    async def test_unreachable(self) -> None:
        tracker = GithubTracker("t", base_url=f"http://127.0.0.1:{_closed_port()}", timeout=5)
        with pytest.raises(Unavailable, match="unreachable"):
            await tracker.get_issue(IssueCheck(repo="acme/shop", number=1))


class TestFactory:
    """The tracker exists only with a token; GITHUB_API_URL points it elsewhere."""

    def test_no_token(self) -> None:
        assert github_tracker(None, "http://x") is None

    async def test_from_environment(self, fake: FakeGithub) -> None:
        tracker = github_tracker(fake.token, fake.api_url)
        assert tracker is not None
        assert (await tracker.create_issue(SPEC)).number == 1
