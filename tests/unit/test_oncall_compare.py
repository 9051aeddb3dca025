"""``tocsin oncall compare``: an Opsgenie schedule timeline against a Tocsin rotation layer.

The fixture is Opsgenie's answer for two weeks of the example config's ``delivery``
rotation (eoc: alice, then bob, handing over Mondays 10:00 Chicago), with an Opsgenie
override that Tocsin does not have; Tocsin's plan gets an override Opsgenie does not have.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from starters.cli import app
from starters.oncall_compare import (
    Comparison,
    MapError,
    TimelineError,
    check_covers,
    compare,
    comparison_text,
    map_entries,
    map_file,
    match_people,
    read_timeline,
)
from worker.config import load_config
from workflows.rotation_models import Override, RotationPlan
from workflows.rotation_rules import layer_spans, plan_from_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tocsin.example.yaml"
FIXTURE = ROOT / "tests" / "fixtures" / "opsgenie-timeline" / "delivery-eoc.json"
CONFIG = load_config(EXAMPLE)
ZONE = CONFIG.rotations["delivery"].zone

START = datetime(2027, 4, 12, 15, tzinfo=UTC)  # Mon 10:00 CDT: alice's week, then bob's
END = START + timedelta(weeks=2)
# Opsgenie only: carol covers alice for a day.
THEIR_COVER = (datetime(2027, 4, 14, 15, tzinfo=UTC), datetime(2027, 4, 15, 15, tzinfo=UTC))
# Tocsin only: carol covers bob for twelve hours.
OUR_COVER = Override(
    id="ovr-1",
    layer="eoc",
    person="carol",
    start=datetime(2027, 4, 21, 14, tzinfo=UTC),
    end=datetime(2027, 4, 22, 2, tzinfo=UTC),
    by="dana",
    created_at=datetime(2027, 4, 1, tzinfo=UTC),
)
FROM = "2027-04-12T10:00:00-05:00"


def export() -> dict[str, Any]:
    """The fixture, parsed (a fresh copy to change)."""
    document: dict[str, Any] = json.loads(FIXTURE.read_text())
    return document


def without_overrides() -> dict[str, Any]:
    """The export as if Opsgenie had no override: its base timeline as the final one."""
    document = export()
    document["data"]["finalTimeline"] = copy.deepcopy(document["data"]["baseTimeline"])
    return document


def plan(*overrides: Override) -> RotationPlan:
    """The example's delivery plan with ``overrides``."""
    return plan_from_config("delivery", CONFIG.rotations["delivery"]).model_copy(
        update={"overrides": list(overrides)}
    )


def run(
    document: object,
    rotation_plan: RotationPlan,
    layer: str = "eoc",
    explicit: dict[str, str] | None = None,
) -> Comparison:
    """The comparison over the fixture's two weeks, people matched by e-mail."""
    return compare(
        read_timeline(document),
        layer_spans(rotation_plan, layer, START, END),
        match_people(CONFIG.people, explicit or {}),
        rotation="delivery",
        layer=layer,
        start=START,
        end=END,
        live=True,
    )


def intervals(result: Comparison) -> list[tuple[datetime, datetime, list[str], str | None]]:
    return [
        (d.start, d.end, [h.person or h.recipient for h in d.opsgenie], d.tocsin)
        for d in result.differences
    ]


def period(start: str, end: str, name: str, kind: str = "user") -> dict[str, Any]:
    return {
        "startDate": start,
        "endDate": end,
        "type": "default",
        "recipient": {"type": kind, "name": name},
    }


class TestReadTimeline:
    """The export is read as Opsgenie documents it, and refused naming the key."""

    def test_fixture(self) -> None:
        """Four periods of one rotation, and the range the export covers."""
        timeline = read_timeline(export())

        assert (timeline.start, timeline.end) == (START, END)
        assert timeline.rotations == ["EOC weekly"]
        assert [(p.recipient, p.type) for p in timeline.periods] == [
            ("alice@example.com", "default"),
            ("carol@example.com", "override"),
            ("alice@example.com", "default"),
            ("bob@example.com", "default"),
        ]

    def test_data_object_alone(self) -> None:
        """The ``data`` object saved on its own (``jq .data``) reads the same."""
        assert read_timeline(export()["data"]) == read_timeline(export())

    def test_groups_and_nobody(self) -> None:
        """A team with flattenedRecipients is its users; a team without is ``team:NAME``;
        ``none`` is nobody."""
        flattened = period("2027-04-12T15:00:00Z", "2027-04-13T15:00:00Z", "ops", "team")
        flattened["flattenedRecipients"] = [
            {"type": "user", "name": "alice@example.com"},
            {"type": "user", "name": "bob@example.com"},
        ]
        document = {
            "finalTimeline": {
                "rotations": [
                    {
                        "name": "r",
                        "periods": [
                            flattened,
                            period("2027-04-13T15:00:00Z", "2027-04-14T15:00:00Z", "ops", "team"),
                            period("2027-04-14T15:00:00Z", "2027-04-15T15:00:00Z", "x", "none"),
                        ],
                    }
                ]
            }
        }

        found = [p.recipient for p in read_timeline(document).periods]

        assert found == ["alice@example.com", "bob@example.com", "team:ops", None]

    @pytest.mark.parametrize(
        ("change", "key"),
        [
            (lambda d: d["data"].pop("finalTimeline"), "data.finalTimeline: missing"),
            (
                lambda d: d["data"]["finalTimeline"].update(rotations={}),
                "data.finalTimeline.rotations: missing or not a list",
            ),
            (
                lambda d: d["data"]["finalTimeline"]["rotations"][0]["periods"][1].update(
                    startDate="next tuesday"
                ),
                "data.finalTimeline.rotations[0].periods[1].startDate: 'next tuesday' is not",
            ),
            (
                lambda d: d["data"]["finalTimeline"]["rotations"][0]["periods"][2].update(
                    endDate="2027-04-15T16:00:00"
                ),
                "data.finalTimeline.rotations[0].periods[2].endDate: '2027-04-15T16:00:00' has "
                "no offset",
            ),
            (
                lambda d: d["data"]["finalTimeline"]["rotations"][0]["periods"][3].pop("recipient"),
                "data.finalTimeline.rotations[0].periods[3].recipient: missing",
            ),
            (
                lambda d: d["data"]["finalTimeline"]["rotations"][0]["periods"][0].update(
                    endDate="2027-04-12T15:00:00Z"
                ),
                "data.finalTimeline.rotations[0].periods[0].endDate: must be after startDate",
            ),
        ],
    )
    def test_refused_naming_the_key(self, change: Any, key: str) -> None:
        document = export()
        change(document)

        with pytest.raises(TimelineError) as refused:
            read_timeline(document)

        assert str(refused.value).startswith(key)

    def test_range_not_covered(self) -> None:
        """Comparing past the export's endDate is refused: Opsgenie's side would be nobody."""
        timeline = read_timeline(export())

        with pytest.raises(TimelineError, match="the export covers 2027-04-12T15:00Z to 2027-04"):
            check_covers(timeline, START, END + timedelta(hours=1))
        check_covers(timeline, START, END)


class TestPeople:
    """Opsgenie usernames are Tocsin people by e-mail, or by an explicit map that wins."""

    def test_by_email_case_ignored(self) -> None:
        found = match_people(CONFIG.people, {})

        assert found["alice@example.com"] == "alice"
        assert match_people(CONFIG.people, {"Alice@Example.com": "bob"})["alice@example.com"] == (
            "bob"
        )

    def test_unknown_person(self) -> None:
        with pytest.raises(
            MapError, match=re.escape("people.yaml: zed@x.io: unknown Tocsin person 'zed'")
        ):
            match_people(CONFIG.people, {"zed@x.io": "zed"}, "people.yaml")

    def test_map_options(self) -> None:
        assert map_entries(["a@x.io=alice", " b@x.io = bob "]) == {
            "a@x.io": "alice",
            "b@x.io": "bob",
        }
        with pytest.raises(MapError, match="--map 'alice': write opsgenie_username="):
            map_entries(["alice"])

    def test_map_file(self) -> None:
        assert map_file('{"a@x.io": "alice"}', "m.json") == {"a@x.io": "alice"}
        assert map_file("a@x.io: alice\n", "m.yaml") == {"a@x.io": "alice"}
        with pytest.raises(
            MapError, match=re.escape("m.yaml: write opsgenie_username: tocsin_person")
        ):
            map_file("- alice\n", "m.yaml")
        with pytest.raises(
            MapError, match=re.escape("m.yaml: a@x.io: the value must be a Tocsin person")
        ):
            map_file("a@x.io: [alice]\n", "m.yaml")


class TestCompare:
    """Exactly the intervals in which the two sides have different people."""

    def test_same_schedule_no_differences(self) -> None:
        """Opsgenie's schedule without its override is Tocsin's schedule."""
        result = run(without_overrides(), plan())

        assert result.differences == []
        assert result.hours_differing == 0
        assert comparison_text(result, ZONE).endswith("\nno differences")

    def test_override_only_opsgenie_has(self) -> None:
        """Opsgenie's cover is the one difference: carol there, alice (schedule) here."""
        result = run(export(), plan())

        assert intervals(result) == [(*THEIR_COVER, ["carol"], "alice")]
        assert result.differences[0].opsgenie[0].type == "override"
        assert result.differences[0].tocsin_source == "schedule"
        assert result.hours_differing == 24

    def test_override_each_side_lacks(self) -> None:
        """Both covers, and nothing else: Opsgenie's (24 h) and Tocsin's (12 h)."""
        result = run(export(), plan(OUR_COVER))

        assert intervals(result) == [
            (*THEIR_COVER, ["carol"], "alice"),
            (OUR_COVER.start, OUR_COVER.end, ["bob"], "carol"),
        ]
        assert (result.differences[1].tocsin_source, result.differences[1].tocsin_override_id) == (
            "override",
            "ovr-1",
        )
        assert result.hours_differing == 36
        assert comparison_text(result, ZONE) == (
            "delivery/eoc against Opsgenie's final timeline (EOC weekly), "
            "Mon 2027-04-12 10:00 CDT to Mon 2027-04-26 10:00 CDT\n"
            "Wed 2027-04-14 10:00 CDT to Thu 2027-04-15 10:00 CDT  "
            "Opsgenie: carol (carol@example.com, override)  Tocsin: alice (schedule)\n"
            "Wed 2027-04-21 09:00 CDT to Wed 2027-04-21 21:00 CDT  "
            "Opsgenie: bob (bob@example.com, default)  Tocsin: carol (override)\n"
            "2 intervals differ: 36 hours"
        )

    def test_another_layer(self) -> None:
        """Compared with the tm layer (dana throughout), every hour differs."""
        result = run(export(), plan(), layer="tm")

        assert {d.tocsin for d in result.differences} == {"dana"}
        assert result.hours_differing == 14 * 24

    def test_unmatched_recipient(self) -> None:
        """A username no Tocsin person has differs, and is listed, even if it spells an id."""
        document = without_overrides()
        first = document["data"]["finalTimeline"]["rotations"][0]["periods"][0]
        first["recipient"]["name"] = "alice"

        result = run(document, plan())

        assert intervals(result) == [(START, START + timedelta(weeks=1), ["alice"], "alice")]
        assert result.differences[0].opsgenie[0].person is None
        assert result.unmatched == ["alice"]
        assert "Opsgenie: alice (no Tocsin person, default)" in comparison_text(result, ZONE)

    def test_explicit_map_matches(self) -> None:
        """A map entry makes an otherwise unmatched username a Tocsin person."""
        document = without_overrides()
        first = document["data"]["finalTimeline"]["rotations"][0]["periods"][0]
        first["recipient"]["name"] = "a.example@corp.example"

        result = run(document, plan(), explicit={"a.example@corp.example": "alice"})

        assert result.differences == []

    def test_rotations_merged(self) -> None:
        """Two Opsgenie rotations on call at once are two people: not Tocsin's one."""
        document = without_overrides()
        rotations = document["data"]["finalTimeline"]["rotations"]
        rotations.append(
            {
                "name": "Shadow",
                "periods": [
                    period("2027-04-13T15:00:00Z", "2027-04-13T21:00:00Z", "bob@example.com")
                ],
            }
        )

        result = run(document, plan())

        assert intervals(result) == [
            (
                datetime(2027, 4, 13, 15, tzinfo=UTC),
                datetime(2027, 4, 13, 21, tzinfo=UTC),
                ["alice", "bob"],
                "alice",
            )
        ]
        assert result.opsgenie_rotations == ["EOC weekly", "Shadow"]

    def test_nobody_in_opsgenie(self) -> None:
        """A period with recipient ``none`` is nobody on call there."""
        document = without_overrides()
        periods = document["data"]["finalTimeline"]["rotations"][0]["periods"]
        periods[1]["recipient"] = {"type": "none", "name": "none"}

        result = run(document, plan())

        assert intervals(result) == [(START + timedelta(weeks=1), END, [], "bob")]
        assert "Opsgenie: nobody  Tocsin: bob (schedule)" in comparison_text(result, ZONE)


@pytest.fixture
def tocsin(closed_port: int) -> CliRunner:
    """A runner whose Temporal refuses connections: Tocsin's side is the config's."""
    return CliRunner(
        env={"TOCSIN_TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port}", "TOCSIN_CONFIG": str(EXAMPLE)}
    )


def cli(tocsin: CliRunner, *args: str, opsgenie: Path = FIXTURE) -> Any:
    return tocsin.invoke(
        app,
        [
            "oncall",
            "compare",
            "--rotation",
            "delivery",
            "--opsgenie",
            str(opsgenie),
            "--from",
            FROM,
            *args,
        ],
    )


class TestCompareCommand:
    """``tocsin oncall compare``: the differences on stdout, an exit code to gate on."""

    def test_differences_exit_1(self, tocsin: CliRunner) -> None:
        """Without Temporal the config answers (said on stderr): Opsgenie's cover differs."""
        result = cli(tocsin)

        assert result.exit_code == 1, result.output
        assert result.stdout.splitlines()[1:] == [
            "Wed 2027-04-14 10:00 CDT to Thu 2027-04-15 10:00 CDT  "
            "Opsgenie: carol (carol@example.com, override)  Tocsin: alice (schedule)",
            "1 interval differs: 24 hours",
        ]
        assert "the config's schedule is compared" in result.stderr

    def test_no_differences_exit_0(self, tocsin: CliRunner, tmp_path: Path) -> None:
        same = tmp_path / "same.json"
        same.write_text(json.dumps(without_overrides()))

        result = cli(tocsin, opsgenie=same)

        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[-1] == "no differences"

    def test_json(self, tocsin: CliRunner) -> None:
        result = cli(tocsin, "--json", "--layer", "eoc")

        assert result.exit_code == 1
        answer = json.loads(result.stdout)
        assert (answer["layer"], answer["live"], answer["hours_differing"]) == ("eoc", False, 24)
        assert answer["differences"][0]["opsgenie"][0] == {
            "recipient": "carol@example.com",
            "person": "carol",
            "type": "override",
        }

    def test_map_wins_over_email(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """--map overrides the e-mail match and the file; the file's entries apply too."""
        people = tmp_path / "people.yaml"
        people.write_text("carol@example.com: alice\nbob@example.com: carol\n")

        result = cli(tocsin, "--people-map", str(people), "--map", "bob@example.com=bob")

        assert result.exit_code == 0, result.output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--layer", "sre"], "--layer: delivery has no layer 'sre' (layers: eoc, tm)"),
            (["--map", "carol"], "--map 'carol': write opsgenie_username=tocsin_person"),
            (["--map", "carol@example.com=zed"], "unknown Tocsin person 'zed'"),
            (["--weeks", "3"], "the export covers 2027-04-12T15:00Z to 2027-04-26T15:00Z"),
        ],
    )
    def test_bad_options(self, tocsin: CliRunner, args: list[str], message: str) -> None:
        result = cli(tocsin, *args)

        assert result.exit_code == 2
        assert message in result.stderr
        assert "Traceback" not in result.output

    def test_unknown_rotation(self, tocsin: CliRunner) -> None:
        result = tocsin.invoke(
            app, ["oncall", "compare", "--rotation", "nope", "--opsgenie", str(FIXTURE)]
        )

        assert result.exit_code == 2
        assert "--rotation: unknown rotation 'nope' (rotations: customer-support" in result.stderr

    def test_from_without_offset(self, tocsin: CliRunner) -> None:
        result = tocsin.invoke(
            app,
            [
                *("oncall", "compare", "--rotation", "delivery", "--opsgenie", str(FIXTURE)),
                *("--from", "2027-04-12T10:00:00"),
            ],
        )

        assert result.exit_code == 2
        assert "--from needs a time zone" in result.stderr

    def test_bad_files(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """A missing file, one that is not JSON, a missing key, a bad people map: exit 2
        naming the file (and the key)."""
        missing = tmp_path / "missing.json"
        done = cli(tocsin, opsgenie=missing)
        assert done.exit_code == 2
        assert f"{missing}: cannot read it: No such file or directory" in done.stderr
        text = tmp_path / "timeline.txt"
        text.write_text("Delivery EOC: alice, bob")
        done = cli(tocsin, opsgenie=text)
        assert done.exit_code == 2
        assert f"{text}: not JSON" in done.stderr
        keyless = tmp_path / "keyless.json"
        keyless.write_text('{"data": {"startDate": "2027-04-12T15:00:00Z"}}')
        done = cli(tocsin, opsgenie=keyless)
        assert done.exit_code == 2
        assert f"{keyless}: data.finalTimeline: missing" in done.stderr
        people = tmp_path / "people.yaml"
        people.write_text("carol@example.com: zed\n")
        done = cli(tocsin, "--people-map", str(people))
        assert done.exit_code == 2
        assert f"{people}: carol@example.com: unknown Tocsin person 'zed'" in done.stderr
