"""Page notifications: secret-free contact labels, the rendered message, and the notify activity."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contacts import contact_label, find_contact
from activities.errors import (
    AdapterError,
    NotConfigured,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)
from activities.notify import NotifyActivities, render_message
from activities.ports import Notifier
from tests.fakes.notifier import RecordingNotifier
from workflows.config import Person, TocsinConfig
from workflows.models import NotifyInput, NotifyResult

API = "https://tocsin.example.com"
HOOK = "json://hook-user:hook-pass@hooks.example.com:8443/services/T0K3N"
NTFY = "ntfy://ntfy.sh/${NTFY_TOPIC}"

CONFIG = TocsinConfig.model_validate(
    {
        "people": {
            "alice": {
                "name": "Alice Example",
                "email": "alice@example.com",
                "contact": ["console", "email", HOOK],
            },
            "bob": {"name": "Bob Builder", "contact": ["console", NTFY]},
        },
        "teams": {"delivery": {"members": ["alice", "bob"], "escalation_policy": "delivery"}},
        "escalation_policies": {
            "delivery": {"steps": [{"targets": ["team:delivery"], "ack_timeout": "10m"}]}
        },
    }
)


@dataclass
class StaticConfig:
    """A ConfigSource that always answers with the same configuration."""

    config: TocsinConfig = CONFIG

    def current(self) -> TocsinConfig:
        return self.config


def notify_input(**changes: Any) -> NotifyInput:
    """A notification of alice by console for step 1 of 3, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "page_id": "db-down",
        "team": "delivery",
        "summary": "Database is down",
        "person": "alice",
        "person_name": "Alice Example",
        "method": "console",
        "step": 1,
        "step_count": 3,
    }
    fields.update(changes)
    return NotifyInput.model_validate(fields)


def activities(**notifiers: Notifier) -> NotifyActivities:
    """Notify activities over the static config, with the given notifiers by kind."""
    return NotifyActivities(StaticConfig(), notifiers, API)


async def notify_error(acts: NotifyActivities, request: NotifyInput) -> ApplicationError:
    """Run the notify activity and return the ApplicationError it must raise."""
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.notify, request)
    return caught.value


class TestContactLabel:
    @pytest.mark.parametrize("method", ["console", "email", "slack"])
    def test_builtins_unchanged(self, method: str) -> None:
        """Built-in contact methods are their own label."""
        assert contact_label(method) == method

    def test_credentials_and_path_removed(self) -> None:
        """A URL keeps scheme, host and port but loses the user, password and path."""
        label = contact_label(HOOK)

        assert label.startswith("json://hooks.example.com:8443/… #")
        for secret in ("hook-user", "hook-pass", "services", "T0K3N"):
            assert secret not in label

    def test_mailto_password_removed(self) -> None:
        """``mailto://user:pw@host`` is shown as ``mailto://… #<fingerprint>``."""
        label = contact_label("mailto://user:pw@example.com")
        assert label.startswith("mailto://… #")
        assert "pw" not in label

    def test_environment_reference_in_path_removed(self) -> None:
        """A ``${VAR}`` in the path is dropped along with the rest of the path."""
        assert contact_label(NTFY).startswith("ntfy://… #")
        assert "$" not in contact_label(NTFY)

    def test_unparsable_port_dropped(self) -> None:
        """A port that is not a number is left out rather than failing."""
        assert contact_label("json://hooks.example.com:notaport/x").startswith(
            "json://hooks.example.com/… #"
        )


class TestFindContact:
    person = CONFIG.people["alice"]

    def test_label_finds_full_url(self) -> None:
        """The label of a URL contact finds the full URL, credentials included."""
        assert find_contact(self.person, contact_label(HOOK)) == HOOK

    def test_builtin_found_by_name(self) -> None:
        """A built-in method is found by its own name."""
        assert find_contact(self.person, "email") == "email"

    def test_removed_method_not_found(self) -> None:
        """A label the person no longer has gives None."""
        assert find_contact(self.person, "slack") is None
        assert find_contact(self.person, "json://other.example.com/…") is None

    def test_two_urls_on_one_host_are_distinct(self) -> None:
        """Two ntfy topics on ntfy.sh are two contact methods, each reachable by its label."""
        primary, backup = "ntfy://ntfy.sh/alice-primary", "ntfy://ntfy.sh/alice-backup"
        person = Person(name="Alice", contact=[primary, backup])
        labels = [contact_label(m) for m in person.contact]

        assert [find_contact(person, label) for label in labels] == [primary, backup]


class TestRenderMessage:
    def test_subject(self) -> None:
        """The subject names the team, the summary and the step."""
        message = render_message(notify_input(step=2, step_count=3), API)

        assert message.subject == "[Tocsin] PAGE [delivery] Database is down (step 2/3)"

    def test_body_identifies_page_and_step(self) -> None:
        """The body has the page id, the summary and 'n of m' on their own lines."""
        body = render_message(notify_input(step=2, step_count=3), API).body.splitlines()

        assert body[0] == "Alice Example, you are paged for team delivery."
        assert "Page:    db-down" in body
        assert "Summary: Database is down" in body
        assert "Step:    2 of 3" in body

    def test_body_says_how_to_ack(self) -> None:
        """The body gives the CLI command and a curl line that posts to the ack URL."""
        message = render_message(notify_input(), API)
        lines = message.body.splitlines()

        assert message.ack_command == "tocsin page ack db-down --as alice"
        assert message.ack_url == f"{API}/api/pages/db-down/ack"
        assert f"  {message.ack_command}" in lines
        curl = next(line for line in lines if line.lstrip().startswith("curl "))
        assert shlex.split(curl)[-1] == message.ack_url
        assert "Authorization: Bearer $TOCSIN_API_TOKEN" in curl
        assert '{"by": "alice"}' in curl

    def test_trailing_slash_in_api_url(self) -> None:
        """A public URL ending in '/' does not produce '//' in the ack URL."""
        message = render_message(notify_input(), API + "/")

        assert message.ack_url == f"{API}/api/pages/db-down/ack"

    def test_details_included(self) -> None:
        """Details, when given, appear in the body."""
        body = render_message(notify_input(details="see https://grafana/d/1"), API).body

        assert "see https://grafana/d/1" in body.splitlines()

    def test_shell_special_page_id_quoted(self) -> None:
        """An id with shell metacharacters is quoted so the command acks that exact id."""
        page_id = "x; rm -rf ~ $(id)"
        message = render_message(notify_input(page_id=page_id), API)

        assert shlex.split(message.ack_command) == [
            "tocsin",
            "page",
            "ack",
            page_id,
            "--as",
            "alice",
        ]
        assert f"Page:    {page_id}" in message.body.splitlines()


class TestNotifyActivity:
    async def test_success(self) -> None:
        """A console notification is sent to the person and reported by its label."""
        console = RecordingNotifier()

        result = await ActivityEnvironment().run(
            activities(console=console).notify, notify_input(step=2, step_count=3)
        )

        assert result == NotifyResult(method="console", delivered_to="console")
        [sent] = console.sent
        assert sent.person == "Alice Example"
        assert sent.address == "console"
        assert sent.message.page_id == "db-down"
        assert "Step:    2 of 3" in sent.message.body

    async def test_url_contact_gets_full_url(self) -> None:
        """A URL contact, named by its label, reaches the apprise notifier with its secrets."""
        apprise = RecordingNotifier()
        label = contact_label(HOOK)

        result = await ActivityEnvironment().run(
            activities(apprise=apprise).notify, notify_input(method=label)
        )

        assert result.method == label
        assert [s.address for s in apprise.sent] == [HOOK]

    async def test_unknown_person_rejected(self) -> None:
        """A person removed from the config is a non-retryable Rejected failure."""
        console = RecordingNotifier()

        error = await notify_error(activities(console=console), notify_input(person="zed"))

        assert error.type == "Rejected"
        assert error.non_retryable
        assert "zed" in error.message
        assert console.attempts == {}

    async def test_removed_contact_rejected(self) -> None:
        """A contact method the person no longer has is a non-retryable Rejected failure."""
        slack = RecordingNotifier()

        error = await notify_error(activities(slack=slack), notify_input(method="slack"))

        assert error.type == "Rejected"
        assert error.non_retryable
        assert "slack" in error.message
        assert slack.attempts == {}

    async def test_missing_notifier_not_configured(self) -> None:
        """Email without an SMTP notifier is a non-retryable NotConfigured failure."""
        error = await notify_error(
            activities(console=RecordingNotifier()), notify_input(method="email")
        )

        assert error.type == "NotConfigured"
        assert error.non_retryable
        assert "email" in error.message

    async def test_unavailable_retried(self) -> None:
        """An unreachable service gives a retryable Unavailable failure with its message."""
        console = RecordingNotifier(failures={"console": Unavailable("terminal gone")})

        error = await notify_error(activities(console=console), notify_input())

        assert error.type == "Unavailable"
        assert not error.non_retryable
        assert error.message == "terminal gone"

    async def test_rate_limited_waits(self) -> None:
        """A rate limit becomes a retryable failure with the service's retry delay."""
        console = RecordingNotifier(failures={"console": RateLimited("slow down", retry_after=7)})

        error = await notify_error(activities(console=console), notify_input())

        assert error.type == "RateLimited"
        assert not error.non_retryable
        assert error.next_retry_delay == timedelta(seconds=7)

    @pytest.mark.parametrize(
        ("failure", "kind"),
        [
            (Rejected("address refused"), "Rejected"),
            (NotConfigured("no token"), "NotConfigured"),
            (NotFound("no such channel"), "NotFound"),
        ],
    )
    async def test_permanent_adapter_errors_not_retried(
        self, failure: AdapterError, kind: str
    ) -> None:
        """Adapter errors other than Unavailable and RateLimited are not retried."""
        console = RecordingNotifier(failures={"console": failure})

        error = await notify_error(activities(console=console), notify_input())

        assert error.type == kind
        assert error.non_retryable
        assert error.message == str(failure)


class TestLabelSecrets:
    @pytest.mark.parametrize(
        ("url", "secret"),
        [
            ("pover://userkey@APPTOKEN123", "apptoken123"),
            ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "t1jj3t3l2"),
            ("mailto://user:hunter2@mail.example.com", "hunter2"),
        ],
    )
    def test_token_in_host_position_is_not_shown(self, url: str, secret: str) -> None:
        """Schemes that carry a token where a host would be show only scheme and fingerprint."""
        label = contact_label(url)
        assert secret not in label.lower()
        assert label.startswith(url.split("://", maxsplit=1)[0] + "://… #")
