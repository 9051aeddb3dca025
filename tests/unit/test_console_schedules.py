"""The console's *Schedules*: rotations with who is on call and their calendar feeds, one
rotation's calendar (overrides and swaps marked), and the override forms, which act as the
signed-in person through the same client calls as the API. What reaches the rotation
client is recorded instead of sent to Temporal."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from temporalio.client import Client

from activities.adapters.sql_credentials import SqlCredentials
from activities.adapters.sql_store import SqlStore
from activities.ports import Store
from starters.api import TocsinClient
from starters.console.app import ConsoleSettings
from starters.console.render import FLASH_COOKIE
from starters.console.sessions import ConsoleKeys
from starters.credentials import Authenticator
from starters.errors import Rejected
from starters.http.app import create_app
from tests.fakes.credentials import CountingHasher
from tests.unit.test_http_auth import NoTemporal
from worker.config import ConfigFile
from workflows.rotation_models import (
    Override,
    OverrideRequest,
    RemoveRequest,
    RotationPlan,
    RotationSettings,
    RotationStatus,
    ShiftSpan,
)
from workflows.rotation_rules import all_spans, plan_from_config

TOKEN = "bootstrap-token-123"
BOOT = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CALENDAR = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


class Rotations:
    """Stands in for the rotation client: the example config's plan with one override
    (bob holds delivery's eoc from an hour from now for a day); records what it is asked."""

    def __init__(self, tocsin: Console) -> None:
        self.tocsin = tocsin
        self.calls = tocsin.calls

    def _plan(self, name: str) -> RotationPlan:
        plan = plan_from_config(name, self.tocsin.config.current().rotations[name])
        if name != "delivery":
            return plan
        cover = Override(
            id="ovr-1",
            layer="eoc",
            person="bob",
            start=NOW + timedelta(hours=1),
            end=NOW + timedelta(days=1),
            by="alice",
            created_at=NOW - timedelta(hours=1),
            reason="alice at the dentist",
        )
        return plan.model_copy(update={"overrides": [cover]})

    async def plan(self, name: str) -> RotationPlan:
        return self._plan(name)

    async def shifts(self, name: str, start: datetime, end: datetime) -> list[ShiftSpan]:
        self.calls.append(("shifts", (name, start, end)))
        return all_spans(self._plan(name), start, end)

    async def status(self, name: str) -> RotationStatus:
        return RotationStatus(
            name=name,
            plan=self._plan(name),
            settings=RotationSettings(),
            next_handoff=NOW + timedelta(days=2),
            changes=["2026-11-30 12:00Z alice (token laptop): bob holds eoc (ovr-1)"],
        )

    async def override(self, name: str, request: OverrideRequest) -> Override:
        self.calls.append(("override", request))
        return Override(
            id="ovr-2",
            layer=request.layer,
            person=request.person,
            start=request.start or NOW,
            end=request.end or NOW + timedelta(days=1),
            by=request.by,
            created_at=NOW,
        )

    async def remove(self, name: str, request: RemoveRequest) -> RotationPlan:
        self.calls.append(("remove", request))
        return self._plan(name)

    async def calendar(self, name: str, start: datetime | None, end: datetime | None) -> bytes:
        self.calls.append(("calendar", name))
        return CALENDAR

    async def person_calendar(
        self, person: str, start: datetime | None, end: datetime | None
    ) -> bytes:
        self.calls.append(("person_calendar", person))
        return CALENDAR


class Console(TocsinClient):
    """Tocsin's client with the rotation client faked; any other use of Temporal fails."""

    def __init__(self, config: Path, temporal: object | None = None) -> None:
        super().__init__(cast(Client, temporal or NoTemporal()), ConfigFile(config), "unit")
        self.calls: list[tuple[str, Any]] = []

    async def rotation_call(self, call: Callable[[Any], Awaitable[Any]]) -> Any:
        return await call(Rotations(self))


@dataclass
class Browser:
    """A signed-in person's browser (it keeps cookies) and what Tocsin was asked."""

    http: httpx.AsyncClient
    tocsin: Console

    async def csrf(self, path: str) -> str:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        found = CSRF.search(response.text)
        assert found is not None
        return found[1]


async def sign_in(http: httpx.AsyncClient, person: str) -> None:
    """Make a person token named laptop with the bootstrap token, and sign in with it."""
    made = await http.post("/api/tokens", json={"name": "laptop", "person": person}, headers=BOOT)
    assert made.status_code == 201, made.text
    form = await http.get("/signin")
    found = CSRF.search(form.text)
    assert found is not None
    signed = await http.post(
        "/signin", data={"token": made.json()["token"], "csrf": found[1], "next": "/"}
    )
    assert signed.status_code == 303, signed.text


async def browse(
    tmp_path: Path, tocsin: Console, store: Store | None, person: str = "alice"
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its console, its lifespan run, and a browser signed in as ``person``
    (tokens live in a SQLite store of their own, so the incident log may be absent)."""
    credentials = SqlStore(f"sqlite:///{tmp_path / 'credentials.db'}")
    app = create_app(
        TOKEN,
        tocsin,
        store=store,
        credentials=SqlCredentials(credentials),
        console=ConsoleSettings(keys=ConsoleKeys("k" * 40)),
    )
    app.state.authenticator = Authenticator(
        TOKEN, SqlCredentials(credentials), hasher=CountingHasher()
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            await sign_in(http, person)
            yield http
    await credentials.close()


def example(tmp_path: Path) -> Path:
    config = tmp_path / "tocsin.yaml"
    shutil.copy(EXAMPLE, config)
    return config


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    tocsin = Console(example(tmp_path))
    async for http in browse(tmp_path, tocsin, None):
        yield Browser(http, tocsin)


def flash(response: httpx.Response) -> tuple[bool, str]:
    """The message a form's answer leaves for the next page."""
    raw = response.cookies[FLASH_COOKIE]
    ok, text = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return bool(ok), str(text)


def rows(html: str, **attributes: str) -> list[str]:
    """The calendar rows (``<tr …>…</tr>``) whose data attributes have these values."""
    found = re.findall(r"<tr [^>]*data-layer=.*?</tr>", html, re.DOTALL)
    return [
        row
        for row in found
        if all(f'data-{k}="{v}"' in row.split(">", 1)[0] for k, v in attributes.items())
    ]


class TestOverview:
    async def test_every_rotation_with_who_is_on_call(self, browser: Browser) -> None:
        """Each configured rotation shows its team, a holder per layer and its calendar."""
        response = await browser.http.get("/schedules")

        assert response.status_code == 200
        html = response.text
        for name in ("delivery", "ops", "customer-support"):
            assert f'id="rotation-{name}"' in html
            assert f'href="/schedules/{name}"' in html
        delivery = html.split('id="rotation-delivery"', 1)[1].split("</section>", 1)[0]
        assert 'data-layer="eoc"' in delivery
        assert 'data-layer="tm"' in delivery
        assert "Dana Scully" in delivery  # the only tm

    async def test_signed_out_goes_to_sign_in(self, tmp_path: Path) -> None:
        """Without a session the page sends the browser to sign in, and back after."""
        tocsin = Console(example(tmp_path))
        app = create_app(TOKEN, tocsin, console=ConsoleSettings(keys=ConsoleKeys("k" * 40)))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.get("/schedules/delivery")

        assert response.status_code == 303
        assert response.headers["location"] == "/signin?next=/schedules/delivery"


class TestCalendarFeeds:
    @pytest.mark.parametrize(
        ("field", "call"),
        [("ical-delivery", ("calendar", "delivery")), ("ical-me", ("person_calendar", "alice"))],
    )
    async def test_feed_links_carry_a_token_the_api_accepts(
        self, browser: Browser, field: str, call: tuple[str, str]
    ) -> None:
        """The rotation's and the signed-in person's feed URLs open their calendar without
        a bearer header; the same URL with another token does not."""
        html = (await browser.http.get("/schedules")).text
        found = re.search(rf'id="{field}" class="ical" type="text" readonly value="([^"]+)"', html)
        assert found is not None
        url = urlsplit(found[1].replace("&amp;", "&"))
        assert url.query.startswith("token=")
        assert f'href="webcal://{url.netloc}{url.path}?{url.query}"' in html

        feed = await browser.http.get(f"{url.path}?{url.query}")
        forged = await browser.http.get(f"{url.path}?token={'0' * 32}")

        assert feed.status_code == 200, feed.text
        assert feed.content == CALENDAR
        assert feed.headers["content-type"].startswith("text/calendar")
        assert forged.status_code == 401
        assert call in browser.tocsin.calls


class TestCalendar:
    async def test_overrides_are_marked(self, browser: Browser) -> None:
        """The override is a row of its own, marked and badged, with its reason; the
        rest of the layer is the schedule's."""
        response = await browser.http.get("/schedules/delivery")

        assert response.status_code == 200
        html = response.text
        assert 'id="calendar"' in html
        # One row, or two where the day crosses a handoff.
        covered = rows(html, layer="eoc", source="override")[0]
        assert covered.startswith('<tr class="override')
        assert 'data-person="bob"' in covered
        assert "Bob Builder" in covered
        assert '<span class="badge override">override</span>' in covered
        assert "alice at the dentist" in covered
        start = (NOW + timedelta(hours=1)).isoformat()
        assert f'data-start="{start}"' in covered
        assert rows(html, layer="tm", source="schedule")
        assert not rows(html, source="swap")

    async def test_four_weeks_by_default_twelve_at_most(self, browser: Browser) -> None:
        """One table per week: 4 unless asked, never more than 12."""
        default = await browser.http.get("/schedules/delivery")
        many = await browser.http.get("/schedules/delivery?weeks=40")

        assert default.text.count("<caption>Week of") == 4
        assert many.text.count("<caption>Week of") == 12
        (_, (_, start, end)) = browser.tocsin.calls[-1]
        # Twelve weeks, and a shift (delivery's: a week) on either side.
        assert end - start <= timedelta(weeks=14, hours=1)

    async def test_overrides_list_changes_and_forms(self, browser: Browser) -> None:
        """The override is listed with a remove button; the forms sit outside the part
        that refreshes itself, which carries the recent changes."""
        html = (await browser.http.get("/schedules/delivery")).text

        live = html.split('id="schedule-live"', 1)[1].split("</section>", 1)[0]
        assert "<form" not in live
        assert "bob holds eoc (ovr-1)" in live
        assert 'action="/schedules/delivery/overrides/ovr-1/remove"' in html
        for form in ("take-shift", "override-form"):
            assert (
                f'<form method="post" action="/schedules/delivery/overrides" class="stack" id="{form}">'
                in html
            )
        take = html.split('id="take-shift"', 1)[1].split("</form>", 1)[0]
        assert '<input type="hidden" name="person" value="alice">' in take
        assert 'type="datetime-local"' in take
        chooser = html.split('id="ovr-person"', 1)[1].split("</select>", 1)[0]
        assert 'value="dana"' in chooser
        assert 'value="erik"' not in chooser  # ops, not delivery

    async def test_live_part_answers_204_while_unchanged(self, browser: Browser) -> None:
        """The calendar refreshes itself: same version, nothing to swap in."""
        first = await browser.http.get("/schedules/delivery/live?weeks=2")
        assert first.status_code == 200
        version = re.search(r"weeks=2&amp;v=([0-9a-f]{16})", first.text)
        assert version is not None

        again = await browser.http.get(f"/schedules/delivery/live?weeks=2&v={version[1]}")

        assert again.status_code == 204
        assert first.text.count("<caption>Week of") == 2

    async def test_rotation_not_running(self, tmp_path: Path) -> None:
        """Before the worker has started the rotation, the calendar still shows (the
        config's schedule) and says why overrides are not listed."""

        class NotRunning(Rotations):
            async def status(self, name: str) -> RotationStatus:
                raise Rejected(f"rotation {name} is not running yet: start the worker")

        class NotRunningConsole(Console):
            async def rotation_call(self, call: Callable[[Any], Awaitable[Any]]) -> Any:
                return await call(NotRunning(self))

        async for http in browse(tmp_path, NotRunningConsole(example(tmp_path)), None):
            response = await http.get("/schedules/delivery")

            assert response.status_code == 200
            assert 'id="status-error"' in response.text
            assert "rotation delivery is not running yet: start the worker" in response.text
            assert rows(response.text, layer="eoc")
            assert "Not known while the rotation does not answer." in response.text

    async def test_unknown_rotation(self, browser: Browser) -> None:
        response = await browser.http.get("/schedules/nope")

        assert response.status_code == 404
        assert "There is no rotation" in response.text


class TestOverrideForm:
    async def test_adds_as_the_signed_in_person_in_utc(self, browser: Browser) -> None:
        """The times typed are delivery's (America/Chicago, CST in December); the request
        carries them in UTC and names alice, through the console with her token."""
        csrf = await browser.csrf("/schedules/delivery")

        response = await browser.http.post(
            "/schedules/delivery/overrides",
            data={
                "csrf": csrf,
                "layer": "eoc",
                "person": "bob",
                "start": "2026-12-01T09:00",
                "end": "2026-12-02T09:30",
                "reason": "alice at the dentist",
                "back": "/schedules/delivery",
            },
        )

        assert response.status_code == 303
        assert response.headers["location"] == "/schedules/delivery"
        ok, text = flash(response)
        assert ok
        assert text.startswith("Override added: bob holds eoc from Tue 2026-12-01 09:00 CST")
        [(_, request)] = [c for c in browser.tocsin.calls if c[0] == "override"]
        assert request == OverrideRequest(
            layer="eoc",
            person="bob",
            start=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
            end=datetime(2026, 12, 2, 15, 30, tzinfo=UTC),
            reason="alice at the dentist",
            by="alice",
            via="console, token laptop",
        )
        assert request.start is not None
        assert request.start.utcoffset() == timedelta(0)
        shown = await browser.http.get("/schedules/delivery")
        assert 'id="flash"' in shown.text
        assert "Override added: bob holds eoc" in shown.text

    async def test_take_a_shift_without_times(self, browser: Browser) -> None:
        """Taking a shift with no times: from now until that shift ends (both None)."""
        csrf = await browser.csrf("/schedules/delivery")

        response = await browser.http.post(
            "/schedules/delivery/overrides",
            data={"csrf": csrf, "layer": "tm", "person": "alice", "start": "", "end": ""},
        )

        assert flash(response) == (
            True,
            "Override added: alice holds tm from now until that shift ends",
        )
        [(_, request)] = [c for c in browser.tocsin.calls if c[0] == "override"]
        assert (request.person, request.start, request.end) == ("alice", None, None)
        assert request.by == "alice"

    @pytest.mark.parametrize(
        ("start", "said"),
        [
            ("tomorrow", "Not added: start: 'tomorrow' is not a date and time"),
            ("2026-13-01T09:00", "Not added: start: '2026-13-01T09:00' is not a date and time"),
            ("2300-01-01T00:00", "Not added: start: must be between 2000-01-01 and 2200-01-01"),
            ("9999-12-31T23:59", "Not added: start: must be between 2000-01-01 and 2200-01-01"),
        ],
    )
    async def test_a_bad_date_is_refused_by_name(
        self, browser: Browser, start: str, said: str
    ) -> None:
        """An unreadable or out-of-range time comes back as a refusal naming the field;
        nothing is sent and the page shows it."""
        csrf = await browser.csrf("/schedules/delivery")

        response = await browser.http.post(
            "/schedules/delivery/overrides",
            data={"csrf": csrf, "layer": "eoc", "person": "bob", "start": start},
        )

        assert response.status_code == 303
        ok, text = flash(response)
        assert not ok
        assert text.startswith(said)
        assert not [c for c in browser.tocsin.calls if c[0] == "override"]
        page = await browser.http.get(response.headers["location"])
        assert page.status_code == 200
        assert 'class="flash refused"' in page.text

    async def test_goes_back_only_to_this_site(self, browser: Browser) -> None:
        """A ``back`` naming another site is not followed, refused or not."""
        csrf = await browser.csrf("/schedules/delivery")

        refused = await browser.http.post(
            "/schedules/delivery/overrides",
            data={"csrf": csrf, "layer": "eoc", "start": "never", "back": "//evil.test/x"},
        )
        added = await browser.http.post(
            "/schedules/delivery/overrides",
            data={"csrf": csrf, "layer": "eoc", "person": "bob", "back": "https://evil.test"},
        )

        assert refused.headers["location"] == "/"
        assert added.headers["location"] == "/"

    async def test_a_bad_end_is_named_too(self, browser: Browser) -> None:
        csrf = await browser.csrf("/schedules/delivery")

        response = await browser.http.post(
            "/schedules/delivery/overrides",
            data={"csrf": csrf, "layer": "eoc", "person": "bob", "end": "soon"},
        )

        assert flash(response)[1].startswith("Not added: end: 'soon'")

    async def test_without_form_token_nothing_happens(self, browser: Browser) -> None:
        """A POST without the page's form token (another site's form) is 403."""
        response = await browser.http.post(
            "/schedules/delivery/overrides",
            data={"layer": "eoc", "person": "bob", "start": "2026-12-01T09:00"},
        )
        removal = await browser.http.post(
            "/schedules/delivery/overrides/ovr-1/remove", data={"csrf": "forged"}
        )

        assert response.status_code == 403
        assert removal.status_code == 403
        assert not [c for c in browser.tocsin.calls if c[0] in ("override", "remove")]

    async def test_remove(self, browser: Browser) -> None:
        """The remove button sends a RemoveRequest as the signed-in person."""
        csrf = await browser.csrf("/schedules/delivery")

        response = await browser.http.post(
            "/schedules/delivery/overrides/ovr-1/remove",
            data={"csrf": csrf, "back": "/schedules/delivery?weeks=2"},
        )

        assert response.status_code == 303
        assert response.headers["location"] == "/schedules/delivery?weeks=2"
        assert flash(response) == (True, "Removed ovr-1 from delivery")
        [(_, request)] = [c for c in browser.tocsin.calls if c[0] == "remove"]
        assert (request.id, request.by, request.via) == ("ovr-1", "alice", "console, token laptop")

    async def test_refusal_is_shown_with_its_reason(self, tmp_path: Path) -> None:
        """The rotation's refusal comes back as ``Not added: <why>``."""

        class Refusing(Rotations):
            async def override(self, name: str, request: OverrideRequest) -> Override:
                raise Rejected("mallory may not hold delivery shifts: not a member")

        class RefusingConsole(Console):
            async def rotation_call(self, call: Callable[[Any], Awaitable[Any]]) -> Any:
                return await call(Refusing(self))

        tocsin = RefusingConsole(example(tmp_path))
        async for http in browse(tmp_path, tocsin, None):
            page = await http.get("/schedules/delivery")
            found = CSRF.search(page.text)
            assert found is not None
            response = await http.post(
                "/schedules/delivery/overrides",
                data={"csrf": found[1], "layer": "eoc", "person": "mallory"},
            )

            assert flash(response) == (
                False,
                "Not added: mallory may not hold delivery shifts: not a member",
            )
