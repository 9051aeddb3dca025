"""Tracker activities over the GitHub fake and real SMTP: follow-ups and the postmortem."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.github_tracker import GithubTracker
from activities.adapters.jinja_postmortem import render_postmortem
from activities.adapters.smtp import SmtpSettings
from activities.adapters.smtp_mail import SmtpMailer
from activities.errors import Rejected, Unavailable
from activities.tracker import TrackerActivities, recipient_addresses
from tests.fakes.github import FakeGithub
from tests.fakes.store import MemoryStore
from tests.unit.test_adapters import LoopbackController, RecordingHandler
from worker.config import parse_config
from workflows.archive_models import TimelineSpill
from workflows.config import TocsinConfig
from workflows.followup_issues import followup_issue_spec, incidents_from_labels
from workflows.incident_models import (
    FollowUp,
    IncidentState,
    IncidentStatus,
    IssueCheck,
    IssueLink,
    IssueRef,
    PostmortemRequest,
    RollbackState,
    StatusUpdate,
)
from workflows.models import RollbackResult, TimelineEntry

API = "https://tocsin.example.com"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "postmortem-INC-7.md"
T0 = datetime(2026, 3, 10, 14, 2, tzinfo=UTC)


def config(**incidents: Any) -> TocsinConfig:
    """A small organisation: a delivery team on Chicago time, a shop service with a repo."""
    return parse_config(
        {
            "timezone": "UTC",
            "people": {
                "alice": {
                    "name": "Alice Example",
                    "email": "alice@example.com",
                    "github": "alice-gh",
                },
                "bob": {"name": "Bob Builder", "email": "bob@example.com"},
                "hana": {"name": "Hana Sato", "email": "hana@example.com"},
                "dana": {"name": "Dana Scully", "email": "dana@example.com"},
            },
            "teams": {
                "delivery": {
                    "members": ["alice", "bob", "dana"],
                    "rotation": "delivery",
                    "escalation_policy": "delivery",
                },
                "leads": {"members": ["dana"], "escalation_policy": "delivery"},
            },
            "rotations": {
                "delivery": {
                    "timezone": "America/Chicago",
                    "handoff": {"weekday": "monday", "time": "10:00"},
                    "shift": "1w",
                    "start": "2026-01-05",
                    "layers": {"eoc": ["alice", "bob"]},
                }
            },
            "escalation_policies": {
                "delivery": {
                    "steps": [{"targets": ["rotation:delivery/eoc"], "ack_timeout": "10m"}]
                }
            },
            "services": {"shop": {"team": "delivery", "repo": "acme/shop"}},
            "severities": [
                {
                    "name": "critical",
                    "postmortem": True,
                    "postmortem_recipients": ["leads", "bob", "ops@example.com"],
                },
                {"name": "minor", "page": False},
            ],
            "incidents": incidents,
        },
        "test.yaml",
    )


class Config:
    def __init__(self, value: TocsinConfig) -> None:
        self.value = value

    def current(self) -> TocsinConfig:
        return self.value


def sample_incident() -> IncidentState:
    """INC-7: checkout failing after a deploy, rolled back, two follow-ups (one closed)."""

    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    entries = [
        (0, "declared", "Declared critical by Bob Builder: Checkout returns 500s", "bob"),
        (1, "channel", "Channel #inc-7-checkout-500s opened", None),
        (4, "lead", "Alice Example is the incident lead", "alice"),
        (6, "messenger", "Hana Sato is the messenger", "hana"),
        (9, "rollback", "Rollback chosen: revert the change", "alice"),
        (11, "rollback", "Rollback ran: dispatched Roll back on acme/shop@release", None),
        (18, "update", "Error rate back to baseline after the revert", "alice"),
        (24, "resolved", "Resolved (rolled back) by Alice Example", "alice"),
        (31, "messenger", "Customer communication confirmed by Hana Sato", "hana"),
    ]
    return IncidentState(
        id="INC-7",
        number=7,
        title="Checkout returns 500s",
        description=(
            "Checkout API answers 500 for ~40% of requests since the 09:00 deploy.\n"
            "Payments are not taken; carts are kept."
        ),
        severity="critical",
        status=IncidentStatus.resolved,
        service="shop",
        team="delivery",
        customer_impact=True,
        declared_by="bob",
        declared_at=T0,
        lead="alice",
        messenger="hana",
        channel="#inc-7-checkout-500s",
        acknowledged_at=at(4),
        rollback=RollbackState(
            decision="revert",
            decided_by="alice",
            decided_at=at(9),
            result=RollbackResult(
                ok=True,
                runner="github",
                summary="dispatched Roll back on acme/shop@release",
                url="https://github.com/acme/shop/actions/workflows/rollback.yml",
            ),
            resolved_it=True,
        ),
        updates=[
            StatusUpdate(
                at=at(12),
                by="alice",
                text="Reverting shop#1841 (new payment client).\nError rate falling.",
            ),
            StatusUpdate(at=at(18), by="alice", text="Error rate back to baseline."),
        ],
        resolved_at=at(24),
        resolved_by="alice",
        resolution="rolled_back",
        resolution_summary="Reverted the payment client upgrade (shop#1841).",
        followups=[
            FollowUp(
                number=1,
                title="Canary the payment client before full rollout",
                assignee="alice",
                added_by="alice",
                added_at=at(20),
                state="open",
                issue_number=12,
                issue_url="https://github.com/acme/shop/issues/12",
            ),
            FollowUp(
                number=2,
                title="Alert on checkout 5xx ratio | not only on latency",
                added_by="bob",
                added_at=at(22),
                state="closed",
                issue_number=13,
                issue_url="https://github.com/acme/shop/issues/13",
            ),
        ],
        messenger_confirmed_by="hana",
        messenger_confirmed_at=at(31),
        timeline=[TimelineEntry(at=at(m), kind=k, text=t, by=b) for m, k, t, b in entries],
    )


@pytest.fixture(scope="module")
async def github_server() -> AsyncIterator[FakeGithub]:
    fake = FakeGithub()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake(github_server: FakeGithub) -> FakeGithub:
    github_server.reset()
    return github_server


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, SmtpMailer]]:
    """A real SMTP server on 127.0.0.1 and a mailer pointed at it."""
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1", port=controller.port, sender="tocsin@example.com", timeout=5
        )
        yield handler, SmtpMailer(settings)
    finally:
        controller.stop()


def activities(
    fake: FakeGithub | None,
    cfg: TocsinConfig | None = None,
    mailer: SmtpMailer | None = None,
    config_dir: Path | None = None,
) -> TrackerActivities:
    tracker = GithubTracker(fake.token, base_url=fake.api_url) if fake else None
    return TrackerActivities(
        Config(cfg or config()), tracker, mailer, API, render_postmortem, config_dir
    )


class TestRendering:
    """The draft holds what the incident knew, in the team's timezone and UTC."""

    def test_sections_and_content(self) -> None:
        """Summary, impact, roles, rollback, timeline, updates, follow-ups and blank sections."""
        text = render_postmortem(
            sample_incident(), config(), incident_url=f"{API}/api/incidents/INC-7"
        )

        assert text.startswith("# Postmortem: INC-7 — Checkout returns 500s\n")
        for heading in (
            "## Summary",
            "## Impact",
            "## Roles",
            "## Rollback",
            "## Timeline",
            "## Status updates",
            "## Follow-ups",
            "## Root cause",
            "## Lessons learned",
        ):
            assert f"\n{heading}\n" in text
        assert "| Duration | 24 min |" in text
        assert "**Time to acknowledge:** 4 min" in text
        assert "- **Incident lead:** Alice Example" in text
        assert "- **Messenger:** Hana Sato" in text
        assert "confirmed updated by Hana Sato" in text
        assert "**Resolution:** rolled back — Reverted the payment client upgrade" in text
        assert "- **Decision:** revert the change by Alice Example" in text
        assert "- **Result:** succeeded (github)" in text
        assert f"| Incident | {API}/api/incidents/INC-7 |" in text

    def test_times_in_team_timezone_and_utc(self) -> None:
        """Timeline times are the rotation's local time (CDT in March) with UTC beside them."""
        text = render_postmortem(sample_incident(), config())

        assert "Times in America/Chicago, with UTC in parentheses." in text
        assert "- **2026-03-10 09:02 CDT (14:02 UTC)** — Declared critical" in text
        assert "- **2026-03-10 09:26 CDT (14:26 UTC)** — Resolved (rolled back)" in text

    def test_followups_with_links(self) -> None:
        """Follow-ups are a checklist with their issues; a pipe in a title is kept literal."""
        text = render_postmortem(sample_incident(), config())

        assert (
            "- [ ] Canary the payment client before full rollout — "
            "https://github.com/acme/shop/issues/12 (assigned to Alice Example)"
        ) in text
        assert "- [x] Alert on checkout 5xx ratio | not only on latency — " in text

    def test_user_text_cannot_break_the_document(self) -> None:
        """Headings, HTML and line breaks people type stay inside quotes or one line."""
        incident = sample_incident().model_copy(
            update={
                "title": "Oops\n## Root cause\n<!-- hidden -->",
                "updates": [StatusUpdate(at=T0, by="bob", text="# not a heading\n<script>")],
            }
        )
        text = render_postmortem(incident, config())

        assert text.startswith("# Postmortem: INC-7 — Oops ## Root cause &lt;!-- hidden -->\n")
        assert text.count("\n## Root cause\n") == 1
        assert "> # not a heading\n> &lt;script>" in text

    def test_minimal_incident(self) -> None:
        """An incident with nothing recorded still renders every section."""
        incident = IncidentState(
            id="INC-1", title="t", severity="minor", team="delivery", declared_by="bob",
            declared_at=T0,
        )  # fmt: skip
        text = render_postmortem(incident, config())

        assert "No rollback decision was recorded." in text
        assert "No status updates were posted." in text
        assert "None yet. Add them with `tocsin incident followup INC-1`" in text
        assert "| Resolved | not yet |" in text


class TestTemplateOverride:
    """A config may replace the template; broken templates fail clearly and for good."""

    async def test_custom_template_relative_to_config(
        self, tmp_path: Path, fake: FakeGithub
    ) -> None:
        (tmp_path / "pm.md.j2").write_text(
            "# {{ incident.id }} in {{ tz }}\n{{ when(incident.declared_at) }}\n"
        )
        acts = activities(fake, config(postmortem={"template": "pm.md.j2"}), config_dir=tmp_path)

        result = await ActivityEnvironment().run(
            acts.publish_postmortem, PostmortemRequest(incident=sample_incident())
        )

        assert result.markdown == "# INC-7 in America/Chicago\n2026-03-10 09:02 CDT (14:02 UTC)\n"

    @pytest.mark.parametrize(
        ("template", "fragment"),
        [("{{ nope }}", "'nope' is undefined"), ("{% if %}", "line 1")],
    )
    async def test_broken_template(
        self, tmp_path: Path, fake: FakeGithub, template: str, fragment: str
    ) -> None:
        (tmp_path / "pm.md.j2").write_text(template)
        acts = activities(fake, config(postmortem={"template": "pm.md.j2"}), config_dir=tmp_path)

        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                acts.publish_postmortem, PostmortemRequest(incident=sample_incident())
            )
        assert caught.value.type == "TemplateError"
        assert caught.value.non_retryable
        assert fragment in str(caught.value)
        assert fake.requests == []

    async def test_missing_template(self, tmp_path: Path) -> None:
        acts = activities(None, config(postmortem={"template": "gone.j2"}), config_dir=tmp_path)
        with pytest.raises(ApplicationError, match=r"incidents.postmortem.template: cannot read"):
            await ActivityEnvironment().run(
                acts.publish_postmortem, PostmortemRequest(incident=sample_incident())
            )


class TestPublishPostmortem:
    """The draft goes to an issue or a file, and to the severity's recipients by mail."""

    async def test_issue_idempotent(self, fake: FakeGithub) -> None:
        """Published as an issue labelled postmortem and INC-7; a retry finds the same one."""
        acts = activities(fake)
        request = PostmortemRequest(incident=sample_incident(), send=False)

        first = await ActivityEnvironment().run(acts.publish_postmortem, request)
        again = await ActivityEnvironment().run(acts.publish_postmortem, request)

        assert first.url == again.url == "https://github.com/acme/shop/issues/1"
        assert first.published == "issue"
        [issue] = fake.issues["acme/shop"]
        assert issue.title == "Postmortem: INC-7 Checkout returns 500s"
        assert issue.labels == ["postmortem", "INC-7"]
        assert issue.body is not None
        assert issue.body.startswith(first.markdown)

    async def test_file(self, fake: FakeGithub) -> None:
        """Committed to the postmortem repo at the path with the id filled in."""
        cfg = config(postmortem={"publish": "file", "repo": "acme/docs", "path": "pm/{id}.md"})

        result = await ActivityEnvironment().run(
            activities(fake, cfg).publish_postmortem,
            PostmortemRequest(incident=sample_incident(), send=False),
        )

        assert result.url == "https://github.com/acme/docs/blob/main/pm/INC-7.md"
        assert fake.file("acme/docs", "pm/INC-7.md") == result.markdown

    async def test_without_github_only_rendered(self) -> None:
        """No tracker: the markdown comes back with no URL for the workflow to post."""
        result = await ActivityEnvironment().run(
            activities(None).publish_postmortem,
            PostmortemRequest(incident=sample_incident(), send=False),
        )

        assert result.url is None
        assert result.published is None
        assert result.markdown.startswith("# Postmortem: INC-7")

    async def test_timeline_kept_in_the_store_is_in_the_draft(self) -> None:
        """An incident open for long spilled its oldest entries: the draft has them too."""
        store = MemoryStore()
        incident = sample_incident()
        old = [
            TimelineEntry(at=incident.declared_at, kind="chat", text=f"archived entry {i}")
            for i in range(3)
        ]
        await store.archive_timeline(TimelineSpill(subject="incident-INC-7", start=0, entries=old))
        spilled = incident.model_copy(update={"timeline_archived": 3})
        tracker = TrackerActivities(
            Config(config()), None, None, API, render_postmortem, archive=store
        )
        result = await ActivityEnvironment().run(
            tracker.publish_postmortem, PostmortemRequest(incident=spilled, send=False)
        )

        assert "archived entry 0" in result.markdown
        assert "archived entry 2" in result.markdown
        assert incident.timeline[-1].text.split("\n")[0][:30] in result.markdown

    async def test_no_repository(self, fake: FakeGithub) -> None:
        """GitHub but no repo anywhere in the config: a final NotConfigured naming the keys."""
        incident = sample_incident().model_copy(update={"service": None})
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                activities(fake).publish_postmortem, PostmortemRequest(incident=incident)
            )
        assert caught.value.type == "NotConfigured"
        assert caught.value.non_retryable
        assert "incidents.postmortem.repo" in str(caught.value)

    async def test_mailed_to_recipients(
        self, fake: FakeGithub, smtp: tuple[RecordingHandler, SmtpMailer]
    ) -> None:
        """Team, person and address recipients get one plain-text mail with the link."""
        handler, mailer = smtp

        result = await ActivityEnvironment().run(
            activities(fake, mailer=mailer).publish_postmortem,
            PostmortemRequest(incident=sample_incident()),
        )

        assert result.emailed == ["dana@example.com", "bob@example.com", "ops@example.com"]
        [mail] = handler.mails()
        assert mail["Subject"] == "Postmortem draft: INC-7 Checkout returns 500s"
        assert mail["X-Tocsin-Incident"] == "INC-7"
        assert mail.get_content_type() == "text/plain"
        body = mail.get_content().replace("\r\n", "\n")  # SMTP lines end in CRLF
        assert body.startswith(f"Published at {result.url}\n\n# Postmortem: INC-7")
        assert sorted(handler.envelopes[0].rcpt_tos) == sorted(result.emailed)

    async def test_not_mailed_for_severity_without_recipients(
        self, fake: FakeGithub, smtp: tuple[RecordingHandler, SmtpMailer]
    ) -> None:
        handler, mailer = smtp
        incident = sample_incident().model_copy(update={"severity": "minor"})

        result = await ActivityEnvironment().run(
            activities(fake, mailer=mailer).publish_postmortem,
            PostmortemRequest(incident=incident),
        )

        assert result.emailed == []
        assert handler.envelopes == []

    def test_recipients(self) -> None:
        """Unknown names and people without email are skipped; duplicates are dropped."""
        assert recipient_addresses(config(), ["dana", "leads", "nobody", "x@y.z"]) == [
            "dana@example.com",
            "x@y.z",
        ]


class TestFollowupActivities:
    """Follow-up issues through the activities: login mapping, links, checks."""

    async def test_spec_created_with_person_login(self, fake: FakeGithub) -> None:
        """A pure spec from the workflow; the assignee's person id becomes their login."""
        followup = FollowUp(
            number=1,
            title="Canary the payment client",
            body="Roll out to 5% first.",
            assignee="alice",
            added_by="bob",
            added_at=T0,
        )
        spec = followup_issue_spec(
            "INC-7",
            "Checkout returns 500s",
            followup,
            repo="acme/shop",
            labels=["incident"],
            incident_url=f"{API}/api/incidents/INC-7",
        )
        assert spec.key == "INC-7/followup/1"
        assert spec.labels == ["incident", "INC-7"]
        assert f"[INC-7]({API}/api/incidents/INC-7)" in spec.body

        ref = await ActivityEnvironment().run(activities(fake).create_followup_issue, spec)

        issue = fake.issue("acme/shop", ref.number)
        assert issue.assignees == ["alice-gh"]
        assert incidents_from_labels(issue.labels) == ["INC-7"]

    async def test_person_without_login(self, fake: FakeGithub) -> None:
        followup = FollowUp(number=2, title="t", assignee="bob", added_by="bob", added_at=T0)
        spec = followup_issue_spec("INC-7", "x", followup, repo="acme/shop", labels=["incident"])

        ref = await ActivityEnvironment().run(activities(fake).create_followup_issue, spec)

        issue = fake.issue("acme/shop", ref.number)
        assert issue.assignees == []
        assert "Assigned to Bob Builder (no `github` login" in (issue.body or "")

    async def test_link_and_check(self, fake: FakeGithub) -> None:
        fake.add_issue("acme/shop", "Existing work")
        acts = activities(fake)

        ref = await ActivityEnvironment().run(
            acts.link_followup_issue, IssueLink(url="https://github.com/acme/shop/issues/1")
        )
        fresh = await ActivityEnvironment().run(
            acts.check_issue, IssueCheck(repo="acme/shop", number=1)
        )
        assert fresh is not None
        unchanged = await ActivityEnvironment().run(
            acts.check_issue, IssueCheck(repo="acme/shop", number=1, etag=fresh.etag)
        )

        assert ref.title == "Existing work"
        assert unchanged is None

    async def test_bad_link_is_final(self, fake: FakeGithub) -> None:
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                activities(fake).link_followup_issue, IssueLink(url="https://example.com/x")
            )
        assert caught.value.type == "Rejected"
        assert caught.value.non_retryable

    async def test_without_github(self) -> None:
        with pytest.raises(ApplicationError, match="GITHUB_TOKEN") as caught:
            await ActivityEnvironment().run(
                activities(None).check_issue, IssueCheck(repo="acme/shop", number=1)
            )
        assert caught.value.non_retryable

    async def test_optional_result_round_trips(self) -> None:
        """The data converter carries ``IssueRef | None`` both ways."""
        converter = pydantic_data_converter.payload_converter
        for value in (None, IssueRef(repo="a/b", number=1, url="u", etag='W/"x"')):
            [payload] = converter.to_payloads([value])
            assert converter.from_payloads([payload], [IssueRef | None]) == [value]


class RefusingLabels(GithubTracker):
    """GitHub where the token may read the issue but not label it."""

    async def add_label(self, repo: str, number: int, label: str) -> None:
        raise Rejected(f"GitHub refused labelling {repo}#{number} (403): the token lacks access")


class BrokenIndex(MemoryStore):
    """A store whose database is down."""

    async def remember_followup_issue(
        self, repo: str, number: int, incident_id: str, at: datetime
    ) -> None:
        raise Unavailable("incident log (remember follow-up issue): disk I/O error")


def linking(tracker: GithubTracker, index: MemoryStore) -> TrackerActivities:
    return TrackerActivities(
        Config(config()), tracker, None, API, render_postmortem, followups=index
    )


class TestLinkedIssues:
    """An issue linked to an incident is labelled with it and recorded for the webhook."""

    async def test_labelled_and_recorded(self, fake: FakeGithub) -> None:
        """The issue keeps its labels and gets INC-7; the index finds INC-7 by repo and number."""
        fake.add_issue("acme/shop", "Existing work", labels=["bug"])
        index = MemoryStore()
        acts = linking(GithubTracker(fake.token, base_url=fake.api_url), index)

        ref = await ActivityEnvironment().run(
            acts.link_followup_issue,
            IssueLink(url="https://github.com/acme/shop/issues/1", incident_id="INC-7"),
        )

        assert (ref.number, ref.title) == (1, "Existing work")
        assert fake.issue("acme/shop", 1).labels == ["bug", "INC-7"]
        assert incidents_from_labels(fake.issue("acme/shop", 1).labels) == ["INC-7"]
        assert await index.incidents_for_issue("acme/shop", 1) == ["INC-7"]

    async def test_links_of_older_incidents_are_left_alone(self, fake: FakeGithub) -> None:
        """A link without an incident (asked for before links were recorded) only reads."""
        fake.add_issue("acme/shop", "Existing work")
        index = MemoryStore()
        acts = linking(GithubTracker(fake.token, base_url=fake.api_url), index)

        await ActivityEnvironment().run(
            acts.link_followup_issue, IssueLink(url="https://github.com/acme/shop/issues/1")
        )

        assert fake.issue("acme/shop", 1).labels == []
        assert index.followup_issues == {}
        assert {r.method for r in fake.requests} == {"GET"}

    async def test_label_refused_still_links(self, fake: FakeGithub) -> None:
        """No right to label the issue: the link stands and the webhook still finds it."""
        fake.add_issue("acme/shop", "Existing work")
        index = MemoryStore()
        acts = linking(RefusingLabels(fake.token, base_url=fake.api_url), index)

        ref = await ActivityEnvironment().run(
            acts.link_followup_issue,
            IssueLink(url="https://github.com/acme/shop/issues/1", incident_id="INC-7"),
        )

        assert ref.number == 1
        assert fake.issue("acme/shop", 1).labels == []
        assert await index.incidents_for_issue("acme/shop", 1) == ["INC-7"]

    async def test_index_down_is_retried(self, fake: FakeGithub) -> None:
        """Without the record the webhook could not find the incident: the link is retried."""
        fake.add_issue("acme/shop", "Existing work")
        acts = linking(GithubTracker(fake.token, base_url=fake.api_url), BrokenIndex())

        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                acts.link_followup_issue,
                IssueLink(url="https://github.com/acme/shop/issues/1", incident_id="INC-7"),
            )

        assert caught.value.type == "Unavailable"
        assert not caught.value.non_retryable


class TestExample:
    """docs/examples/postmortem-INC-7.md is what the built-in template renders today."""

    def test_committed_example_is_current(self) -> None:
        """Regenerate with TOCSIN_WRITE_EXAMPLES=1 after changing the template."""
        rendered = render_postmortem(
            sample_incident(), config(), incident_url=f"{API}/api/incidents/INC-7"
        )
        if os.environ.get("TOCSIN_WRITE_EXAMPLES") == "1":
            EXAMPLE.parent.mkdir(parents=True, exist_ok=True)
            EXAMPLE.write_text(rendered, encoding="utf-8")
        assert EXAMPLE.read_text(encoding="utf-8") == rendered
