"""Rotations end to end: the CLI and the HTTP API against a running rotation workflow.

Real dev server, the worker in this process, ``tocsin`` as a process: who is on call at
an instant across a daylight-saving change and with an override, shifts as CSV, a
handoff note, the calendar feeds (bearer and per-URL token) and their ranges, and
``tocsin oncall compare`` against an Opsgenie timeline export.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.adapters.temporal_views import TemporalTeamActivity
from starters.http.auth import calendar_token
from tests.conftest import binary
from tests.e2e.conftest import Stack, running_stack
from tests.fakes.receiver import Receiver
from worker.config import ConfigFile
from worker.rotations import sync_rotations
from workflows.rotation_models import TeamActivityQuery

pytestmark = pytest.mark.e2e

CONFIG = """
people:
  alice: {{name: Alice, email: alice@example.com, contact: [console]}}
  bob: {{name: Bob, email: bob@example.com, contact: [console]}}
  carol: {{name: Carol, email: carol@example.com, contact: [console]}}
  dana: {{name: Dana, email: dana@example.com, contact: [console]}}
teams:
  delivery: {{members: [alice, bob, carol, dana], rotation: {rot}, escalation_policy: delivery}}
rotations:
  {rot}:
    timezone: America/Chicago
    handoff: {{weekday: monday, time: "10:00"}}
    shift: 1w
    start: 2026-01-05
    layers: {{eoc: [alice, bob], tm: [dana]}}
escalation_policies:
  delivery: {{steps: [{{targets: ["rotation:{rot}/eoc"], ack_timeout: 10m}}]}}
"""


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Desk:
    stack: Stack
    env: dict[str, str]
    rotation: str

    async def cli(self, *args: str) -> Done:
        """The CLI as a process, without blocking this loop (the worker runs in it)."""
        process = await asyncio.create_subprocess_exec(
            binary("tocsin"),
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return Done(process.returncode or 0, out.decode(), err.decode())

    async def oncall(self, at: str) -> dict[str, Any]:
        done = await self.cli("oncall", "--team", "delivery", "--at", at, "--json")
        assert done.returncode == 0, done.stderr
        assert "did not answer" not in done.stderr, done.stderr
        return {e["layer"]: e for e in json.loads(done.stdout)}


@pytest.fixture
async def desk(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    path = tmp_path / "tocsin.yaml"
    # A rotation of its own: rotation and shift workflows outlive a test on the dev server.
    rotation = f"delivery{uuid.uuid4().hex[:6]}"
    path.write_text(CONFIG.format(rot=rotation))
    sink = Receiver()
    await sink.start()
    async with running_stack(dev_env.client, sink, path) as stack:
        await sync_rotations(dev_env.client, ConfigFile(path).current(), stack.task_queue)
        env = {
            **os.environ,
            "TOCSIN_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TOCSIN_CONFIG": str(path),
            "TOCSIN_TASK_QUEUE": stack.task_queue,
            "TOCSIN_DATA_DIR": str(tmp_path),
        }
        desk = Desk(stack, env, rotation)
        for _ in range(200):
            status = await stack.http.get(f"/api/rotations/{rotation}/status")
            if status.status_code == 200 and status.json()["current_shift"]:
                break
            await asyncio.sleep(0.05)
        yield desk
        # The rotation and its shift ran on this test's task queue, served by nobody after it.
        status = (await stack.http.get(f"/api/rotations/{rotation}/status")).json()
        for workflow_id in (f"rotation-{rotation}", status["current_shift"]):
            with contextlib.suppress(RPCError):
                await dev_env.client.get_workflow_handle(workflow_id).terminate("test finished")
    await sink.stop()


class TestOncallCli:
    """``tocsin oncall --team delivery --at …`` answers from the live rotation."""

    async def test_across_dst_and_with_an_override(self, desk: Desk) -> None:
        """Handoff at 10:00 local on both sides of the March change; an override wins."""
        # 2027-03-14 is the spring change in Chicago: the handoff the next day is 10:00 CDT.
        before = await desk.oncall("2027-03-15T09:59:00-05:00")
        after = await desk.oncall("2027-03-15T10:00:00-05:00")
        assert before["eoc"]["person"] != after["eoc"]["person"]
        assert before["eoc"]["end"] == "2027-03-15T15:00:00Z", "10:00 CDT is 15:00 UTC"
        fall_before = await desk.oncall("2026-11-30T09:59:00-06:00")
        assert fall_before["eoc"]["end"] == "2026-11-30T16:00:00Z", "10:00 CST is 16:00 UTC"

        made = await desk.cli(
            "rotation",
            "override",
            desk.rotation,
            "--layer",
            "eoc",
            "--person",
            "carol",
            "--start",
            "2027-03-15T12:00:00-05:00",
            "--end",
            "2027-03-15T18:00:00-05:00",
            "--reason",
            "dentist",
            "--as",
            "dana",
            "--json",
        )
        assert made.returncode == 0, made.stderr
        override = json.loads(made.stdout)
        covered = await desk.oncall("2027-03-15T13:00:00-05:00")
        assert covered["eoc"]["person"] == "carol"
        assert datetime.fromisoformat(covered["eoc"]["end"]) == datetime(
            2027, 3, 15, 23, tzinfo=UTC
        )
        assert (await desk.oncall("2027-03-15T18:30:00-05:00"))["eoc"]["person"] == after["eoc"][
            "person"
        ]

        refused = await desk.cli(
            "rotation",
            "override",
            desk.rotation,
            "--layer",
            "nope",
            "--person",
            "carol",
            "--as",
            "dana",
        )
        assert refused.returncode == 1
        assert "nope" in refused.stderr

        removed = await desk.cli(
            "rotation", "remove", desk.rotation, override["id"], "--as", "dana"
        )
        assert removed.returncode == 0, removed.stderr
        assert (await desk.oncall("2027-03-15T13:00:00-05:00"))["eoc"]["person"] == after["eoc"][
            "person"
        ]

    async def test_shifts_as_csv_and_a_handoff_note(self, desk: Desk) -> None:
        """Shifts in a range come as CSV for pay; a note lands on the current shift."""
        done = await desk.cli(
            "rotation",
            "shifts",
            desk.rotation,
            "--from",
            "2027-03-01T00:00:00-06:00",
            "--to",
            "2027-03-29T00:00:00-05:00",
            "--csv",
        )
        assert done.returncode == 0, done.stderr
        rows = list(csv.DictReader(io.StringIO(done.stdout)))
        eoc = [r for r in rows if r["layer"] == "eoc"]
        assert {r["hours"] for r in eoc} >= {"167.00", "168.00"}, "the short spring week shows"
        noted = await desk.cli(
            "shift", "note", desk.rotation, "gitserver-0 disk at 85%", "--as", "alice"
        )
        assert noted.returncode == 0, noted.stderr
        status = (await desk.stack.http.get(f"/api/rotations/{desk.rotation}/status")).json()
        assert status["current_shift"].startswith(f"shift-{desk.rotation}-")


class TestCalendarFeeds:
    """The .ics feeds parse back, with a bearer token or the URL's own token only."""

    async def test_rotation_and_person_calendars(self, desk: Desk) -> None:
        """Bearer works; ?token= works for its own path only; no credentials is 401."""
        http = desk.stack.http
        with_bearer = await http.get(f"/api/rotations/{desk.rotation}.ics")
        assert with_bearer.status_code == 200
        assert with_bearer.headers["content-type"].startswith("text/calendar")
        events = icalendar.Calendar.from_ical(with_bearer.content).walk("VEVENT")
        assert events
        assert any("Alice" in str(e.get("SUMMARY")) for e in events)

        token = calendar_token(desk.stack.token, "/api/people/alice.ics")
        async with httpx.AsyncClient(base_url=str(http.base_url)) as anonymous:
            assert (await anonymous.get("/api/people/alice.ics")).status_code == 401
            person = await anonymous.get("/api/people/alice.ics", params={"token": token})
            assert person.status_code == 200
            mine = icalendar.Calendar.from_ical(person.content).walk("VEVENT")
            assert mine
            assert all("Alice" in str(e.get("SUMMARY")) for e in mine)
            other = await anonymous.get("/api/people/bob.ics", params={"token": token})
            assert other.status_code == 401, "a calendar token opens only its own URL"
            assert (await anonymous.get(f"/api/rotations/{desk.rotation}")).status_code == 401


# Two ranges sharing the weeks of 2027-03-08 and 2027-03-15 (handoffs Mondays 10:00 Chicago).
EARLY = {"from": "2027-03-01T00:00:00-06:00", "to": "2027-03-17T00:00:00-05:00"}
LATE = {"from": "2027-03-10T00:00:00-05:00", "to": "2027-04-05T12:00:00-05:00"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def by_uid(data: bytes) -> dict[str, tuple[datetime, datetime, str]]:
    """Each event's (DTSTART, DTEND, SUMMARY) by UID."""
    return {
        str(e["UID"]): (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"]))
        for e in icalendar.Calendar.from_ical(data).walk("VEVENT")
    }


class TestRanges:
    """``?from=&to=`` over real HTTP: ``to`` bounds the answer; ``end``/``start`` are refused."""

    async def test_shifts_end_at_to(self, desk: Desk) -> None:
        """The spans cover exactly the range asked for, not the 28-day default."""
        http = desk.stack.http
        for window in (EARLY, LATE):
            spans = await http.get(f"/api/rotations/{desk.rotation}", params=window)
            assert spans.status_code == 200, spans.text
            found = spans.json()
            assert min(at(s["start"]) for s in found) == at(window["from"])
            assert max(at(s["end"]) for s in found) == at(window["to"])

    async def test_calendars_honour_to_and_keep_uids(self, desk: Desk) -> None:
        """Each feed holds the whole shifts overlapping its range, the last starting before
        ``to``; the weeks both ranges share are the same events (UID, DTSTART, DTEND)."""
        http = desk.stack.http
        for path in (f"/api/rotations/{desk.rotation}.ics", "/api/people/dana.ics"):
            early, late = [await http.get(path, params=window) for window in (EARLY, LATE)]
            assert early.status_code == late.status_code == 200, (early.text, late.text)
            first, second = by_uid(early.content), by_uid(late.content)
            for events, window in ((first, EARLY), (second, LATE)):
                starts = sorted(start for start, _, _ in events.values())
                ends = [end for _, end, _ in events.values()]
                assert max(starts) < at(window["to"]) <= max(ends), path
                assert min(ends) > at(window["from"]), path
            # Mar 15 10:00 CDT: the last handoff before EARLY's end.
            assert max(s for s, _, _ in first.values()) == datetime(2027, 3, 15, 15, tzinfo=UTC)
            common = first.keys() & second.keys()
            assert {first[uid][0] for uid in common} == {
                datetime(2027, 3, 8, 16, tzinfo=UTC),
                datetime(2027, 3, 15, 15, tzinfo=UTC),
            }, path
            assert all(first[uid] == second[uid] for uid in common), path

    async def test_cli_calendar_is_the_feed(self, desk: Desk) -> None:
        """``tocsin ical --from --to`` exports the same events as the feed for that range."""
        feed = await desk.stack.http.get(f"/api/rotations/{desk.rotation}.ics", params=EARLY)
        done = await desk.cli("ical", desk.rotation, "--from", EARLY["from"], "--to", EARLY["to"])
        assert done.returncode == 0, done.stderr
        assert by_uid(done.stdout.encode()) == by_uid(feed.content)

    async def test_end_and_start_are_refused(self, desk: Desk) -> None:
        """``?end=`` and ``?start=`` are a 422 saying to use ``to``/``from``, not ignored."""
        http = desk.stack.http
        for path in (
            f"/api/rotations/{desk.rotation}",
            f"/api/rotations/{desk.rotation}.ics",
            "/api/people/alice.ics",
        ):
            wrong = await http.get(path, params={"from": EARLY["from"], "end": EARLY["to"]})
            assert wrong.status_code == 422, (path, wrong.text)
            [problem] = wrong.json()["detail"]
            assert problem["loc"] == ["query", "end"]
            assert "use 'to'" in problem["msg"]
            wrong = await http.get(path, params={"start": EARLY["from"], "to": EARLY["to"]})
            assert wrong.status_code == 422, (path, wrong.text)
            assert "use 'from'" in wrong.json()["detail"][0]["msg"]


OPSGENIE = Path(__file__).parents[1] / "fixtures" / "opsgenie-timeline" / "delivery-eoc.json"


class TestCompareWithOpsgenie:
    """``tocsin oncall compare`` reads the running rotation: Tocsin's own override shows."""

    async def test_each_side_has_an_override_the_other_lacks(self, desk: Desk) -> None:
        """Opsgenie's cover (carol for alice, 24 h) and Tocsin's (carol for bob, 12 h) are
        the two differences, and nothing else; exit 1."""
        made = await desk.cli(
            *("rotation", "override", desk.rotation, "--layer", "eoc", "--person", "carol"),
            *("--start", "2027-04-21T09:00:00-05:00", "--end", "2027-04-21T21:00:00-05:00"),
            *("--as", "dana"),
        )
        assert made.returncode == 0, made.stderr

        done = await desk.cli(
            *("oncall", "compare", "--rotation", desk.rotation, "--opsgenie", str(OPSGENIE)),
            *("--from", "2027-04-12T10:00:00-05:00"),
        )

        assert done.returncode == 1, done.stderr
        assert "did not answer" not in done.stderr, done.stderr
        assert done.stdout.splitlines() == [
            f"{desk.rotation}/eoc against Opsgenie's final timeline (EOC weekly), "
            "Mon 2027-04-12 10:00 CDT to Mon 2027-04-26 10:00 CDT",
            "Wed 2027-04-14 10:00 CDT to Thu 2027-04-15 10:00 CDT  "
            "Opsgenie: carol (carol@example.com, override)  Tocsin: alice (schedule)",
            "Wed 2027-04-21 09:00 CDT to Wed 2027-04-21 21:00 CDT  "
            "Opsgenie: bob (bob@example.com, default)  Tocsin: carol (override)",
            "2 intervals differ: 36 hours",
        ]


class TestTeamActivity:
    """What a shift's report reads: the team's pages from Temporal visibility and queries."""

    async def test_pages_in_the_window_and_still_open(self, desk: Desk) -> None:
        """A page opened now is listed with its state, and as open until it is resolved."""
        source = TemporalTeamActivity(desk.stack.tocsin.temporal)
        # From just before the page: earlier tests' pages on the shared dev server have no
        # worker left to answer their queries, and each would wait out its query timeout.
        since = datetime.now(UTC) - timedelta(seconds=1)
        created = await desk.stack.http.post(
            "/api/pages", json={"team": "delivery", "summary": "Queue backlog", "by": "alice"}
        )
        assert created.status_code == 201, created.text
        page_id = created.json()["id"]
        now = datetime.now(UTC)
        query = TeamActivityQuery(team="delivery", start=since, end=now + timedelta(minutes=5))
        activity = None
        for _ in range(100):  # visibility lags about a second
            activity = await source.activity(query)
            if any(p.id == page_id for p in activity.pages):
                break
            await asyncio.sleep(0.1)
        assert activity is not None
        [page] = [p for p in activity.pages if p.id == page_id]
        assert (page.summary, page.status, page.test) == ("Queue backlog", "triggered", False)
        assert page_id in [p.id for p in activity.open_pages]
