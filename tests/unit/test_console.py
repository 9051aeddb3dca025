"""The console's sign-in, sessions, form tokens and the Pages view, through ASGI: what a
person sees, and that every action is theirs (from the session) and needs the form token.
Tocsin's client records what reaches it instead of signalling Temporal."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from activities.adapters.smtp_mail import SmtpMailer
from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.checks import oncall_entries
from starters.console.app import ConsoleSettings
from starters.console.sessions import BadToken, ConsoleKeys
from starters.console.signin import Mail
from starters.credentials import Authenticator
from starters.errors import InvalidRequest, Rejected
from starters.http.app import create_app
from starters.page_responders import (
    Reassignment,
    Responders,
    Snooze,
    reassign_input,
    responders_input,
)
from tests.fakes.credentials import CountingHasher
from tests.unit.test_http_auth import NoRotationWorkflows
from worker.config import ConfigFile
from workflows.models import OnCallEntry, PageActionInput, PageListItem, PageState, PageStatus

TOKEN = "bootstrap-token-123"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
KEY = "console-test-key-" + "x" * 32
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LIVE = re.compile(r'hx-get="([^"]+)"')


def page_state(**fields: Any) -> PageState:
    base: dict[str, Any] = {
        "id": "db-down",
        "workflow_id": "page-db-down",
        "team": "delivery",
        "summary": "Database is down",
        "created_at": T0,
    }
    return PageState(**{**base, **fields})


class Recording(TocsinClient):
    """Tocsin's client with one open page; actions recorded, not sent."""

    def __init__(self, config: Path) -> None:
        super().__init__(cast(Client, NoRotationWorkflows()), ConfigFile(config), "unit")
        self.calls: list[tuple[str, Any]] = []
        self.page = page_state()
        self.refuse: str | None = None

    async def list_pages(
        self, status: Any = None, team: Any = None, limit: int = 200
    ) -> list[PageListItem]:
        return [
            PageListItem(
                id="db-down",
                status=self.page.status.value,
                team="delivery",
                summary="Database is down",
            )
        ]

    async def oncall(
        self, team: str | None = None, at: datetime | None = None
    ) -> list[OnCallEntry]:
        return oncall_entries(self.config.current(), team, at)

    async def rotation_call(self, call: Any) -> Any:
        raise InvalidRequest("no rotation workflows in this test")

    async def list_incidents(
        self, status: Any = None, severity: Any = None, limit: int = 200
    ) -> list[Any]:
        return []

    async def get_page(self, page_id: str) -> PageState:
        return self.page

    async def acknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        self.calls.append(("acknowledge", action))
        if self.refuse:
            raise Rejected(self.refuse)
        self.page = page_state(status=PageStatus.acknowledged, acknowledged_by=action.by)
        return self.page

    async def unacknowledge(self, page_id: str, action: PageActionInput) -> PageState:
        return self.acted("unacknowledge", action)

    async def snooze(self, page_id: str, request: Snooze) -> PageState:
        return self.acted("snooze", request.request())

    async def reassign(self, page_id: str, request: Reassignment) -> PageState:
        """Checked against the config as Tocsin's client does."""
        return self.acted("reassign", reassign_input(self.config.current(), request))

    async def add_responders(self, page_id: str, request: Responders) -> PageState:
        """Checked against the config as Tocsin's client does."""
        return self.acted("add_responders", responders_input(self.config.current(), request))

    def acted(self, verb: str, request: Any) -> PageState:
        self.calls.append((verb, request))
        if self.refuse:
            raise Rejected(self.refuse)
        return self.page


@dataclass
class Console:
    http: httpx.AsyncClient
    tocsin: Recording

    async def token(self, **fields: object) -> str:
        created = await self.http.post(
            "/api/tokens", json={"name": "laptop", **fields}, headers=BOOT
        )
        assert created.status_code == 201, created.text
        token: str = created.json()["token"]
        return token

    async def sign_in(self, token: str, next_path: str = "/") -> httpx.Response:
        form = await self.http.get("/signin")
        [csrf] = CSRF.findall(form.text)[:1]
        return await self.http.post(
            "/signin", data={"token": token, "csrf": csrf, "next": next_path}
        )

    async def csrf(self, path: str = "/pages") -> str:
        shown = await self.http.get(path)
        assert shown.status_code == 200, shown.text
        return CSRF.findall(shown.text)[0]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    tocsin = Recording(config)
    store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
    app = create_app(TOKEN, tocsin, store=store, console=ConsoleSettings(keys=ConsoleKeys(KEY)))
    app.state.authenticator = Authenticator(TOKEN, SqlCredentials(store), hasher=CountingHasher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            yield Console(http, tocsin)


class TestSignIn:
    async def test_signed_out_goes_to_the_sign_in_page(self, console: Console) -> None:
        response = await console.http.get("/pages?team=delivery")

        assert response.status_code == 303
        assert response.headers["location"] == "/signin?next=/pages%3Fteam%3Ddelivery"

    async def test_a_person_token_signs_in(self, console: Console) -> None:
        signed = await console.sign_in(await console.token(person="alice"), "/pages")

        assert signed.status_code == 303
        assert signed.headers["location"] == "/pages"
        cookie = signed.headers["set-cookie"]
        assert "tocsin_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        now = await console.http.get("/")
        assert now.status_code == 200
        assert "Alice Example" in now.text or "alice" in now.text

    async def test_a_wrong_token_is_refused_and_says_why(self, console: Console) -> None:
        refused = await console.sign_in("tocsin_0123456789ab_" + "a" * 43)

        assert refused.status_code == 401
        assert "That token is not valid" in refused.text
        assert "tocsin_session" not in refused.headers.get("set-cookie", "")

    async def test_an_admin_token_is_not_a_person(self, console: Console) -> None:
        refused = await console.sign_in(await console.token(kind="admin", name="ops-bot"))

        assert refused.status_code == 403
        assert "Sign in with a person&#39;s token: this is an admin token" in refused.text

    async def test_the_form_needs_its_token(self, console: Console) -> None:
        """A sign-in posted from elsewhere (no form token) is refused."""
        token = await console.token(person="alice")

        forged = await console.http.post("/signin", data={"token": token, "csrf": "x"})

        assert forged.status_code == 403

    async def test_next_never_leaves_the_site(self, console: Console) -> None:
        signed = await console.sign_in(await console.token(person="alice"), "//evil.example/x")

        assert signed.headers["location"] == "/"

    async def test_revoking_the_token_ends_the_session(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        [listed] = (await console.http.get("/api/tokens", headers=BOOT)).json()

        await console.http.delete(f"/api/tokens/{listed['id']}", headers=BOOT)

        assert (await console.http.get("/")).status_code == 303

    async def test_sign_out(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        csrf = await console.csrf("/")

        out = await console.http.post("/signout", data={"csrf": csrf})

        assert out.status_code == 303
        assert (await console.http.get("/pages")).status_code == 303


class TestPages:
    async def test_acknowledge_acts_as_the_signed_in_person(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        csrf = await console.csrf()

        acted = await console.http.post(
            "/pages/db-down/ack", data={"csrf": csrf, "back": "/pages", "by": "bob"}
        )

        assert acted.status_code == 303
        assert acted.headers["location"] == "/pages"
        [(verb, action)] = console.tocsin.calls
        assert (verb, action.by, action.via) == ("acknowledge", "alice", "console, token laptop")
        shown = await console.http.get("/pages?status=all")
        assert 'id="flash"' in shown.text
        assert "Acknowledged page db-down" in shown.text

    async def test_a_refusal_shows_the_workflows_reason(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        console.tocsin.refuse = "page db-down is already acknowledged by bob"
        csrf = await console.csrf()

        await console.http.post("/pages/db-down/ack", data={"csrf": csrf, "back": "/pages"})
        shown = await console.http.get("/pages")

        assert "Not acknowledged: page db-down is already acknowledged by bob" in shown.text
        assert 'class="flash refused"' in shown.text

    async def test_no_form_token_no_action(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        refused = await console.http.post("/pages/db-down/ack", data={"back": "/pages"})

        assert refused.status_code == 403
        assert console.tocsin.calls == []

    async def test_another_sessions_form_token_is_refused(self, console: Console) -> None:
        """Form tokens belong to one sign-in: bob's page's token does not work for alice."""
        await console.sign_in(await console.token(person="bob"))
        bobs = await console.csrf()
        console.http.cookies.clear()
        await console.sign_in(await console.token(person="alice", name="phone"))

        refused = await console.http.post("/pages/db-down/ack", data={"csrf": bobs})

        assert refused.status_code == 403

    async def test_back_never_leaves_the_site(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        csrf = await console.csrf()

        acted = await console.http.post(
            "/pages/db-down/ack", data={"csrf": csrf, "back": "https://evil.example"}
        )

        assert acted.headers["location"] == "/"

    async def test_the_list_refreshes_only_when_it_changed(self, console: Console) -> None:
        """The live fragment answers 204 for the version it last sent; a change sends it again."""
        await console.sign_in(await console.token(person="alice"))
        shown = await console.http.get("/pages")
        first = LIVE.findall(shown.text)[0].replace("&amp;", "&")
        fresh = await console.http.get(first)
        current = LIVE.findall(fresh.text)[0].replace("&amp;", "&")

        same = await console.http.get(current)
        console.tocsin.page = page_state(status=PageStatus.acknowledged, acknowledged_by="bob")
        changed = await console.http.get(current)

        assert fresh.status_code == 200
        assert same.status_code == 204
        assert changed.status_code == 200
        assert "acked by bob" in changed.text

    async def test_every_answer_carries_the_policy(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = await console.http.get("/pages")

        assert "script-src 'self'" in shown.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in shown.headers["content-security-policy"]
        assert shown.headers["cache-control"] == "no-store"
        assert "<script>" not in shown.text  # no inline script: the policy would block it


class TestPageResponderActions:
    """A page's view offers what its responders can do in its state, and each form acts
    as the signed-in person, saying what happened or why it was refused."""

    async def act(self, console: Console, path: str, **form: object) -> str:
        """Post ``form`` from the page's view; the view as it then reads (unescaped)."""
        csrf = await console.csrf("/pages/db-down")
        acted = await console.http.post(f"/pages/db-down/{path}", data={"csrf": csrf, **form})
        assert acted.status_code == 303, acted.text
        assert acted.headers["location"] == "/pages/db-down"
        return html.unescape((await console.http.get("/pages/db-down")).text)

    async def test_a_triggered_page_offers_take_reassign_and_help(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = (await console.http.get("/pages/db-down")).text

        for present in (
            'formaction="/pages/db-down/ack"',
            'id="page-reassign"',
            'id="page-responders"',
        ):
            assert present in shown
        assert 'formaction="/pages/db-down/unack"' not in shown
        assert 'id="page-snooze"' not in shown
        assert '<option value="team:ops">ops</option>' in shown
        assert '<option value="person:bob">Bob Builder (bob)</option>' in shown
        assert '<option value="rotation:delivery/tm">delivery/tm</option>' in shown

    async def test_an_acknowledged_page_offers_snooze_and_unack(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        console.tocsin.page = page_state(
            status=PageStatus.acknowledged,
            acknowledged_by="alice",
            acknowledged_at=T0,
            snoozed_until=T0 + timedelta(hours=1),
        )

        shown = (await console.http.get("/pages/db-down")).text

        assert 'formaction="/pages/db-down/unack"' in shown
        assert 'formaction="/pages/db-down/ack"' not in shown
        assert 'id="page-snooze"' in shown
        assert '<option value="1h" selected>1h</option>' in shown
        assert "2026-11-30 13:00 UTC" in shown  # when it triggers again

    async def test_unack_as_the_signed_in_person(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = await self.act(console, "unack", back="/pages/db-down", note="wrong page")

        [(verb, action)] = console.tocsin.calls
        assert (verb, action.by, action.via, action.note) == (
            "unacknowledge",
            "alice",
            "console, token laptop",
            "wrong page",
        )
        assert "Un-acknowledged page db-down" in shown

    async def test_snooze_for_the_chosen_duration(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = await self.act(console, "snooze", duration="2h", back="/pages/db-down")

        [(verb, snooze)] = console.tocsin.calls
        assert (verb, snooze.seconds, snooze.by) == ("snooze", 7200, "alice")
        assert "Snoozed page db-down for 2h" in shown

    async def test_a_snooze_too_long_is_refused_naming_it(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = await self.act(console, "snooze", duration="2w", back="/pages/db-down")

        assert console.tocsin.calls == []
        assert "Not snoozed: duration: a snooze lasts at most 1w, not 2w" in shown
        assert 'class="flash refused"' in shown

    async def test_reassign_to_a_person_or_a_team(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        person = await self.act(console, "reassign", to="person:bob", note="his deploy")
        team = await self.act(console, "reassign", to="team:ops")

        [(_, to_bob), (_, to_ops)] = console.tocsin.calls
        assert (to_bob.person, to_bob.note, to_bob.ack_timeout_seconds) == (
            "bob",
            "his deploy",
            600,
        )
        assert (to_ops.team, to_ops.by) == ("ops", "alice")
        assert "Reassigned page db-down to person bob" in person
        assert "Reassigned page db-down to team ops" in team

    @pytest.mark.parametrize(
        ("to", "says"),
        [
            ("team:nope", "Not reassigned: unknown team 'nope'"),
            ("person:zed", "Not reassigned: unknown person 'zed'"),
            ("", "Not reassigned: choose a team or a person"),
        ],
    )
    async def test_reassign_to_nobody_known_is_refused(
        self, console: Console, to: str, says: str
    ) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = await self.act(console, "reassign", to=to)

        assert console.tocsin.calls == []
        assert says in shown

    async def test_add_responders(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        shown = await self.act(
            console, "responders", target=["person:erik", "rotation:ops/tm"], note="db?"
        )

        [(verb, request)] = console.tocsin.calls
        assert (verb, request.targets, request.note) == (
            "add_responders",
            ["person:erik", "rotation:ops/tm"],
            "db?",
        )
        assert "Asked person:erik, rotation:ops/tm to help with page db-down" in shown

    async def test_responders_naming_nobody_are_refused(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))

        unknown = await self.act(console, "responders", target=["person:zed"])
        none = await self.act(console, "responders")

        assert console.tocsin.calls == []
        assert "No responders added: target 'person:zed': unknown person 'zed'" in unknown
        assert "No responders added: targets: List should have at least 1 item" in none

    async def test_a_refusal_shows_the_workflows_reason(self, console: Console) -> None:
        await console.sign_in(await console.token(person="alice"))
        console.tocsin.refuse = "page db-down is not acknowledged"

        shown = await self.act(console, "unack")

        assert "Not un-acknowledged: page db-down is not acknowledged" in shown

    @pytest.mark.parametrize("path", ["unack", "snooze", "reassign", "responders"])
    async def test_no_form_token_no_action(self, console: Console, path: str) -> None:
        await console.sign_in(await console.token(person="alice"))

        refused = await console.http.post(
            f"/pages/db-down/{path}",
            data={"duration": "1h", "to": "team:ops", "target": "team:ops"},
        )

        assert refused.status_code == 403
        assert console.tocsin.calls == []


class TestOffline:
    async def test_docs_use_tocsins_own_files(self, console: Console) -> None:
        docs = await console.http.get("/docs")
        bundle = await console.http.get("/static/swagger/swagger-ui-bundle.js")
        htmx = await console.http.get("/static/htmx.min.js")

        assert docs.status_code == 200
        assert "/static/swagger/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        assert bundle.status_code == 200
        assert htmx.status_code == 200

    async def test_console_off_without_a_key(self, tmp_path: Path) -> None:
        config = tmp_path / "tocsin.yaml"
        shutil.copy(EXAMPLE, config)
        app = create_app(TOKEN, Recording(config))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.get("/")

        assert response.status_code == 503
        assert "TOCSIN_LINK_KEY" in response.text


class TestKeys:
    def test_session_round_trip_and_expiry(self) -> None:
        keys = ConsoleKeys(KEY)
        cookie = keys.session("alice", "token laptop", "abc123", T0)

        session = keys.open_session(cookie, T0 + timedelta(hours=11))

        assert (session.person, session.via) == ("alice", "console, token laptop")
        with pytest.raises(BadToken):
            keys.open_session(cookie, T0 + timedelta(hours=12))

    def test_a_session_is_not_a_sign_in_link(self) -> None:
        """Each kind of token signs its own context: one never passes for another."""
        keys = ConsoleKeys(KEY)
        link = keys.signin_link("alice", T0)

        with pytest.raises(BadToken):
            keys.open_session(link, T0)
        assert keys.open_signin_link(link, T0 + timedelta(minutes=14)) == "alice"
        with pytest.raises(BadToken):
            keys.open_signin_link(link, T0 + timedelta(minutes=15))

    def test_another_key_does_not_verify(self) -> None:
        cookie = ConsoleKeys(KEY).session("alice", "token laptop", None, T0)

        with pytest.raises(BadToken):
            ConsoleKeys("another-key-" + "y" * 32).open_session(cookie, T0)


class Mailbox:
    """Stands in for the SMTP relay: keeps what the console sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], str, str]] = []

    async def send_mail(
        self, to: list[str], subject: str, body: str, headers: dict[str, str] | None = None
    ) -> None:
        self.sent.append((to, subject, body))


@pytest.fixture
async def mailing(tmp_path: Path) -> AsyncIterator[tuple[Console, Mailbox]]:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    mailbox = Mailbox()
    settings = ConsoleSettings(
        keys=ConsoleKeys(KEY), mail=Mail(cast(SmtpMailer, mailbox), "https://tocsin.example")
    )
    app = create_app(TOKEN, Recording(config), console=settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            yield Console(http, cast(Recording, app.state.tocsin)), mailbox


class TestMailedLink:
    async def ask(self, console: Console, who: str) -> httpx.Response:
        form = await console.http.get("/signin")
        assert 'id="mail-form"' in form.text
        csrf = CSRF.findall(form.text)[0]
        return await console.http.post("/signin/mail", data={"who": who, "csrf": csrf})

    async def test_link_by_mail_then_a_button(self, mailing: tuple[Console, Mailbox]) -> None:
        """The mailed link shows a button (a mail scanner's GET signs nobody in); pressing
        it signs in as the person the link was mailed to."""
        console, mailbox = mailing

        asked = await self.ask(console, "alice@example.com")
        [(to, subject, body)] = mailbox.sent
        link = re.search(r"https://tocsin\.example(/signin/m/\S+)", body)
        assert link is not None
        opened = await console.http.get(link.group(1))
        still_out = await console.http.get("/pages")
        csrf = CSRF.findall(opened.text)[0]
        pressed = await console.http.post(link.group(1), data={"csrf": csrf})

        assert "a sign-in link is on its way" in asked.text
        assert (to, subject) == (["alice@example.com"], "Sign in to Tocsin")
        assert "Sign in as alice" in opened.text
        assert still_out.status_code == 303
        assert pressed.status_code == 303
        assert (await console.http.get("/pages")).status_code == 200

    async def test_an_unknown_address_reads_the_same_and_sends_nothing(
        self, mailing: tuple[Console, Mailbox]
    ) -> None:
        console, mailbox = mailing

        asked = await self.ask(console, "mallory@example.com")

        assert "a sign-in link is on its way" in asked.text
        assert mailbox.sent == []

    async def test_expired_or_altered_links_sign_nobody_in(
        self, mailing: tuple[Console, Mailbox]
    ) -> None:
        console, _ = mailing
        expired = ConsoleKeys(KEY).signin_link("alice", datetime.now(UTC) - timedelta(hours=1))
        altered = ConsoleKeys(KEY).signin_link("alice", datetime.now(UTC))[:-2] + "xx"

        for token, why in ((expired, "has expired"), (altered, "is not valid")):
            shown = await console.http.get(f"/signin/m/{token}")
            assert shown.status_code == 400
            assert why in shown.text
        assert (await console.http.get("/pages")).status_code == 303
