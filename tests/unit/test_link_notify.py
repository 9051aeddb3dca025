"""Notifications carry signed one-click links for the notified person, only when a link key
is configured; the CLI and curl lines stay as the fallback."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.adapters.console import ConsoleNotifier
from activities.adapters.smtp import SmtpNotifier, SmtpSettings
from activities.notify import NotifyActivities, render_message
from activities.ports import ActionLinks
from starters.links import LinkKey, SignedLinks
from tests.fakes.notifier import RecordingNotifier
from tests.unit.test_adapters import LoopbackController, RecordingHandler
from tests.unit.test_notify import API, CONFIG, StaticConfig, notify_input
from workflows.config import Person

KEY = "notify-test-link-key-0123456789abcdef"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LINK = re.compile(r"^(Acknowledge|Escalate|Open): +(\S+)$", re.MULTILINE)


def signer() -> SignedLinks:
    return SignedLinks(LinkKey(KEY), API, timedelta(hours=24), lambda: NOW)


def links_in(body: str) -> dict[str, str]:
    """The one-click links in a body (as written, or decoded from a mail's CRLF lines)."""
    return {name.lower(): url for name, url in LINK.findall(body.replace("\r\n", "\n"))}


class TestRenderMessage:
    """The body leads with the three links when there are links, and only then."""

    def test_without_links(self) -> None:
        message = render_message(notify_input(), API)

        assert message.links is None
        assert links_in(message.body) == {}
        assert "/a/" not in message.body
        assert "Acknowledge with:" in message.body.splitlines()

    def test_with_links(self) -> None:
        links = signer().page_links("db-down", "alice")

        message = render_message(notify_input(), API, links)

        assert message.links == links
        assert links_in(message.body) == {
            "acknowledge": links.acknowledge,
            "escalate": links.escalate,
            "open": links.open,
        }
        lines = message.body.splitlines()
        assert "(Each link asks you to confirm; they work until 2026-12-01 09:00 UTC.)" in lines
        # The CLI and curl lines follow, as the fallback.
        assert "Or acknowledge with:" in lines
        assert f"  {message.ack_command}" in lines
        assert lines.index("Or acknowledge with:") > lines.index(f"Open:        {links.open}")

    def test_links_bound_to_the_notified_person(self) -> None:
        links = signer().page_links("db-down", "bob")

        for url in links_in(render_message(notify_input(), API, links).body).values():
            grant = signer().check(url.removeprefix(f"{API}/a/"))
            assert (grant.subject, grant.person) == ("db-down", "bob")


class TestNotifyActivity:
    async def test_links_signed_for_the_person(self) -> None:
        """With a signer, each notification carries links for the person it notifies."""
        console = RecordingNotifier()
        acts = NotifyActivities(StaticConfig(), {"console": console}, API, signer())

        await ActivityEnvironment().run(acts.notify, notify_input(person="bob"))

        [sent] = console.sent
        assert sent.message.links is not None
        urls = links_in(sent.message.body)
        assert set(urls) == {"acknowledge", "escalate", "open"}
        grant = signer().check(urls["acknowledge"].removeprefix(f"{API}/a/"))
        assert (grant.subject, grant.action, grant.person) == ("db-down", "acknowledge", "bob")

    async def test_no_signer_no_links(self) -> None:
        console = RecordingNotifier()
        acts = NotifyActivities(StaticConfig(), {"console": console}, API)

        await ActivityEnvironment().run(acts.notify, notify_input())

        [sent] = console.sent
        assert sent.message.links is None
        assert links_in(sent.message.body) == {}

    async def test_console_logs_no_link(self) -> None:
        """The console notifier's log line keeps the CLI line and never a link."""
        message = render_message(notify_input(), API, signer().page_links("db-down", "alice"))

        with capture_logs() as logs:
            await ConsoleNotifier().send(CONFIG.people["alice"], "console", message)

        assert "/a/" not in repr(logs)
        assert logs[0]["ack"] == message.ack_command


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, SmtpSettings]]:
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, SmtpSettings(host="127.0.0.1", port=controller.port, sender="t@x.test")
    finally:
        controller.stop()


class TestEmail:
    async def test_links_survive_the_mail(
        self, smtp: tuple[RecordingHandler, SmtpSettings]
    ) -> None:
        """Long link lines are encoded for SMTP and decode back to the same URLs."""
        handler, settings = smtp
        links = signer().page_links("db-down", "alice")
        message = render_message(notify_input(), API, links)
        alice = Person(name="Alice", email="alice@example.com")

        await SmtpNotifier(settings).send(alice, "email", message)

        [envelope] = handler.envelopes
        assert isinstance(envelope.content, bytes)
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = mail.get_body(("plain",))
        assert body is not None
        assert links_in(body.get_content())["acknowledge"] == links.acknowledge


def test_action_links_shape() -> None:
    """ActionLinks is what the notify activity is given: three URLs and their expiry."""
    links = signer().page_links("p", "alice")

    assert isinstance(links, ActionLinks)
    assert links.expires_at == NOW + timedelta(hours=24)
