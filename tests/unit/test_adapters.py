"""Notifier adapters against real loopback servers: Apprise over HTTP, SMTP, the console log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.adapters.apprise import AppriseNotifier, expand
from activities.adapters.console import ConsoleNotifier
from activities.adapters.smtp import SmtpNotifier, SmtpSettings, message_id
from activities.adapters.sql_notifications import SqlNotificationLedger
from activities.adapters.sql_store import SqlStore
from activities.contacts import contact_label
from activities.errors import NotConfigured, Rejected, Unavailable
from activities.notify import NotifyActivities
from activities.ports import Message
from tests.fakes.receiver import Receiver
from tests.unit.test_notify import API, StaticConfig, notify_input
from workflows.config import Person

ALICE = Person(name="Alice Example", email="alice@example.com", contact=["console", "email"])
SENDER = "tocsin@example.com"
MESSAGE = Message(
    subject="[Tocsin] PAGE [delivery] Database is down (step 1/3)",
    body="Alice Example, you are paged for team delivery.\n\nPage:    db-down\nStep:    1 of 3\n",
    page_id="db-down",
    ack_command="tocsin page ack db-down --as alice",
    ack_url="http://127.0.0.1:8080/api/pages/db-down/ack",
)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A loopback HTTP server recording every Apprise ``json://`` delivery."""
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


class TestExpand:
    def test_variables_replaced(self) -> None:
        """Every ``${NAME}`` is replaced by the environment's value."""
        url = expand(
            "ntfy://${USER_}:${TOKEN}@ntfy.sh/${TOPIC}", {"USER_": "u", "TOKEN": "t", "TOPIC": "p"}
        )

        assert url == "ntfy://u:t@ntfy.sh/p"

    def test_no_variables(self) -> None:
        """A URL without references is returned unchanged."""
        assert expand("json://127.0.0.1:9000/hook", {}) == "json://127.0.0.1:9000/hook"

    def test_missing_variable_named(self) -> None:
        """A reference to an unset variable is NotConfigured, naming it but no set value."""
        with pytest.raises(NotConfigured) as caught:
            expand("ntfy://${TOKEN}@ntfy.sh/${NTFY_TOPIC}", {"TOKEN": "s3cr3t-value"})

        assert "NTFY_TOPIC" in str(caught.value)
        assert "s3cr3t-value" not in str(caught.value)


class TestAppriseNotifier:
    async def test_delivers_title_and_body(self, receiver: Receiver) -> None:
        """A ``json://`` URL posts the subject as title and the body as message."""
        label = await AppriseNotifier({}).send(ALICE, receiver.url("hook"), MESSAGE)

        [delivery] = receiver.deliveries
        assert delivery.path == "/hook"
        assert delivery.body["title"] == MESSAGE.subject
        assert delivery.message.strip() == MESSAGE.body.strip()
        assert delivery.page_id == "db-down"
        assert delivery.step == 1
        assert label == contact_label(f"json://127.0.0.1:{receiver.port}/hook")
        assert label.startswith(f"json://127.0.0.1:{receiver.port}/… #")

    async def test_environment_variable_expanded(self, receiver: Receiver) -> None:
        """``${VAR}`` in the URL is expanded at send time and kept out of the returned label."""
        address = f"json://127.0.0.1:{receiver.port}/${{HOOK_SECRET}}"

        label = await AppriseNotifier({"HOOK_SECRET": "s3cr3t-path"}).send(ALICE, address, MESSAGE)

        assert [d.path for d in receiver.deliveries] == ["/s3cr3t-path"]
        assert "s3cr3t" not in label

    async def test_missing_variable_not_configured(self, receiver: Receiver) -> None:
        """An unset variable in the URL is NotConfigured and nothing is sent."""
        address = f"json://127.0.0.1:{receiver.port}/${{HOOK_SECRET}}"

        with pytest.raises(NotConfigured, match="HOOK_SECRET"):
            await AppriseNotifier({}).send(ALICE, address, MESSAGE)

        assert receiver.deliveries == []

    async def test_server_error_unavailable_and_redacted(self, receiver: Receiver) -> None:
        """A 500 is Unavailable; the message names the redacted label, never path or password."""
        receiver.fail_status = 500
        address = f"json://hook-user:hook-pass@127.0.0.1:{receiver.port}/secret-path"

        with pytest.raises(Unavailable) as caught:
            await AppriseNotifier({}).send(ALICE, address, MESSAGE)

        text = str(caught.value)
        assert text.startswith(f"{contact_label(address)}: ")
        assert text.startswith(f"json://127.0.0.1:{receiver.port}/… #")
        assert "500" in text
        for secret in ("hook-user", "hook-pass", "secret-path"):
            assert secret not in text

    async def test_invalid_url_rejected(self) -> None:
        """A URL Apprise does not understand is Rejected (retrying will not help)."""
        with pytest.raises(Rejected, match=r"notaschema://… #[0-9a-f]{6} is not a valid"):
            await AppriseNotifier({}).send(ALICE, "notaschema://x", MESSAGE)


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that keeps every envelope and refuses listed recipients."""

    envelopes: list[Envelope] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    # Seconds the server holds its answer to DATA after keeping the mail.
    delay: float = 0.0

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def mails(self) -> list[EmailMessage]:
        """Every accepted mail, parsed."""
        parser = BytesParser(policy=default)
        return [parser.parsebytes(e.original_content or b"") for e in self.envelopes]


class LoopbackController(Controller):
    """An aiosmtpd Controller on an ephemeral port.

    aiosmtpd 1.4 connects to ``self.port`` to check the server is up, which fails for
    port 0; read the bound port from the listening socket first.
    """

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, SmtpSettings]]:
    """A real SMTP server on 127.0.0.1 and settings that point at it."""
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield (
            handler,
            SmtpSettings(host="127.0.0.1", port=controller.port, sender=SENDER, timeout=5),
        )
    finally:
        controller.stop()


class TestSmtpNotifier:
    async def test_mail_delivered(self, smtp: tuple[RecordingHandler, SmtpSettings]) -> None:
        """The page arrives by mail: sender, recipient, subject, page header and body."""
        handler, settings = smtp

        where = await SmtpNotifier(settings).send(ALICE, "email", MESSAGE)

        assert where == "email alice@example.com"
        [envelope] = handler.envelopes
        assert envelope.mail_from == SENDER
        assert envelope.rcpt_tos == ["alice@example.com"]
        [mail] = handler.mails()
        assert mail["From"] == SENDER
        assert mail["To"] == "alice@example.com"
        assert mail["Subject"] == MESSAGE.subject
        assert mail["X-Tocsin-Page"] == "db-down"
        body = mail.get_body()
        assert body is not None
        assert body.get_content().splitlines() == MESSAGE.body.splitlines()

    async def test_person_without_email(self, smtp: tuple[RecordingHandler, SmtpSettings]) -> None:
        """A person with no email address is NotConfigured and no mail is sent."""
        handler, settings = smtp

        with pytest.raises(NotConfigured, match="Bob"):
            await SmtpNotifier(settings).send(Person(name="Bob"), "email", MESSAGE)

        assert handler.envelopes == []

    async def test_connection_refused_unavailable(self, closed_port: int) -> None:
        """A server that refuses connections is Unavailable (worth retrying)."""
        settings = SmtpSettings(host="127.0.0.1", port=closed_port, sender=SENDER, timeout=5)

        with pytest.raises(Unavailable, match=f"127.0.0.1:{closed_port}"):
            await SmtpNotifier(settings).send(ALICE, "email", MESSAGE)

    async def test_recipient_refused_rejected(
        self, smtp: tuple[RecordingHandler, SmtpSettings]
    ) -> None:
        """A recipient the server refuses is Rejected (retrying will not help)."""
        handler, settings = smtp
        handler.refused.add("alice@example.com")

        with pytest.raises(Rejected, match="no such user"):
            await SmtpNotifier(settings).send(ALICE, "email", MESSAGE)

        assert handler.envelopes == []


def attempt(number: int) -> ActivityEnvironment:
    """An activity environment as Temporal runs attempt ``number`` of one activity."""
    env = ActivityEnvironment()
    env.info = replace(env.info, attempt=number)
    return env


class TestSmtpOnce:
    """A page's mail has a Message-ID made from its delivery key; a confirmed delivery is
    not mailed again, an unconfirmed one is mailed again as the same message."""

    async def test_message_id_from_the_delivery_key(
        self, smtp: tuple[RecordingHandler, SmtpSettings]
    ) -> None:
        """The Message-ID names the delivery, in the sender's domain."""
        handler, settings = smtp

        await SmtpNotifier(settings).send(ALICE, "email", replace(MESSAGE, delivery_key="k1"))

        [mail] = handler.mails()
        assert mail["Message-ID"] == "<tocsin.k1@example.com>"

    def test_message_id_of_a_named_sender(self) -> None:
        """``Tocsin <tocsin@example.com>`` gives the same domain; a bare name gives localhost."""
        assert message_id("k1", "Tocsin <tocsin@example.com>") == "<tocsin.k1@example.com>"
        assert message_id("k1", "tocsin") == "<tocsin.k1@localhost>"

    async def test_retried_delivery_over_real_smtp(
        self, smtp: tuple[RecordingHandler, SmtpSettings], tmp_path: Path
    ) -> None:
        """The first attempt is cut off while the server holds its answer (the mail is in):
        the retry mails it again with the same Message-ID; once confirmed, a further
        retry mails nothing."""
        handler, settings = smtp
        handler.delay = 1.0
        store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'tocsin.db'}")
        acts = NotifyActivities(
            StaticConfig(),
            {"email": SmtpNotifier(settings)},
            API,
            ledger=SqlNotificationLedger(store),
        )
        request = notify_input(method="email")
        try:
            first = asyncio.create_task(attempt(1).run(acts.notify, request))
            for _ in range(500):  # until the server has the mail (its answer is held)
                if handler.envelopes:
                    break
                await asyncio.sleep(0.01)
            assert handler.envelopes
            first.cancel()  # the worker died: no answer, no confirmation
            with pytest.raises(asyncio.CancelledError):
                await first
            handler.delay = 0.0

            again = await attempt(2).run(acts.notify, request)
            await attempt(3).run(acts.notify, request)
        finally:
            await store.close()

        assert again.delivered_to == "email alice@example.com"
        first_copy, second_copy = handler.mails()
        assert first_copy["Message-ID"] == second_copy["Message-ID"]
        assert str(first_copy["Message-ID"]).startswith("<tocsin.")


class TestConsoleNotifier:
    async def test_logs_page_and_ack_command(self) -> None:
        """One warning names the person, the page and the command that acknowledges it."""
        with capture_logs() as logs:
            where = await ConsoleNotifier().send(ALICE, "console", MESSAGE)

        assert where == "console"
        assert logs == [
            {
                "event": "PAGE",
                "log_level": "warning",
                "person": "Alice Example",
                "page_id": "db-down",
                "subject": MESSAGE.subject,
                "ack": "tocsin page ack db-down --as alice",
            }
        ]
