"""tocsin.yaml loading: schema, cross-references, error lines named by key path, live reload."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs

from worker.config import ConfigError, ConfigFile, load_config, parse_config
from workflows.config import TocsinConfig, Weekday

SOURCE = "tocsin.yaml"

EXAMPLE = """\
timezone: America/Chicago
people:
  alice: {name: Alice Example, email: alice@example.com, timezone: America/Chicago, contact: [console, "mailto://user:pw@example.com", "json://127.0.0.1:9000/hook"]}
  bob: {name: Bob, contact: [console]}
  dana: {name: Dana, contact: [console]}
teams:
  delivery: {members: [alice, bob, dana], rotation: delivery, escalation_policy: delivery}
rotations:
  delivery:
    timezone: America/Chicago
    handoff: {weekday: monday, time: "10:00"}
    shift: 1w
    start: 2026-11-23
    layers: {eoc: [alice, bob], tm: [dana]}
escalation_policies:
  delivery:
    repeat: 0
    steps:
      - {targets: ["rotation:delivery/eoc"], ack_timeout: 10m}
      - {targets: ["rotation:delivery/tm"], ack_timeout: 5m}
      - {targets: ["team:delivery"], ack_timeout: 5m}
"""

Data = dict[str, Any]


def example() -> Data:
    """A fresh, mutable copy of the issue's example, as YAML parses it."""
    data = yaml.safe_load(EXAMPLE)
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def problems_of(change: Callable[[Data], object]) -> list[str]:
    """The error lines parse_config reports for the example after ``change`` is applied."""
    data = example()
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, SOURCE)
    return caught.value.problems


def rotation(data: Data) -> Data:
    """The example's `delivery` rotation, for editing in place."""
    found: Data = data["rotations"]["delivery"]
    return found


def person(data: Data, pid: str) -> Data:
    """One person of the example, for editing in place."""
    found: Data = data["people"][pid]
    return found


def team(data: Data) -> Data:
    """The example's `delivery` team, for editing in place."""
    found: Data = data["teams"]["delivery"]
    return found


def step(data: Data, index: int) -> Data:
    """One step of the example's `delivery` policy, for editing in place."""
    found: Data = data["escalation_policies"]["delivery"]["steps"][index]
    return found


class TestExample:
    def test_example_loads(self, tmp_path: Path) -> None:
        """The issue's example file loads with durations, times and dates parsed."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")

        config = load_config(path)

        assert isinstance(config, TocsinConfig)
        assert config.timezone == "America/Chicago"
        assert list(config.people) == ["alice", "bob", "dana"]
        assert config.people["alice"].contact == [
            "console",
            "mailto://user:pw@example.com",
            "json://127.0.0.1:9000/hook",
        ]
        delivery = config.rotations["delivery"]
        assert delivery.handoff.weekday is Weekday.monday
        assert delivery.handoff.time == time(10, 0)
        assert delivery.shift == timedelta(weeks=1)
        assert delivery.start == date(2026, 11, 23)
        assert delivery.layers == {"eoc": ["alice", "bob"], "tm": ["dana"]}
        policy = config.escalation_policies["delivery"]
        assert [s.ack_timeout for s in policy.steps] == [
            timedelta(minutes=10),
            timedelta(minutes=5),
            timedelta(minutes=5),
        ]

    def test_defaults(self) -> None:
        """A person without contact is reached on the console; a policy without repeat runs once."""
        data = example()
        del person(data, "bob")["contact"]
        del data["escalation_policies"]["delivery"]["repeat"]

        config = parse_config(data, SOURCE)

        assert config.people["bob"].contact == ["console"]
        assert config.escalation_policies["delivery"].repeat == 0

    def test_top_level_must_be_a_mapping(self) -> None:
        """A file whose top level is not a mapping (e.g. an empty file) gets one clear line."""
        with pytest.raises(ConfigError) as caught:
            parse_config(None, SOURCE)
        assert caught.value.problems == [
            "tocsin.yaml: (top level): expected a mapping of keys such as people, teams"
        ]


class TestUnresolvedReferences:
    def test_unknown_team_member(self) -> None:
        """A team member who is not in people is named with the member's key path."""
        problems = problems_of(lambda d: team(d)["members"].append("zed"))
        assert problems == ["tocsin.yaml: teams.delivery.members.3: unknown person 'zed'"]

    def test_unknown_rotation_layer_member(self) -> None:
        """A rotation layer member who is not in people is named with the layer's key path."""
        problems = problems_of(lambda d: rotation(d)["layers"].update(tm=["dana", "yan"]))
        assert problems == ["tocsin.yaml: rotations.delivery.layers.tm.1: unknown person 'yan'"]

    def test_unknown_person_target(self) -> None:
        """A `person:` target naming nobody in people is named with the target's key path."""
        problems = problems_of(lambda d: step(d, 1).update(targets=["person:xavier"]))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.1.targets.0: unknown person 'xavier'"
        ]

    def test_unknown_team_target(self) -> None:
        """A `team:` target naming no team is named with the target's key path."""
        problems = problems_of(lambda d: step(d, 2).update(targets=["person:bob", "team:ghost"]))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.2.targets.1: unknown team 'ghost'"
        ]

    def test_unknown_rotation_target(self) -> None:
        """A `rotation:` target naming no rotation is named with the target's key path."""
        problems = problems_of(lambda d: step(d, 0).update(targets=["rotation:ghost/eoc"]))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.0.targets.0: unknown rotation 'ghost'"
        ]

    def test_unknown_layer_target(self) -> None:
        """A `rotation:` target naming a missing layer lists the layers that do exist."""
        problems = problems_of(lambda d: step(d, 0).update(targets=["rotation:delivery/lead"]))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.0.targets.0: "
            "rotation 'delivery' has no layer 'lead' (layers: eoc, tm)"
        ]

    def test_unknown_team_rotation(self) -> None:
        """A team pointing at a rotation that does not exist is named at teams.ID.rotation."""
        problems = problems_of(lambda d: team(d).update(rotation="nope"))
        assert problems == ["tocsin.yaml: teams.delivery.rotation: unknown rotation 'nope'"]

    def test_unknown_team_policy(self) -> None:
        """A team pointing at a missing escalation policy is named at teams.ID.escalation_policy."""
        problems = problems_of(lambda d: team(d).update(escalation_policy="nopol"))
        assert problems == [
            "tocsin.yaml: teams.delivery.escalation_policy: unknown escalation policy 'nopol'"
        ]

    def test_every_reference_reported_at_once(self) -> None:
        """All unresolved references in a file are reported together, one line each."""

        def break_everything(data: Data) -> None:
            team(data)["members"].append("zed")
            team(data)["rotation"] = "nope"
            team(data)["escalation_policy"] = "nopol"
            rotation(data)["layers"]["tm"] = ["yan"]
            step(data, 0)["targets"] = ["person:xavier", "team:ghost", "rotation:delivery/lead"]

        problems = problems_of(break_everything)

        assert problems == [
            "tocsin.yaml: teams.delivery.members.3: unknown person 'zed'",
            "tocsin.yaml: teams.delivery.rotation: unknown rotation 'nope'",
            "tocsin.yaml: teams.delivery.escalation_policy: unknown escalation policy 'nopol'",
            "tocsin.yaml: rotations.delivery.layers.tm.0: unknown person 'yan'",
            "tocsin.yaml: escalation_policies.delivery.steps.0.targets.0: unknown person 'xavier'",
            "tocsin.yaml: escalation_policies.delivery.steps.0.targets.1: unknown team 'ghost'",
            "tocsin.yaml: escalation_policies.delivery.steps.0.targets.2: "
            "rotation 'delivery' has no layer 'lead' (layers: eoc, tm)",
        ]


class TestSchemaErrors:
    @pytest.mark.parametrize(
        "target", ["rotation:delivery", "team", "people:bob", "team:Delivery", "rotation:a/b/c"]
    )
    def test_bad_target_syntax(self, target: str) -> None:
        """A target that is not person:ID, team:ID or rotation:ID/LAYER is rejected at its step."""
        problems = problems_of(lambda d: step(d, 0).update(targets=[target]))
        assert problems == [
            f"tocsin.yaml: escalation_policies.delivery.steps.0.targets: invalid target {target!r}: "
            "use person:ID, team:ID or rotation:ID/LAYER"
        ]

    def test_bad_duration(self) -> None:
        """An ack_timeout that is not a duration is named at its key path with both accepted forms."""
        problems = problems_of(lambda d: step(d, 1).update(ack_timeout="10x"))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.1.ack_timeout: invalid duration '10x': "
            "use <int><s|m|h|d|w> such as '10m' or ISO 8601 such as 'PT10M'"
        ]

    def test_bare_number_duration(self) -> None:
        """`ack_timeout: 10` (no unit) is rejected rather than guessed to be seconds or minutes."""
        problems = problems_of(lambda d: step(d, 1).update(ack_timeout=10))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.1.ack_timeout: "
            "expected a duration such as '10m', '1w' or 'PT10M', got 10"
        ]

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
            (lambda d: rotation(d).update(timezone="Mars/Olympus"), "rotations.delivery.timezone"),
            (lambda d: person(d, "bob").update(timezone="Mars/Olympus"), "people.bob.timezone"),
        ],
    )
    def test_unknown_time_zone(self, change: Callable[[Data], object], where: str) -> None:
        """A time zone that is not an IANA name is rejected wherever a time zone is accepted."""
        problems = problems_of(change)
        assert problems == [
            f"tocsin.yaml: {where}: unknown time zone 'Mars/Olympus' "
            "(use an IANA name such as 'America/Chicago')"
        ]

    def test_unquoted_handoff_time(self) -> None:
        """An unquoted `time: 10:00`, which YAML reads as the integer 600, asks for quotes."""
        text = EXAMPLE.replace('time: "10:00"', "time: 10:00")
        data = yaml.safe_load(text)
        assert data["rotations"]["delivery"]["handoff"]["time"] == 600

        with pytest.raises(ConfigError) as caught:
            parse_config(data, SOURCE)

        assert caught.value.problems == [
            'tocsin.yaml: rotations.delivery.handoff.time: write the time in quotes, e.g. time: "10:00"'
        ]

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            (
                lambda d: team(d).update(escalaton_policy="delivery"),
                "teams.delivery.escalaton_policy",
            ),
            (lambda d: d.update(escalation_policys={}), "escalation_policys"),
            (lambda d: person(d, "bob").update(emial="bob@example.com"), "people.bob.emial"),
            (
                lambda d: rotation(d)["handoff"].update(weekdays="monday"),
                "rotations.delivery.handoff.weekdays",
            ),
        ],
    )
    def test_unknown_key(self, change: Callable[[Data], object], where: str) -> None:
        """A misspelt key is rejected at its own path instead of being silently ignored."""
        problems = problems_of(change)
        assert problems == [f"tocsin.yaml: {where}: Extra inputs are not permitted"]

    def test_email_contact_needs_address(self) -> None:
        """`contact: [email]` for someone without an email address names the contact entry."""
        problems = problems_of(lambda d: person(d, "bob").update(contact=["console", "email"]))
        assert problems == [
            "tocsin.yaml: people.bob.contact.1: contact 'email' needs people.bob.email"
        ]

    def test_slack_contact_needs_user_id(self) -> None:
        """`contact: [slack]` for someone without a Slack user id names the contact entry."""
        problems = problems_of(lambda d: person(d, "dana").update(contact=["slack"]))
        assert problems == [
            "tocsin.yaml: people.dana.contact.0: contact 'slack' needs people.dana.slack"
        ]

    def test_unknown_contact_method(self) -> None:
        """A contact that is neither a built-in method nor an Apprise URL is rejected."""
        problems = problems_of(lambda d: person(d, "bob").update(contact=["pager"]))
        assert problems == [
            "tocsin.yaml: people.bob.contact: unknown contact method 'pager': use console, email, "
            "slack or an Apprise URL such as 'mailto://…' or 'json://host/path'"
        ]

    def test_weekly_handoff_needs_whole_weeks(self) -> None:
        """A weekday handoff with a shift that is not whole weeks is named at the rotation."""
        problems = problems_of(lambda d: rotation(d).update(shift="10d"))
        assert problems == [
            "tocsin.yaml: rotations.delivery: with handoff.weekday set, "
            "shift must be a whole number of weeks (got 10d)"
        ]

    def test_multi_week_shift_allowed(self) -> None:
        """A weekday handoff with a two-week shift is valid."""
        data = example()
        rotation(data)["shift"] = "P2W"
        assert parse_config(data, SOURCE).rotations["delivery"].shift == timedelta(weeks=2)

    def test_short_shift(self) -> None:
        """A shift shorter than an hour is rejected at rotations.ID.shift."""

        def change(data: Data) -> None:
            del rotation(data)["handoff"]["weekday"]
            rotation(data)["shift"] = "30m"

        assert problems_of(change) == [
            "tocsin.yaml: rotations.delivery.shift: a shift must last at least 1h"
        ]

    def test_bad_identifier(self) -> None:
        """A person id that is not lower-case letters, digits, - and _ is named at its key."""
        problems = problems_of(lambda d: d["people"].update({"Zed": {"name": "Zed"}}))
        assert len(problems) == 1
        assert problems[0].startswith("tocsin.yaml: people.Zed.[key]: String should match pattern")

    def test_every_schema_error_reported_at_once(self) -> None:
        """Several schema errors in one file give one line each, in file order."""

        def break_everything(data: Data) -> None:
            person(data, "bob")["contact"] = ["pager"]
            team(data)["colour"] = "blue"
            rotation(data)["handoff"]["time"] = 600
            step(data, 1)["ack_timeout"] = "soon"

        problems = problems_of(break_everything)

        assert [line.split(": ")[1] for line in problems] == [
            "people.bob.contact",
            "teams.delivery.colour",
            "rotations.delivery.handoff.time",
            "escalation_policies.delivery.steps.1.ack_timeout",
        ]
        assert all(line.startswith("tocsin.yaml: ") for line in problems)
        assert str(ConfigError(problems)) == "\n".join(problems)


def policy(data: Data) -> Data:
    """The example's `delivery` escalation policy, for editing in place."""
    found: Data = data["escalation_policies"]["delivery"]
    return found


def daily(data: Data) -> Data:
    """The example's rotation without a handoff weekday, so any shift length is allowed."""
    del rotation(data)["handoff"]["weekday"]
    return rotation(data)


class TestBounds:
    """Every duration and count has a maximum, refused at its key path with the bound."""

    @pytest.mark.parametrize("value", ["8d", "3000000d", "99999999999w", "P99999999999W"])
    def test_ack_timeout_at_most_a_week(self, value: str) -> None:
        """An ack_timeout over a week, even one too large to compute, names the bound."""
        problems = problems_of(lambda d: step(d, 1).update(ack_timeout=value))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.steps.1.ack_timeout: must be at most 1w"
        ]

    def test_repeat(self) -> None:
        """`repeat: 1000` is refused with the largest repeat allowed."""
        problems = problems_of(lambda d: policy(d).update(repeat=1000))
        assert problems == [
            "tocsin.yaml: escalation_policies.delivery.repeat: "
            "Input should be less than or equal to 20"
        ]

    @pytest.mark.parametrize(
        ("change", "where", "message"),
        [
            (
                lambda d: daily(d).update(shift="91d"),
                "rotations.delivery.shift",
                "must be at most 90d",
            ),
            (
                lambda d: rotation(d).update(test_page_timeout="8d"),
                "rotations.delivery.test_page_timeout",
                "must be at most 1w",
            ),
            (
                lambda d: rotation(d).update(handoff_reminder="31d"),
                "rotations.delivery.handoff_reminder",
                "must be at most 30d",
            ),
            (
                lambda d: rotation(d).update(start="9999-12-31"),
                "rotations.delivery.start",
                "must be between 1970-01-01 and 2999-12-31",
            ),
            (
                lambda d: d.update(severities=[{"name": "sev1", "update_interval": "P31D"}]),
                "severities.0.update_interval",
                "must be at most 30d",
            ),
            (
                lambda d: d.update(alerting={"flap_window": "99999999999w"}),
                "alerting.flap_window",
                "must be at most 30d",
            ),
            (
                lambda d: d.update(incidents={"lead_timeout": "8d"}),
                "incidents.lead_timeout",
                "must be at most 1w",
            ),
            (
                lambda d: d.update(incidents={"followups": {"remind_after": "91d"}}),
                "incidents.followups.remind_after",
                "must be at most 90d",
            ),
            (
                lambda d: d.update(incidents={"history_limit": 100_000}),
                "incidents.history_limit",
                "Input should be less than or equal to 50000",
            ),
            (
                lambda d: d.update(
                    services={
                        "api": {
                            "team": "delivery",
                            "rollback": {"kind": "command", "argv": ["true"], "timeout": "1h"},
                        }
                    }
                ),
                "services.api.rollback.command.timeout",
                "must be at most 10m",
            ),
            (
                lambda d: policy(d).update(steps=[step(d, 0)] * 21),
                "escalation_policies.delivery.steps",
                "List should have at most 20 items after validation, not 21",
            ),
            (
                lambda d: rotation(d).update(layers={f"l{i}": ["alice"] for i in range(11)}),
                "rotations.delivery.layers",
                "Dictionary should have at most 10 items after validation, not more",
            ),
        ],
    )
    def test_bound_named_at_key(
        self, change: Callable[[Data], object], where: str, message: str
    ) -> None:
        """A value over its field's maximum is one line: the key path, then the bound."""
        assert problems_of(change) == [f"tocsin.yaml: {where}: {message}"]

    def test_largest_values_allowed(self) -> None:
        """Values exactly at their bounds load unchanged."""
        data = example()
        policy(data)["repeat"] = 20
        step(data, 0)["ack_timeout"] = "7d"
        daily(data).update(shift="90d", handoff_reminder="30d", start="2999-12-31")

        config = parse_config(data, SOURCE)

        assert config.escalation_policies["delivery"].repeat == 20
        assert config.escalation_policies["delivery"].steps[0].ack_timeout == timedelta(days=7)
        assert config.rotations["delivery"].shift == timedelta(days=90)
        assert config.rotations["delivery"].handoff_reminder == timedelta(days=30)

    @pytest.mark.parametrize(
        ("change", "where", "message"),
        [
            (
                lambda d: d.update(timezone="America"),
                "timezone",
                "unknown time zone 'America' (use an IANA name such as 'America/Chicago')",
            ),
            (
                lambda d: d.update(
                    routes=[
                        {"match_re": {"job": "a{99999999999}"}, "team": "delivery"},
                        {"default": True, "team": "delivery"},
                    ]
                ),
                "routes.0.match_re.job",
                "invalid regular expression 'a{99999999999}': the repetition number is too large",
            ),
        ],
    )
    def test_other_values_that_crashed(
        self, change: Callable[[Data], object], where: str, message: str
    ) -> None:
        """A time zone naming a directory and an overflowing regex repeat are errors, not crashes."""
        assert problems_of(change) == [f"tocsin.yaml: {where}: {message}"]


class TestDuplicateKeys:
    """A key given twice in one mapping is refused with its line, not silently overridden."""

    def test_duplicate_person(self, tmp_path: Path) -> None:
        """A second `people.alice:` is named with its line and column."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE.replace("  bob:", "  alice: {name: Alice Again}\n  bob:"))

        with pytest.raises(ConfigError) as caught:
            load_config(path)

        assert caught.value.problems == [f"{path}: line 4, column 3: duplicate key 'alice'"]

    def test_duplicate_key_in_flow_mapping(self, tmp_path: Path) -> None:
        """`ack_timeout` twice in one step is refused at the second one."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE.replace("ack_timeout: 5m}", "ack_timeout: 5m, ack_timeout: 1h}", 1))

        with pytest.raises(ConfigError) as caught:
            load_config(path)

        assert caught.value.problems == [f"{path}: line 20, column 62: duplicate key 'ack_timeout'"]

    def test_same_key_in_different_mappings(self, tmp_path: Path) -> None:
        """The same key in sibling mappings (every person's `name`) is not a duplicate."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE)
        assert list(load_config(path).people) == ["alice", "bob", "dana"]

    def test_merge_key_may_be_overridden(self, tmp_path: Path) -> None:
        """A key brought in by a YAML `<<:` merge can still be set in the mapping itself."""
        path = tmp_path / "tocsin.yaml"
        text = EXAMPLE.replace(
            "  bob: {name: Bob, contact: [console]}",
            "  bob: &base {name: Bob, contact: [console]}\n  erin: {<<: *base, name: Erin}",
        )
        path.write_text(text)

        assert load_config(path).people["erin"].name == "Erin"


class TestLoadConfig:
    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is one line naming the file."""
        path = tmp_path / "absent.yaml"
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert caught.value.problems == [f"{path}: file not found"]

    def test_invalid_yaml_names_the_line(self, tmp_path: Path) -> None:
        """A YAML syntax error is reported with the line and column where the parser stopped."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(
            "people:\n  alice: {name: Alice\nteams: {}\n",
            encoding="utf-8",
        )
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        [problem] = caught.value.problems
        assert problem.startswith(f"{path}: line 3, column ")
        assert "invalid YAML" in problem

    def test_errors_name_the_file(self, tmp_path: Path) -> None:
        """Schema errors from a file start with that file's path."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE.replace("ack_timeout: 10m", "ack_timeout: 10x"), encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        [problem] = caught.value.problems
        assert problem.startswith(f"{path}: escalation_policies.delivery.steps.0.ack_timeout: ")


def rewrite(path: Path, text: str, bump: int) -> None:
    """Write ``text`` and move the file's mtime forward so the change is seen on any file system."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + bump * 1_000_000_000, before + bump * 1_000_000_000))


class TestConfigFile:
    def test_missing_file_fails_at_start(self, tmp_path: Path) -> None:
        """A ConfigFile cannot be opened on a file that does not exist."""
        with pytest.raises(ConfigError):
            ConfigFile(tmp_path / "absent.yaml")

    def test_reloads_on_change(self, tmp_path: Path) -> None:
        """After the file changes, current() returns the new configuration."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")
        source = ConfigFile(path)
        assert source.path == path
        assert source.current().people["bob"].name == "Bob"

        rewrite(path, EXAMPLE.replace("name: Bob,", "name: Robert,"), bump=1)

        assert source.current().people["bob"].name == "Robert"

    def test_unchanged_file_is_not_reparsed(self, tmp_path: Path) -> None:
        """Without a change on disk, current() keeps returning the same object."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")
        source = ConfigFile(path)
        assert source.current() is source.current()

    def test_keeps_last_good_config(self, tmp_path: Path) -> None:
        """An edit that breaks the file is logged and ignored; fixing it is picked up."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")
        source = ConfigFile(path)
        good = source.current()

        rewrite(path, EXAMPLE.replace("members: [alice, bob, dana]", "members: [alice, zed]"), 1)
        with capture_logs() as logs:
            assert source.current() is good
        [entry] = [e for e in logs if e["event"] == "config change ignored"]
        assert entry["log_level"] == "error"
        assert entry["problems"] == [f"{path}: teams.delivery.members.1: unknown person 'zed'"]

        with capture_logs() as logs:
            assert source.current() is good
        assert logs == []

        rewrite(path, EXAMPLE.replace("name: Dana,", "name: Dana Example,"), bump=2)
        assert source.current().people["dana"].name == "Dana Example"

    @pytest.mark.parametrize("value", ["99999999999w", "3000000d"])
    def test_out_of_bounds_edit_keeps_last_good_config(self, tmp_path: Path, value: str) -> None:
        """A live edit with an ack_timeout beyond its bound is logged and ignored."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")
        source = ConfigFile(path)
        good = source.current()

        rewrite(path, EXAMPLE.replace("ack_timeout: 10m", f"ack_timeout: {value}"), bump=1)
        with capture_logs() as logs:
            assert source.current() is good

        [entry] = [e for e in logs if e["event"] == "config change ignored"]
        assert entry["problems"] == [
            f"{path}: escalation_policies.delivery.steps.0.ack_timeout: must be at most 1w"
        ]

    def test_duplicate_key_edit_keeps_last_good_config(self, tmp_path: Path) -> None:
        """A live edit that repeats a key is logged with its line and ignored."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")
        source = ConfigFile(path)
        good = source.current()

        rewrite(path, EXAMPLE.replace("  dana:", "  bob: {name: Robert}\n  dana:"), bump=1)
        with capture_logs() as logs:
            assert source.current() is good

        [entry] = [e for e in logs if e["event"] == "config change ignored"]
        assert entry["problems"] == [f"{path}: line 5, column 3: duplicate key 'bob'"]

    def test_keeps_last_good_config_when_file_disappears(self, tmp_path: Path) -> None:
        """If the file is deleted, current() keeps serving the configuration it had."""
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE, encoding="utf-8")
        source = ConfigFile(path)
        good = source.current()

        path.unlink()

        assert source.current() is good
