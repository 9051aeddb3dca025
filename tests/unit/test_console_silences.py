"""The console's *Silences*: the silences in force with who set them, until when and why,
and an End button; the form that sets one as the signed-in person; the config's
maintenance windows, read-only. Refusals read as the API's (checked against the API in
the same app). Silences are kept in memory; signals to held pages are recorded."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest

from activities.ports import Store
from starters.console.silences_view import when_text, windows
from tests.fakes.silences import MemorySilences
from tests.unit.test_console_schedules import BOOT, Console, browse, example, flash
from tests.unit.test_silences_http import Signals
from worker.config import ConfigFile
from workflows.silence_models import MaintenanceWindow, Silence

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime.now(UTC)


def with_windows(config: Path) -> Path:
    """The example config with two maintenance windows: a one-off in force now (from
    yesterday to tomorrow, Chicago time) and a weekly one."""
    yesterday = (NOW - timedelta(days=1)).astimezone(CHICAGO)
    tomorrow = (NOW + timedelta(days=1)).astimezone(CHICAGO)
    extra = f"""
maintenance:
  db-upgrade:
    start: "{yesterday:%Y-%m-%d %H:%M}"
    end: "{tomorrow:%Y-%m-%d %H:%M}"
    services: [database]
    reason: Postgres 16 upgrade
  weekly-patching:
    days: [saturday]
    start: "22:00"
    end: "02:00"
    timezone: Europe/Berlin
    teams: [ops]
    matchers: ['alertname=~"Node.*"']
    reason: OS patching
"""
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return config


@dataclass
class Desk:
    """alice's browser on the console, the silences kept, the signals sent."""

    http: httpx.AsyncClient
    silences: MemorySilences
    signals: Signals

    async def csrf(self) -> str:
        shown = await self.http.get("/silences")
        assert shown.status_code == 200, shown.text
        found = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert found is not None
        return found[1]

    async def set(self, **form: str) -> httpx.Response:
        return await self.http.post("/silences", data={"csrf": await self.csrf(), **form})

    def only(self) -> Silence:
        [silence] = self.silences.silences.values()
        return silence


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    """One app for the module, alice signed in (building and signing in is most of a
    test's time); see :func:`desk`."""
    folder = tmp_path_factory.mktemp("console-silences")
    signals = Signals()
    silences = MemorySilences()
    tocsin = Console(with_windows(example(folder)), temporal=signals)
    store = cast(Store, silences)  # keeps silences only, as silences_of allows
    async for http in browse(folder, tocsin, store):
        yield Desk(http, silences, signals)


@pytest.fixture
async def desk(served: Desk) -> Desk:
    """The module's console with no silences, holds or signals yet."""
    served.silences.silences.clear()
    served.silences.holds.clear()
    served.signals.sent.clear()
    return served


def later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def kept(**fields: Any) -> Silence:
    base: dict[str, Any] = {
        "id": "abcd1234",
        "services": ["web"],
        "starts_at": NOW - timedelta(minutes=5),
        "ends_at": NOW + timedelta(hours=2),
        "reason": "deploying <the> new db",
        "created_by": "bob",
        "created_via": "slack U0BOB",
        "created_at": NOW - timedelta(minutes=5),
    }
    return Silence(**(base | fields))


class TestView:
    """The list shows who set each silence, until when and why, with an End button; the
    windows from the config are listed, read-only; the navigation links here."""

    async def test_silences_and_windows(self, desk: Desk) -> None:
        await desk.silences.add_silence(kept())
        await desk.silences.add_silence(kept(id="over0001", ends_at=NOW - timedelta(hours=1)))

        shown = await desk.http.get("/silences")

        assert shown.status_code == 200
        html = shown.text
        assert '<a href="/silences" aria-current="page">Silences</a>' in html
        item = html.split('id="silence-abcd1234"', 1)[1].split("</li>", 1)[0]
        assert '<strong class="grow">service web</strong>' in item
        assert f'until <time datetime="{NOW + timedelta(hours=2):%Y-%m-%dT%H:%M}' in item
        assert "set by bob (slack U0BOB)" in item
        assert "deploying &lt;the&gt; new db" in item
        assert 'action="/silences/abcd1234/end"' in item
        assert 'id="silence-over0001"' not in html
        upgrade = html.split('id="window-db-upgrade"', 1)[1].split("</tr>", 1)[0]
        assert "<td>service database</td>" in upgrade
        assert "(America/Chicago)" in upgrade
        assert "in force until <time" in upgrade
        patching = html.split('id="window-weekly-patching"', 1)[1].split("</tr>", 1)[0]
        assert '<td>team ops, alertname=~"Node.*"</td>'.replace('"', "&#34;") in patching
        assert "every saturday 22:00 to 02:00 the next day (Europe/Berlin)" in patching

    async def test_recent_ones_on_asking(self, desk: Desk) -> None:
        await desk.silences.add_silence(kept(ended_at=NOW - timedelta(minutes=1), ended_by="alice"))

        now_only = await desk.http.get("/silences")
        recent = await desk.http.get("/silences", params={"all": "true"})

        assert 'id="no-silences"' in now_only.text
        item = recent.text.split('id="silence-abcd1234"', 1)[1].split("</li>", 1)[0]
        assert "ended <time" in item
        assert "by alice" in item
        assert "/end" not in item

    def test_a_weekly_window_in_force_in_its_own_zone(self, tmp_path: Path) -> None:
        """Saturday 23:00 in Berlin is inside weekly-patching; Sunday 03:00 is not."""
        config = ConfigFile(with_windows(example(tmp_path))).current()
        berlin = ZoneInfo("Europe/Berlin")
        inside = datetime(2026, 12, 5, 23, 0, tzinfo=berlin)
        after = datetime(2026, 12, 6, 3, 0, tzinfo=berlin)

        [_, patching] = windows(config, inside)
        [_, later_on] = windows(config, after)

        assert patching.name == "weekly-patching"
        assert patching.until == datetime(2026, 12, 6, 2, 0, tzinfo=berlin)
        assert later_on.until is None

    def test_window_texts(self) -> None:
        once = MaintenanceWindow.model_validate(
            {
                "start": "2026-12-05 22:00",
                "end": "2026-12-06 02:00",
                "teams": ["ops"],
                "reason": "x",
            }
        )
        daytime = MaintenanceWindow.model_validate(
            {
                "days": ["monday", "friday"],
                "start": "09:00",
                "end": "10:00",
                "teams": ["ops"],
                "reason": "x",
            }
        )
        assert when_text(once, "UTC") == "2026-12-05 22:00 to 2026-12-06 02:00 (UTC)"
        assert when_text(daytime, "UTC") == "every monday, friday 09:00 to 10:00 (UTC)"


class TestSetting:
    """The form sets a silence as the signed-in person, recorded as set in the console."""

    async def test_a_service_for_a_duration(self, desk: Desk) -> None:
        response = await desk.set(target="service:web", duration="2h", reason="deploy 4.2")

        assert response.status_code == 303
        assert response.headers["location"] == "/silences"
        silence = desk.only()
        assert (silence.services, silence.teams) == (["web"], [])
        assert (silence.created_by, silence.created_via) == ("alice", "console, token laptop")
        assert later(hours=2) - timedelta(minutes=1) < silence.ends_at <= later(hours=2)
        ok, text = flash(response)
        assert ok
        assert text == (
            f"Silenced service web until {silence.ends_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
            f"(silence {silence.id}): pages that alerts open for it notify nobody until then"
        )
        shown = await desk.http.get("/silences")
        assert f'id="silence-{silence.id}"' in shown.text
        assert 'class="flash ok"' in shown.text

    async def test_a_team_until_a_time_in_the_configs_zone(self, desk: Desk) -> None:
        """The end typed carries no offset: it is Chicago time (the config's zone)."""
        end = (NOW + timedelta(days=1)).astimezone(CHICAGO).replace(second=0, microsecond=0)

        await desk.set(target="team:ops", ends_at=f"{end:%Y-%m-%dT%H:%M}", reason="rack move")

        silence = desk.only()
        assert silence.teams == ["ops"]
        assert silence.ends_at == end.astimezone(UTC)


class TestRefusals:
    """Every refusal is the API's words, after "Not silenced: "; nothing is set."""

    @pytest.mark.parametrize(
        ("form", "body", "says"),
        [
            (
                {"target": "service:web", "reason": "x"},
                {"services": ["web"], "reason": "x"},
                "a silence needs an end: give ends_at or duration",
            ),
            (
                {
                    "target": "service:web",
                    "reason": "x",
                    "duration": "1h",
                    "ends_at": "2030-01-01T00:00",
                },
                {
                    "services": ["web"],
                    "reason": "x",
                    "duration": "1h",
                    "ends_at": "2030-01-01T00:00Z",
                },
                "give ends_at or duration, not both",
            ),
            (
                {"target": "service:web", "reason": "x", "duration": "8d"},
                {"services": ["web"], "reason": "x", "duration": "8d"},
                "a silence may last at most 1w (silences.max_duration); this one would last 8d",
            ),
            (
                {"target": "service:nope", "reason": "x", "duration": "1h"},
                {"services": ["nope"], "reason": "x", "duration": "1h"},
                "services: unknown service 'nope'",
            ),
            (
                {"target": "", "reason": "x", "duration": "1h"},
                {"reason": "x", "duration": "1h"},
                "a silence must say what it covers: services, teams and/or matchers",
            ),
            (
                {"target": "team:ops", "reason": " ", "duration": "1h"},
                {"teams": ["ops"], "reason": "", "duration": "1h"},
                "String should have at least 1 character",
            ),
            (
                {"target": "team:ops", "reason": "x", "duration": "2x"},
                {"teams": ["ops"], "reason": "x", "duration": "2x"},
                "invalid duration '2x': use <int><s|m|h|d|w> such as '10m' or ISO 8601 "
                "such as 'PT10M'",
            ),
        ],
    )
    async def test_as_the_api_says(
        self, desk: Desk, form: dict[str, str], body: dict[str, Any], says: str
    ) -> None:
        refused = await desk.set(**form)
        api = await desk.http.post("/api/silences", json=body, headers=BOOT)

        ok, text = flash(refused)
        assert not ok
        assert text.startswith("Not silenced: ")
        assert text.endswith(says)
        assert api.status_code == 422
        assert says in api.text
        assert desk.silences.silences == {}

    async def test_an_end_in_the_past(self, desk: Desk) -> None:
        past = (NOW - timedelta(hours=1)).astimezone(CHICAGO)

        refused = await desk.set(target="team:ops", ends_at=f"{past:%Y-%m-%dT%H:%M}", reason="x")

        text = flash(refused)[1]
        assert re.fullmatch(r"Not silenced: ends_at: \S+ is in the past", text), text

    async def test_an_end_that_is_not_a_time(self, desk: Desk) -> None:
        refused = await desk.set(target="team:ops", ends_at="soon", reason="x")

        assert flash(refused)[1].startswith("Not silenced: ends_at: 'soon' is not a date and time")

    async def test_without_the_form_token_nothing_is_set_or_ended(self, desk: Desk) -> None:
        await desk.silences.add_silence(kept())

        made = await desk.http.post(
            "/silences", data={"target": "service:web", "duration": "1h", "reason": "x"}
        )
        ended = await desk.http.post("/silences/abcd1234/end", data={"csrf": "forged"})

        assert (made.status_code, ended.status_code) == (403, 403)
        assert desk.only().ended_at is None


class TestEnding:
    """End ends it now as the signed-in person and tells the pages it held."""

    async def test_end(self, desk: Desk) -> None:
        await desk.silences.add_silence(kept())
        await desk.silences.hold_page("abcd1234", "page-web-1", NOW)

        response = await desk.http.post("/silences/abcd1234/end", data={"csrf": await desk.csrf()})

        assert response.status_code == 303
        assert flash(response) == (
            True,
            "Silence abcd1234 ended (service web): the pages it held page now if their "
            "alerts still fire",
        )
        assert desk.only().ended_by == "alice"
        assert [(p, n) for p, n, _ in desk.signals.sent] == [("page-web-1", "recheck_silence")]

    async def test_refusals_as_the_api_says(self, desk: Desk) -> None:
        # Over: it ran out at its end (ending one ended by hand again is not refused).
        await desk.silences.add_silence(
            kept(starts_at=NOW - timedelta(hours=3), ends_at=NOW - timedelta(hours=1))
        )
        csrf = await desk.csrf()

        over = await desk.http.post("/silences/abcd1234/end", data={"csrf": csrf})
        unknown = await desk.http.post("/silences/nope/end", data={"csrf": csrf})
        api_over = await desk.http.delete("/api/silences/abcd1234", headers=BOOT)
        api_unknown = await desk.http.delete("/api/silences/nope", headers=BOOT)

        assert flash(over) == (False, f"Not ended: {api_over.json()['detail']}")
        assert api_over.json()["detail"].startswith("silence abcd1234 is over already (at ")
        assert flash(unknown) == (False, f"Not ended: {api_unknown.json()['detail']}")
        assert api_unknown.json()["detail"] == "no silence 'nope'"


class TestWithoutAStore:
    async def test_says_so(self, tmp_path: Path) -> None:
        async for http in browse(tmp_path, Console(example(tmp_path)), None):
            shown = await http.get("/silences")
            csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
            assert csrf is not None
            made = await http.post(
                "/silences",
                data={"csrf": csrf[1], "target": "service:web", "duration": "1h", "reason": "x"},
            )
        assert 'id="silences-error"' in shown.text
        assert "kept in the incident log database, which this process does not have" in shown.text
        assert flash(made)[1].startswith("Not silenced: silences are kept in the incident log")
