"""Incidents announce by e-mail where their severity says, and the top severity's
postmortem is mailed: the worker's activities over a real SMTP server (aiosmtpd on
loopback), on the time-skipping server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import start_time_skipping
from tests.unit.test_adapters import LoopbackController, RecordingHandler
from tests.workflows.test_incident import Desk, open_desk
from worker.settings import Settings
from workflows.actors import Acted
from workflows.incident_models import IncidentState, ResolveInput, RoleInput

SENDER = "tocsin@company.example"

# The handbooks' company-wide mail for P3 and above; the top severity mails its postmortem.
MAIL_CONFIG = """
people:
  alice: {name: Alice, email: alice@company.example, contact: [console]}
  bob: {name: Bob, contact: [console]}
teams:
  delivery: {members: [alice, bob], escalation_policy: delivery}
escalation_policies:
  delivery: {steps: [{targets: ["person:alice"], ack_timeout: 10m}]}
services:
  search: {team: delivery, repo: acme/search}
severities:
  - name: P1
    announce: ["slack:#incidents", "email:all@company.example"]
    update_interval: 15m
    postmortem: true
    postmortem_recipients: [leads@company.example, alice]
  - {name: P3, page: false, announce: ["#incidents", "email:all@company.example"]}
  - {name: P4, page: false, announce: ["#incidents"]}
incidents:
  followups: {repo: acme/ops}
"""


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, int]]:
    """A real SMTP server on 127.0.0.1: the mails it accepted, and its port."""
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def desk(tmp_path: Path, smtp: tuple[RecordingHandler, int]) -> AsyncIterator[Desk]:
    _, port = smtp
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from=SENDER, smtp_timeout=5)
    env = await start_time_skipping()
    try:
        async for opened in open_desk(env, tmp_path, MAIL_CONFIG, settings):
            yield opened
    finally:
        await env.shutdown()


async def mail_with(handler: RecordingHandler, subject: str) -> EmailMessage:
    """The accepted mail whose subject starts with ``subject`` (mail trails the state)."""
    for _ in range(250):
        found = [m for m in handler.mails() if str(m["Subject"]).startswith(subject)]
        if found:
            [mail] = found
            return mail
        await asyncio.sleep(0.02)
    pytest.fail(f"no mail {subject!r}: {[m['Subject'] for m in handler.mails()]}")


def recipients(handler: RecordingHandler, mail: EmailMessage) -> list[str]:
    [envelope] = [e for e in handler.envelopes if mail["Subject"] in str(e.content)]
    return sorted(envelope.rcpt_tos)


class TestAnnouncedByMail:
    async def test_declared_at_the_top_severity_mail_then_postmortem(
        self, desk: Desk, smtp: tuple[RecordingHandler, int]
    ) -> None:
        """P1 is announced in #incidents and mailed company-wide; resolved, its postmortem
        draft is mailed to the severity's recipients."""
        handler, _ = smtp
        state = await desk.declare(severity="P1", service="search", title="Search is down")
        mail = await mail_with(handler, f"[P1] {state.id} declared: Search is down")
        assert mail["From"] == SENDER
        assert mail["To"] == "all@company.example"
        assert mail["X-Tocsin-Incident"] == state.id
        body = mail.get_content()
        assert f"{state.id} · P1 · Search is down" in body
        assert "Declared by bob" in body
        assert f"/api/incidents/{state.id}" in body
        await desk.heard("#incidents", f"{state.id} · P1 · Search is down")
        assert not desk.chat.said("slack:#incidents", state.id), "slack: names the channel"
        state = await desk.settled(state.id, lambda s: "announced-mail" in desk.kinds(s))
        [sent] = [e.text for e in state.timeline if e.kind == "announced-mail"]
        assert sent == f"Mailed “[P1] {state.id} declared: Search is down” to all@company.example"

        await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
        await desk.incidents.resolve(
            state.id, ResolveInput(resolution="fixed", summary="restarted", by="alice")
        )
        postmortem = await mail_with(handler, f"Postmortem draft: {state.id} Search is down")
        assert recipients(handler, postmortem) == [
            "alice@company.example",
            "leads@company.example",
        ]
        assert f"# Postmortem: {state.id}" in postmortem.get_content()
        state = await desk.settled(state.id, lambda s: s.postmortem_url is not None)
        [entry] = [e.text for e in state.timeline if e.text.startswith("Postmortem draft pub")]
        assert "sent to leads@company.example, alice@company.example" in entry

    async def test_raised_to_an_announcing_severity_is_mailed(
        self, desk: Desk, smtp: tuple[RecordingHandler, int]
    ) -> None:
        """P4 is not mailed; raised to P3, the company hears about it by mail."""
        handler, _ = smtp
        state = await desk.declare(severity="P4", title="Slow builds")
        await desk.heard("#incidents", f"{state.id} · P4 · Slow builds")
        await desk.incidents.change_severity(state.id, "P3", Acted(by="bob"))
        mail = await mail_with(handler, f"[P3] {state.id} is now P3 (was P4): Slow builds")
        assert recipients(handler, mail) == ["all@company.example"]
        assert len(handler.mails()) == 1, "P4 itself was not mailed"

    async def test_late_updates_are_not_mailed(
        self, desk: Desk, smtp: tuple[RecordingHandler, int]
    ) -> None:
        """The announce channels hear of missing updates; the mailing list does not."""
        handler, _ = smtp
        state = await desk.declare(severity="P1", title="Checkout fails")
        await mail_with(handler, f"[P1] {state.id} declared")
        await desk.env.sleep(timedelta(minutes=31))
        await desk.settled(state.id, lambda s: s.reminders == 2)
        await desk.heard("#incidents", f"{state.id}: no status update for 30m")
        assert len(handler.mails()) == 1


class TestWithoutMail:
    async def test_no_smtp_is_in_the_timeline_and_the_incident_goes_on(
        self, tmp_path: Path
    ) -> None:
        """Without SMTP the announcement cannot be mailed: the timeline says why, and chat
        still hears of it."""
        env = await start_time_skipping()
        try:
            async for desk in open_desk(env, tmp_path, MAIL_CONFIG):
                state = await desk.declare(severity="P3", title="Slow pages")
                state = await desk.settled(
                    state.id, lambda s: any(e.kind == "announce-failed" for e in s.timeline)
                )
                [failed] = [e.text for e in state.timeline if e.kind == "announce-failed"]
                assert failed.startswith(
                    f"Could not mail “[P3] {state.id} declared: Slow pages” to "
                    "email:all@company.example: SMTP is not configured"
                )
                await desk.heard("#incidents", f"{state.id} · P3 · Slow pages")
                assert isinstance(await desk.incidents.get(state.id), IncidentState)
        finally:
            await env.shutdown()
