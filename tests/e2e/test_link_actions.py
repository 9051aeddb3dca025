"""A signed link from a real e-mail acknowledges a page: the dev server, a worker that mails
through a real SMTP server (aiosmtpd), and the API under uvicorn, all on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import Envelope
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from starters.api import TocsinClient
from starters.http.app import create_app
from starters.links import LinkGrant, LinkKey, link_signer
from tests.conftest import serving
from tests.e2e.conftest import end_open_pages
from tests.unit.test_adapters import LoopbackController, RecordingHandler
from worker.build import build_worker
from worker.config import ConfigFile
from worker.settings import Settings

pytestmark = pytest.mark.e2e

CONFIG = """
timezone: UTC
people:
  alice: {name: Alice Example, email: alice@example.com, contact: [email]}
  bob: {name: Bob Builder, email: bob@example.com, contact: [email]}
teams:
  delivery: {members: [alice, bob], escalation_policy: delivery}
escalation_policies:
  delivery:
    steps:
      - {targets: ["person:alice"], ack_timeout: 1h}
      - {targets: ["person:bob"], ack_timeout: 1h}
routes:
  - {default: true, team: delivery}
"""
LINK = re.compile(r"^(Acknowledge|Escalate|Open): +(\S+)\r?$", re.MULTILINE)
SCHEMATHESIS = Path(sys.executable).parent / "st"
# Any token a fuzzer makes is refused (400), or names a page that is not there (404).
FUZZ_SETTINGS = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "404", "409", "410"]
"""


@dataclass
class LinkStack:
    url: str
    http: httpx.AsyncClient  # the API, with the bootstrap token
    browser: httpx.AsyncClient  # no token, no cookies: what a phone's mail app opens
    mails: RecordingHandler
    key: str


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, int]]:
    """A real SMTP server on 127.0.0.1: every message it accepts, and its port."""
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def link_stack(
    dev_env: WorkflowEnvironment, smtp: tuple[RecordingHandler, int], tmp_path: Path
) -> AsyncIterator[LinkStack]:
    """The API and a worker configured as `tocsin api` and `tocsin worker` would be with
    TOCSIN_LINK_KEY and TOCSIN_SMTP_HOST set; the worker mails alice and bob."""
    handler, port = smtp
    config_path = tmp_path / "tocsin.yaml"
    config_path.write_text(CONFIG)
    config = ConfigFile(config_path)
    task_queue = f"e2e-links-{uuid.uuid4()}"
    token = secrets.token_urlsafe(16)
    key = secrets.token_urlsafe(32)
    settings = Settings(
        task_queue=task_queue,
        data_dir=tmp_path,
        link_key=SecretStr(key),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout=5,
    )
    tocsin = TocsinClient(dev_env.client, config, task_queue)
    app = create_app(token, tocsin, links=link_signer(settings, ""))
    async with serving(app) as url:
        worker_settings = settings.model_copy(update={"public_url": url})
        async with (
            build_worker(dev_env.client, worker_settings, config, task_queue=task_queue),
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
            ) as http,
            httpx.AsyncClient(timeout=20) as browser,
        ):
            yield LinkStack(url, http, browser, handler, key)
            await end_open_pages(dev_env.client, task_queue)


async def mail_to(mails: RecordingHandler, address: str, page_id: str) -> str:
    """The plain-text body of the first mail to ``address`` about the page (waits 20 s)."""
    for _ in range(200):
        for envelope in list(mails.envelopes):
            body = _body_about(envelope, address, page_id)
            if body is not None:
                return body
        await asyncio.sleep(0.1)
    pytest.fail(f"no mail to {address} about page {page_id}")


def _body_about(envelope: Envelope, address: str, page_id: str) -> str | None:
    if address not in envelope.rcpt_tos or not isinstance(envelope.content, bytes):
        return None
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    if mail["X-Tocsin-Page"] != page_id:
        return None
    part = mail.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


async def page(stack: LinkStack, page_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = (await stack.http.get(f"/api/pages/{page_id}")).json()
    return shown


class TestLinkFromEmail:
    async def test_get_confirm_post_acknowledges(self, link_stack: LinkStack) -> None:
        """The mailed acknowledge link: GET confirms (the page stays triggered), POST acts as
        alice; a tampered link and an expired one change nothing; a replay is refused."""
        stack = link_stack
        created = await stack.http.post(
            "/api/pages", json={"team": "delivery", "summary": "Disk full on gitserver-0"}
        )
        assert created.status_code == 201, created.text
        page_id = created.json()["id"]

        body = await mail_to(stack.mails, "alice@example.com", page_id)
        links = {name.lower(): url for name, url in LINK.findall(body)}
        assert set(links) == {"acknowledge", "escalate", "open"}, body
        assert f"tocsin page ack {page_id} --as alice" in body  # the fallback stays
        ack = links["acknowledge"]

        # A mail scanner's prefetch, or the person opening the link: nothing happens.
        confirm = await stack.browser.get(ack)
        assert confirm.status_code == 200, confirm.text
        assert '<form method="post">' in confirm.text
        assert "Acknowledge as Alice Example" in confirm.text
        assert confirm.headers["cache-control"] == "no-store"
        assert (await page(stack, page_id))["status"] == "triggered"

        # Tampered: Alice's grant under the signature of her escalate link.
        tampered = ack.rsplit(".", 1)[0] + "." + links["escalate"].rsplit(".", 1)[1]
        refused = await stack.browser.post(tampered)
        assert refused.status_code == 400
        assert "This link is not valid" in refused.text

        # Expired: signed with the real key, a minute in the past.
        past = datetime.now(UTC) - timedelta(minutes=1)
        expired = LinkKey(stack.key).sign(LinkGrant("page", page_id, "acknowledge", "alice", past))
        stale = await stack.browser.post(ack.rsplit("/a/", 1)[0] + "/a/" + expired)
        assert stale.status_code == 410
        assert "This link has expired" in stale.text

        unchanged = await page(stack, page_id)
        assert unchanged["status"] == "triggered"
        assert unchanged["acknowledged_by"] is None

        # The button: the same URL, POSTed.
        acted = await stack.browser.post(ack)
        assert acted.status_code == 200, acted.text
        assert "Acknowledged by alice" in acted.text
        acknowledged = await page(stack, page_id)
        assert acknowledged["status"] == "acknowledged"
        assert acknowledged["acknowledged_by"] == "alice"

        # Replayed after the page moved on: the workflow's refusal, nothing changes.
        again = await stack.browser.post(ack)
        assert again.status_code == 409
        assert f"page {page_id} is already acknowledged by alice" in again.text
        opened = await stack.browser.get(links["open"])
        assert opened.status_code == 200
        assert "acknowledged by alice" in opened.text


async def test_fuzzed_links_never_fail(link_stack: LinkStack, tmp_path: Path) -> None:
    """Schemathesis over the link routes of an API that has a key (the OpenAPI fuzz test's
    stack has none, so there every link is 404): every answer documented, none a 5xx."""
    settings = tmp_path / "schemathesis.toml"
    settings.write_text(FUZZ_SETTINGS)
    run = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(settings),
        "run",
        f"{link_stack.url}/openapi.json",
        "--include-path-regex",
        "^/a/",
        "--checks",
        "all",
        "--max-examples",
        "100",
        "--workers",
        "1",  # see test_openapi_fuzz.py: CPython 3.11's parser and schemathesis's threads
        "--seed",
        "20261130",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(run.communicate(), timeout=300)
    report = output.decode(errors="replace")
    assert run.returncode == 0, report[-6000:]
    assert "Server error" not in report
    tested = re.search(r"Tested: (\d+)", report)
    assert tested is not None
    assert int(tested.group(1)) == 2, report[report.find("SUMMARY") :]
