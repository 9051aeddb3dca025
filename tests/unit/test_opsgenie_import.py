"""``tocsin import opsgenie DIR``: Opsgenie's API responses → a tocsin.yaml that passes the
config check, and a report naming every thing not mapped with its reason."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from starters.cli import app
from starters.opsgenie_import.convert import Conversion, ConversionError, convert
from starters.opsgenie_import.export import Export, read_export
from starters.opsgenie_import.report import Item, Section
from starters.opsgenie_import.shapes import (
    Contact,
    Escalation,
    Heartbeat,
    Integration,
    Override,
    Schedule,
    Team,
    User,
)
from worker.config import load_config, parse_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opsgenie"
TOCSIN = Path(sys.executable).parent / "tocsin"

PLATFORM = "team-platform-id"


def user(name: str, zone: str | None = "America/Chicago", role: str = "User") -> dict[str, Any]:
    return {
        "id": f"{name}-id",
        "username": f"{name}@acme.example",
        "fullName": name.title(),
        "timeZone": zone,
        "role": {"id": role, "name": role},
    }


def ref(name: str) -> dict[str, Any]:
    return {"type": "user", "id": f"{name}-id", "username": f"{name}@acme.example"}


def rotation(
    name: str, *people: str, kind: str = "weekly", start: str = "2026-11-02T16:00:00Z", **more: Any
) -> dict[str, Any]:
    return {
        "id": f"{name}-id",
        "name": name,
        "startDate": start,
        "type": kind,
        "length": 1,
        "participants": [ref(p) if isinstance(p, str) else p for p in people],
        **more,
    }


def schedule(*rotations: dict[str, Any], name: str = "Platform_schedule", **more: Any) -> Schedule:
    return Schedule.model_validate(
        {
            "id": f"{name}-id",
            "name": name,
            "timezone": "America/Chicago",
            "enabled": True,
            "ownerTeam": {"id": PLATFORM, "name": "Platform"},
            "rotations": list(rotations),
            **more,
        }
    )


def rule(delay: int, recipient: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "condition": "if-not-acked",
        "notifyType": "default",
        "delay": {"timeAmount": delay, "timeUnit": "minutes"},
        "recipient": recipient,
        **more,
    }


def escalation(*rules: dict[str, Any], **more: Any) -> Escalation:
    return Escalation.model_validate(
        {
            "id": "esc-id",
            "name": "Platform_escalation",
            "ownerTeam": {"id": PLATFORM, "name": "Platform"},
            "rules": list(rules),
            **more,
        }
    )


SCHEDULE = {"type": "schedule", "id": "Platform_schedule-id", "name": "Platform_schedule"}
TEAM = {"type": "team", "id": PLATFORM, "name": "Platform"}


def export(**parts: Any) -> Export:
    """Alice (admin), Bob and Erin in team Platform, plus ``parts``."""
    users = parts.pop("users", [user("alice"), user("bob"), user("erin", "America/New_York")])
    members = [{"user": {"id": f"{n}-id"}, "role": "user"} for n in ("bob", "erin")]
    team = {
        "id": PLATFORM,
        "name": "Platform",
        "members": [{"user": {"username": "alice@acme.example"}, "role": "admin"}, *members],
    }
    return Export(
        folder=Path("og"),
        users=[User.model_validate(u) for u in users],
        teams=parts.pop("teams", [Team.model_validate(team)]),
        **parts,
    )


def items(conversion: Conversion, section: Section) -> list[Item]:
    return conversion.report.section(section)


def reasons(conversion: Conversion, section: Section) -> list[str]:
    return [f"{i.subject}: {i.reason}" for i in items(conversion, section)]


def valid(conversion: Conversion) -> None:
    """The config passes the parser `tocsin config check` uses."""
    parse_config(yaml.safe_load(yaml.safe_dump(conversion.config)), "tocsin.yaml")


class TestPeople:
    """Users become people with their email, time zone and the contact methods Tocsin has."""

    def test_user_as_person(self) -> None:
        done = convert(export())

        assert done.config["people"]["alice"] == {
            "name": "Alice",
            "email": "alice@acme.example",
            "timezone": "America/Chicago",
            "contact": ["email"],
        }
        assert done.config["people"]["erin"]["timezone"] == "America/New_York"
        assert done.config["timezone"] == "America/Chicago"
        valid(done)

    def test_contacts(self) -> None:
        """Email is kept; sms, voice and the mobile app are reported; a disabled one is left out."""
        contacts = [
            {"method": "email", "to": "alice.work@acme.example", "status": {"enabled": True}},
            {"method": "sms", "to": "1-3125550101", "status": {"enabled": True}},
            {"method": "voice", "to": "1-3125550101", "status": {"enabled": True}},
            {"method": "mobile", "to": "iPhone", "status": {"enabled": True}},
            {"method": "email", "to": "old@acme.example", "status": {"enabled": False}},
        ]
        done = convert(
            export(contacts={"alice@acme.example": [Contact.model_validate(c) for c in contacts]})
        )

        assert done.config["people"]["alice"]["email"] == "alice.work@acme.example"
        assert reasons(done, Section.people) == [
            "user alice@acme.example: sms to 1-3125550101: Tocsin has no built-in SMS or voice calls.",
            "user alice@acme.example: voice to 1-3125550101: Tocsin has no built-in SMS or voice calls.",
            "user alice@acme.example: push to Opsgenie's mobile app: Tocsin has no app.",
            "user alice@acme.example: email to old@acme.example is disabled in Opsgenie: left out.",
        ]
        assert "people.alice.contact" in (items(done, Section.people)[0].todo or "")

    def test_username_is_the_email_when_a_contact_has_it(self) -> None:
        contacts = [
            {"method": "email", "to": "a.nguyen@acme.example", "status": {"enabled": True}},
            {"method": "email", "to": "alice@acme.example", "status": {"enabled": True}},
        ]
        done = convert(export(contacts={"alice-id": [Contact.model_validate(c) for c in contacts]}))

        assert done.config["people"]["alice"]["email"] == "alice@acme.example"
        assert reasons(done, Section.people) == [
            "user alice@acme.example: email to a.nguyen@acme.example: a person has one email "
            "address in Tocsin (alice@acme.example kept)."
        ]

    def test_roles_unknown_zone_and_no_email(self) -> None:
        users = [
            user("alice", role="Owner"),
            {**user("bob", zone="Mars/Olympus"), "username": "bob"},
            user("erin"),
        ]
        done = convert(export(users=users))

        assert done.config["people"]["bob"] == {"name": "Bob", "contact": ["console"]}
        assert reasons(done, Section.people) == [
            "user alice@acme.example: Opsgenie role Owner: tocsin.yaml has no roles.",
            "user bob: time zone 'Mars/Olympus' is not an IANA name: left out.",
            "user bob: no email address: the only contact method is `console` (a log line).",
        ]
        assert "tocsin token create --kind admin" in (items(done, Section.people)[0].todo or "")
        valid(done)

    def test_ids_from_usernames_stay_unique(self) -> None:
        users = [
            user("alice"),
            {**user("bob"), "username": "alice@other.example"},
            user("erin"),
        ]
        done = convert(export(users=users))

        assert list(done.config["people"]) == ["alice", "alice-2", "erin"]
        assert done.config["teams"]["platform"]["members"] == ["alice", "alice-2", "erin"]


class TestTeams:
    """Teams keep their members; a team Tocsin cannot hold is reported."""

    def test_members_and_policy_fallback(self) -> None:
        done = convert(export())

        assert done.config["teams"]["platform"] == {
            "members": ["alice", "bob", "erin"],
            "escalation_policy": "platform-members",
        }
        assert done.config["escalation_policies"]["platform-members"]["steps"] == [
            {"targets": ["team:platform"], "ack_timeout": "10m"}
        ]
        assert reasons(done, Section.teams) == [
            "team Platform: owns no escalation that could be mapped, and a Tocsin team needs "
            "one: its policy `platform-members` notifies every member."
        ]
        valid(done)

    def test_unknown_member_and_empty_team(self) -> None:
        ghost = Team.model_validate(
            {"id": "t2", "name": "Ghosts", "members": [{"user": {"username": "gone@acme.example"}}]}
        )
        done = convert(export(teams=[*export().teams, ghost]))

        assert list(done.config["teams"]) == ["platform"]
        assert reasons(done, Section.teams)[:2] == [
            "team Ghosts: member gone@acme.example is not in users.json.",
            "team Ghosts: no members Tocsin knows (a Tocsin team needs at least one): left out.",
        ]

    def test_no_team_left_is_an_error(self) -> None:
        with pytest.raises(ConversionError, match="at least one team"):
            convert(export(users=[user("zed")]))


class TestRotations:
    """Rotations keep their handoff, length and start in the schedule's time zone."""

    def test_weekly_handoff_from_start(self) -> None:
        done = convert(export(schedules=[schedule(rotation("Primary", "alice", "bob"))]))

        assert done.config["rotations"]["platform_schedule"] == {
            "timezone": "America/Chicago",
            "handoff": {"weekday": "monday", "time": "10:00"},
            "shift": "1w",
            "start": "2026-11-02",
            "layers": {"primary": ["alice", "bob"]},
        }
        assert done.config["teams"]["platform"]["rotation"] == "platform_schedule"
        valid(done)

    @pytest.mark.parametrize(
        ("kind", "length", "shift"),
        [("daily", 1, "1d"), ("hourly", 12, "12h"), ("weekly", 2, "2w")],
    )
    def test_lengths(self, kind: str, length: int, shift: str) -> None:
        spec = rotation("R", "alice", kind=kind, start="2026-11-02T14:30:00Z", length=length)
        done = convert(export(schedules=[schedule(spec)]))

        got = done.config["rotations"]["platform_schedule"]
        assert got["shift"] == shift
        assert got["handoff"]["time"] == "08:30"
        assert ("weekday" in got["handoff"]) == (kind == "weekly")
        valid(done)

    def test_alike_rotations_are_layers_others_rotations_of_their_own(self) -> None:
        done = convert(
            export(
                schedules=[
                    schedule(
                        rotation("Primary", "alice", "bob"),
                        rotation("Secondary", "bob", "alice"),
                        rotation("Nights", "erin", kind="daily", start="2026-11-03T04:00:00Z"),
                    )
                ]
            )
        )

        rotations = done.config["rotations"]
        assert list(rotations) == ["platform_schedule-primary", "platform_schedule-nights"]
        assert rotations["platform_schedule-primary"]["layers"] == {
            "primary": ["alice", "bob"],
            "secondary": ["bob", "alice"],
        }
        assert rotations["platform_schedule-nights"]["start"] == "2026-11-02"  # 22:00 local
        assert reasons(done, Section.teams)[:1] == [
            "team Platform: owns the rotations platform_schedule-primary, "
            "platform_schedule-nights; a Tocsin team has one (platform_schedule-primary) for its "
            "handoffs, the others still page through escalation policies."
        ]
        valid(done)

    def test_what_cannot_map_is_reported(self) -> None:
        spec = rotation(
            "Primary",
            "alice",
            {"type": "none"},
            {"type": "team", "id": PLATFORM, "name": "Platform"},
            {"type": "escalation", "id": "e", "name": "Platform_escalation"},
            ref("zed"),
            endDate="2027-06-28T16:00:00Z",
            timeRestriction={
                "type": "weekday-and-time-of-day",
                "restrictions": [
                    {"startDay": "saturday", "startHour": 9, "endDay": "monday", "endHour": 9}
                ],
            },
        )
        done = convert(export(schedules=[schedule(spec)]))

        assert done.config["rotations"]["platform_schedule"]["layers"] == {"primary": ["alice"]}
        subject = "schedule Platform_schedule, rotation Primary: "
        assert reasons(done, Section.rotations) == [
            subject + "none (a turn with nobody on call): Tocsin layers hold people only; left "
            "out, the others take its turns.",
            subject + "team Platform as a participant: Tocsin layers hold people only; left out, "
            "the others take its turns.",
            subject + "escalation Platform_escalation as a participant: Tocsin layers hold "
            "people only; left out, the others take its turns.",
            subject + "user zed@acme.example is not in users.json; left out, the others take "
            "its turns.",
            subject + "ends 2027-06-28T11:00:00-05:00 in Opsgenie: Tocsin rotations do not end.",
            subject + "weekday-and-time-of-day restriction saturday 09:00 to monday 09:00: Tocsin "
            "has no time restrictions, this layer is on call around the clock.",
        ]
        valid(done)

    def test_time_of_day_restriction(self) -> None:
        spec = rotation(
            "Day",
            "alice",
            kind="daily",
            timeRestriction={
                "type": "time-of-day",
                "restriction": {"startHour": 9, "startMin": 30, "endHour": 17, "endMin": 0},
            },
        )
        done = convert(export(schedules=[schedule(spec)]))

        assert reasons(done, Section.rotations) == [
            "schedule Platform_schedule, rotation Day: time-of-day restriction 09:30 to 17:00: "
            "Tocsin has no time restrictions, this layer is on call around the clock."
        ]

    def test_not_mapped(self) -> None:
        done = convert(
            export(
                schedules=[
                    schedule(rotation("Long", "alice", kind="weekly", length=14)),
                    schedule(rotation("Odd", "alice", kind="monthly"), name="B"),
                    schedule(rotation("Nobody", {"type": "none"}), name="C"),
                    schedule(rotation("Off", "alice"), name="D", enabled=False),
                    schedule(name="E"),
                ]
            )
        )

        assert "rotations" not in done.config
        assert reasons(done, Section.rotations) == [
            "schedule Platform_schedule, rotation Long: a 14w shift is longer than Tocsin's 90d: "
            "not mapped.",
            "schedule B, rotation Odd: rotation type 'monthly' unknown (daily, weekly or "
            "hourly): not mapped.",
            "schedule C, rotation Nobody: none (a turn with nobody on call): Tocsin layers hold "
            "people only; left out, the others take its turns.",
            "schedule C, rotation Nobody: no participant is a person Tocsin knows: not mapped.",
            "schedule D: disabled in Opsgenie: not mapped.",
            "schedule E: no rotations (schedules.json saved without `?expand=rotation`?): not "
            "mapped.",
        ]
        valid(done)


def override(name: str, *rotations: str, start: str = "2026-11-26T16:00:00Z") -> Override:
    return Override.model_validate(
        {
            "_parent": {"id": "Platform_schedule-id", "name": "Platform_schedule"},
            "alias": "cover",
            "user": ref(name),
            "startDate": start,
            "endDate": "2026-11-27T16:00:00Z",
            "rotations": [{"name": r} for r in rotations],
        }
    )


class TestOverrides:
    """Overrides are not in tocsin.yaml: the report gives the commands that recreate them."""

    def schedules(self) -> list[Schedule]:
        return [
            schedule(rotation("Primary", "alice", "bob"), rotation("Secondary", "bob", "alice"))
        ]

    def test_command_per_layer(self) -> None:
        done = convert(
            export(schedules=self.schedules(), overrides={"Platform_schedule": [override("bob")]})
        )

        [item] = items(done, Section.overrides)
        assert item.subject == "override cover of schedule Platform_schedule"
        assert item.reason == (
            "bob from 2026-11-26T10:00:00-06:00 to 2026-11-27T10:00:00-06:00: tocsin.yaml holds "
            "no overrides."
        )
        assert item.commands[0::2] == tuple(
            "tocsin rotation override platform_schedule --layer "
            f"{layer} --person bob --start 2026-11-26T10:00:00-06:00 --end "
            "2026-11-27T10:00:00-06:00 --reason 'Opsgenie override cover' --as bob"
            for layer in ("primary", "secondary")
        )
        curl = item.commands[1]
        assert curl.endswith("http://127.0.0.1:8080/api/rotations/platform_schedule/overrides")
        body = json.loads(curl.split(" -d '")[1].split("' ")[0])
        assert body == {
            "layer": "primary",
            "person": "bob",
            "start": "2026-11-26T10:00:00-06:00",
            "end": "2026-11-27T10:00:00-06:00",
            "reason": "Opsgenie override cover",
            "by": "bob",
        }

    def test_named_rotation_and_schedule_by_id(self) -> None:
        done = convert(
            export(
                schedules=self.schedules(),
                overrides={"Platform_schedule-id": [override("alice", "Secondary")]},
            )
        )

        [item] = items(done, Section.overrides)
        assert len(item.commands) == 2
        assert "--layer secondary --person alice" in item.commands[0]

    def test_not_a_member_noted(self) -> None:
        users = [user("alice"), user("bob"), user("erin"), user("zoe")]
        done = convert(
            export(
                users=users,
                schedules=self.schedules(),
                overrides={"Platform_schedule": [override("zoe", "Primary")]},
            )
        )

        [item] = items(done, Section.overrides)
        assert "zoe is not a member of platform_schedule" in item.reason
        assert item.commands

    def test_not_mapped(self) -> None:
        team_override = Override.model_validate(
            {**override("bob").model_dump(by_alias=True), "user": TEAM}
        )
        done = convert(
            export(
                schedules=self.schedules(),
                overrides={
                    "Platform_schedule": [team_override, override("zed")],
                    "Elsewhere": [override("bob").model_copy(update={"parent": None})],
                },
            )
        )

        assert reasons(done, Section.overrides) == [
            "override cover of schedule Platform_schedule: held by team Platform: only a person "
            "can hold a Tocsin layer: not mapped.",
            "override cover of schedule Platform_schedule: user zed@acme.example is not in "
            "users.json: not mapped.",
            "override cover of schedule Elsewhere: overrides/Elsewhere.json names no mapped "
            "schedule: not mapped.",
        ]


class TestEscalations:
    """Rules become steps: same delay one step, each step waiting until the next rule."""

    def test_schedule_then_user_then_team(self) -> None:
        done = convert(
            export(
                schedules=[
                    schedule(
                        rotation("Primary", "alice", "bob"), rotation("Secondary", "bob", "alice")
                    )
                ],
                escalations=[
                    escalation(
                        rule(0, SCHEDULE),
                        rule(10, ref("alice")),
                        rule(10, ref("erin")),
                        rule(25, TEAM),
                    )
                ],
            )
        )

        assert done.config["escalation_policies"] == {
            "platform_escalation": {
                "repeat": 0,
                "steps": [
                    {
                        "targets": [
                            "rotation:platform_schedule/primary",
                            "rotation:platform_schedule/secondary",
                        ],
                        "ack_timeout": "10m",
                    },
                    {"targets": ["person:alice", "person:erin"], "ack_timeout": "15m"},
                    {"targets": ["team:platform"], "ack_timeout": "10m"},
                ],
            }
        }
        assert done.config["teams"]["platform"]["escalation_policy"] == "platform_escalation"
        assert items(done, Section.escalations) == []
        valid(done)

    def test_repeat(self) -> None:
        repeat = {"waitInterval": 30, "count": 3, "resetRecipientStates": True}
        done = convert(export(escalations=[escalation(rule(0, TEAM), repeat=repeat)]))

        policy = done.config["escalation_policies"]["platform_escalation"]
        assert policy == {
            "repeat": 3,
            "steps": [{"targets": ["team:platform"], "ack_timeout": "30m"}],
        }
        assert reasons(done, Section.escalations) == [
            "escalation Platform_escalation: resetRecipientStates (each repeat undoes "
            "acknowledgements): Tocsin repeats only while nobody has acknowledged."
        ]

    def test_what_cannot_map_is_reported(self) -> None:
        done = convert(
            export(
                schedules=[schedule(rotation("Primary", "alice", "bob"))],
                escalations=[
                    escalation(
                        rule(5, SCHEDULE),
                        rule(10, SCHEDULE, notifyType="next"),
                        rule(15, TEAM, notifyType="admins"),
                        rule(20, TEAM, notifyType="random"),
                        rule(60, ref("bob"), condition="if-not-closed"),
                        rule(90, ref("zed")),
                    )
                ],
            )
        )

        steps = done.config["escalation_policies"]["platform_escalation"]["steps"]
        assert [(s["targets"], s["ack_timeout"]) for s in steps] == [
            (["rotation:platform_schedule/primary"], "10m"),
            (["person:alice"], "5m"),
            (["team:platform"], "40m"),
            (["person:bob"], "10m"),
        ]
        assert reasons(done, Section.escalations) == [
            "escalation Platform_escalation, rule 2 (schedule Platform_schedule after 10m): "
            "notifyType next: Tocsin notifies who is on call now, not the next one: not mapped.",
            "escalation Platform_escalation, rule 4 (team Platform after 20m): notifyType "
            "random: Tocsin notifies every member of the team, not one at random.",
            "escalation Platform_escalation, rule 5 (user bob@acme.example after 1h): "
            "if-not-closed: Tocsin stops escalating at the first acknowledgement, so this step "
            "is skipped once someone acknowledges (Opsgenie notifies until the alert closes).",
            "escalation Platform_escalation, rule 6 (user zed@acme.example after 90m): the "
            "user is not in users.json: not mapped.",
            "escalation Platform_escalation: its first rule waits 5m: Tocsin notifies the first "
            "step at once.",
        ]
        valid(done)

    def test_nobody_known(self) -> None:
        done = convert(export(escalations=[escalation(rule(0, ref("zed")))]))

        assert list(done.config["escalation_policies"]) == ["platform-members"]
        assert (
            "escalation Platform_escalation: no rule notifies anyone Tocsin knows: not mapped."
            in (reasons(done, Section.escalations))
        )


def integration(name: str, kind: str, team: str | None = PLATFORM, **more: Any) -> Integration:
    return Integration.model_validate(
        {"id": f"{name}-id", "name": name, "type": kind, "teamId": team, **more}
    )


class TestIntegrations:
    """Prometheus and API integrations become services whose keys come from the environment."""

    def test_services_and_route(self) -> None:
        done = convert(
            export(
                integrations=[
                    integration("Prometheus", "Prometheus"),
                    integration("Prometheus EU", "Prometheus"),
                    integration("Checkout API", "API"),
                ]
            )
        )

        assert done.config["services"] == {
            "prometheus": {"team": "platform", "integration_key": "${TOCSIN_PROMETHEUS_KEY}"},
            "prometheus-eu": {"team": "platform", "integration_key": "${TOCSIN_PROMETHEUS_EU_KEY}"},
            "checkout-api": {"team": "platform", "integration_key": "${TOCSIN_CHECKOUT_API_KEY}"},
        }
        assert done.config["routes"] == [{"default": True, "service": "prometheus"}]
        first, second, api = items(done, Section.integrations)
        assert (
            "`tocsin token create --kind integration --name prometheus --scope "
            "intake:alertmanager`" in (first.todo or "")
        )
        assert "Set `TOCSIN_PROMETHEUS_KEY` to a new secret" in (first.todo or "")
        assert "Add a route matching its alerts' labels to `service: prometheus-eu`" in (
            second.todo or ""
        )
        assert api.reason == (
            "mapped to service `checkout-api`; Tocsin does not copy Opsgenie's API keys."
        )
        valid(done)

    def test_not_mapped(self) -> None:
        done = convert(
            export(
                integrations=[
                    integration("Mailbox", "Email"),
                    integration("Datadog", "Datadog"),
                    integration("Default API", "API", team=None),
                    integration("Old", "API", enabled=False),
                ]
            )
        )

        assert "services" not in done.config
        assert reasons(done, Section.integrations) == [
            "integration Mailbox (Email): Tocsin has no email intake: not mapped.",
            "integration Datadog (Datadog): Tocsin has no Datadog integration: not mapped.",
            "integration Default API (API): it belongs to no team that was mapped, and a Tocsin "
            "service needs one: not mapped.",
            "integration Old (API): disabled in Opsgenie: not mapped.",
        ]

    def test_heartbeats(self) -> None:
        beat = Heartbeat.model_validate(
            {
                "name": "nightly-backup",
                "interval": 25,
                "intervalUnit": "hours",
                "enabled": True,
                "ownerTeam": {"id": PLATFORM, "name": "Platform"},
            }
        )
        done = convert(export(heartbeats=[beat]))

        assert reasons(done, Section.heartbeats) == [
            "heartbeat nightly-backup: a ping every 25 hours, team Platform: heartbeats are not "
            "supported yet, not mapped."
        ]


# What the fixture holds that cannot map, each with (part of) its reason.
UNMAPPED = [
    ("user alice.nguyen@acme.example", "sms to 1-3125550101: Tocsin has no built-in SMS"),
    ("user alice.nguyen@acme.example", "push to Opsgenie's mobile app: Tocsin has no app"),
    ("user alice.nguyen@acme.example", "Opsgenie role Owner: tocsin.yaml has no roles"),
    ("user carla.rossi@acme.example", "voice to 49-3055501234: Tocsin has no built-in SMS"),
    ("user carla.rossi@acme.example", "is disabled in Opsgenie (Number is not verified)"),
    ("user carla.rossi@acme.example", "Opsgenie role Admin"),
    ("team Payments", "member former.contractor@acme.example is not in users.json"),
    ("schedule Platform_schedule, rotation Secondary", "none (a turn with nobody on call)"),
    ("schedule Payments_schedule, rotation Business hours", "time-of-day restriction 09:00"),
    ("schedule Payments_schedule, rotation Weekend", "team Platform as a participant"),
    ("schedule Payments_schedule, rotation Weekend", "escalation Platform_escalation as a"),
    ("schedule Payments_schedule, rotation Weekend", "Tocsin rotations do not end"),
    ("schedule Payments_schedule, rotation Weekend", "weekday-and-time-of-day restriction"),
    ("override thanksgiving-cover of schedule Platform_schedule", "holds no overrides"),
    ("override carla-dentist of schedule Payments_schedule", "holds no overrides"),
    ("escalation Platform_escalation, rule 2", "notifyType next"),
    ("escalation Payments_escalation, rule 3", "if-not-closed"),
    ("integration Billing mailbox (Email)", "Tocsin has no email intake"),
    ("integration Default API (API)", "a Tocsin service needs one"),
    ("integration Datadog (Datadog)", "disabled in Opsgenie"),
    ("heartbeat nightly-db-backup", "heartbeats are not supported yet"),
    ("heartbeat payouts-cron", "heartbeats are not supported yet"),
]


class TestFixture:
    """The fixture account: everything that maps is in tocsin.yaml, the rest in the report."""

    def test_mapped(self) -> None:
        done = convert(read_export(FIXTURES))

        config = done.config
        assert list(config["people"]) == [
            "alice-nguyen",
            "bob-okafor",
            "erin-walsh",
            "carla-rossi",
            "dev-patel",
        ]
        assert config["teams"]["platform"] == {
            "members": ["alice-nguyen", "bob-okafor", "erin-walsh"],
            "rotation": "platform_schedule",
            "escalation_policy": "platform_escalation",
        }
        assert list(config["rotations"]) == [
            "platform_schedule",
            "payments_schedule-business-hours",
            "payments_schedule-weekend",
        ]
        assert config["escalation_policies"]["payments_escalation"]["repeat"] == 2
        assert list(config["services"]) == ["prometheus", "payments-api"]
        valid(done)

    @pytest.mark.parametrize(("subject", "reason"), UNMAPPED)
    def test_reported_with_reason(self, subject: str, reason: str) -> None:
        done = convert(read_export(FIXTURES))

        assert any(
            i.subject.startswith(subject) and reason in i.reason for i in done.report.items
        ), [f"{i.subject}: {i.reason}" for i in done.report.items]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["import", "opsgenie", *args])


class TestCli:
    """``tocsin import opsgenie``: writes both files, refuses bad input with exit code 2."""

    def test_writes_a_config_that_passes_the_check(self, tmp_path: Path) -> None:
        out, report = tmp_path / "tocsin.yaml", tmp_path / "import-report.md"
        result = run(str(FIXTURES), "--out", str(out), "--report", str(report))

        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            f"wrote {out}: 5 people, 2 teams, 3 rotations, 2 escalation policies, 2 services",
            f"wrote {report}: {len(UNMAPPED) + 3} things not mapped, or mapped differently",
        ]
        config = load_config(out)  # what `tocsin config check` runs
        assert config.rotations["platform_schedule"].handoff.weekday == "monday"
        text = report.read_text(encoding="utf-8")
        for subject, reason in UNMAPPED:
            assert f"**{subject}" in text
            assert reason in text
        assert (
            "tocsin rotation override platform_schedule --layer primary --person bob-okafor" in text
        )
        checked = CliRunner().invoke(app, ["config", "check", str(out)])
        assert (checked.exit_code, checked.stdout) == (0, "ok\n")

    def test_installed_command(self, tmp_path: Path) -> None:
        out = tmp_path / "out" / "tocsin.yaml"
        done = subprocess.run(
            [str(TOCSIN), "import", "opsgenie", str(FIXTURES), "--out", str(out)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert done.returncode == 0, done.stderr
        assert (tmp_path / "import-report.md").is_file()
        load_config(out)

    def test_refuses_to_overwrite(self, tmp_path: Path) -> None:
        out, report = tmp_path / "tocsin.yaml", tmp_path / "r.md"
        out.write_text("mine\n", encoding="utf-8")

        result = run(str(FIXTURES), "--out", str(out), "--report", str(report))

        assert result.exit_code == 2
        assert f"error: {out}: already exists (--force overwrites it)" in result.stderr
        assert out.read_text(encoding="utf-8") == "mine\n"
        assert not report.exists()
        forced = run(str(FIXTURES), "--out", str(out), "--report", str(report), "--force")
        assert forced.exit_code == 0, forced.output
        load_config(out)

    def test_missing_dir(self, tmp_path: Path) -> None:
        result = run(str(tmp_path / "nope"), "--out", str(tmp_path / "t.yaml"))

        assert result.exit_code == 2
        assert f"error: {tmp_path / 'nope'}: no such directory" in result.stderr

    def copy(self, tmp_path: Path) -> Path:
        folder = tmp_path / "og"
        shutil.copytree(FIXTURES, folder)
        return folder

    def test_malformed_json(self, tmp_path: Path) -> None:
        folder = self.copy(tmp_path)
        (folder / "escalations.json").write_text('{"data": [\n  {"id": 1,}\n]}', encoding="utf-8")

        result = run(str(folder), "--out", str(tmp_path / "t.yaml"))

        assert result.exit_code == 2
        assert (
            f"error: {folder / 'escalations.json'}: line 2, column 12: invalid JSON: "
            "Expecting property name enclosed in double quotes" in result.stderr
        )
        assert not (tmp_path / "t.yaml").exists()

    @pytest.mark.parametrize(
        ("file", "change", "key", "message"),
        [
            (
                "schedules.json",
                lambda d: d["data"][1]["rotations"][0].update(length="two"),
                "data.1.rotations.0.length",
                "Input should be a valid integer",
            ),
            (
                "users.json",
                lambda d: d["data"][2].pop("username"),
                "data.2.username",
                "Field required",
            ),
            (
                "teams/Platform.json",
                lambda d: d["data"].update(members={"user": "alice"}),
                "data.members",
                "Input should be a valid list",
            ),
            (
                "overrides/Platform_schedule.json",
                lambda d: d["data"][0].update(startDate="2026-11-26T16:00:00"),
                "data.0.startDate",
                "Input should have timezone info",
            ),
            ("heartbeats.json", lambda d: d.update(data=[]), "data", "Input should be"),
        ],
    )
    def test_wrong_type_names_file_and_key(
        self, tmp_path: Path, file: str, change: Any, key: str, message: str
    ) -> None:
        folder = self.copy(tmp_path)
        path = folder / file
        data = json.loads(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data), encoding="utf-8")

        result = run(str(folder), "--out", str(tmp_path / "t.yaml"))

        assert result.exit_code == 2
        assert f"error: {path}: {key}: {message}" in result.stderr

    def test_required_files(self, tmp_path: Path) -> None:
        folder = self.copy(tmp_path)
        shutil.rmtree(folder / "teams")

        result = run(str(folder), "--out", str(tmp_path / "t.yaml"))

        assert result.exit_code == 2
        assert f"error: {folder / 'teams'}: no team files" in result.stderr
        (folder / "users.json").unlink()
        result = run(str(folder), "--out", str(tmp_path / "t.yaml"))
        assert f"error: {folder / 'users.json'}: file not found" in result.stderr

    def test_missing_files_are_reported(self, tmp_path: Path) -> None:
        folder = self.copy(tmp_path)
        for name in ("schedules.json", "escalations.json", "heartbeats.json"):
            (folder / name).unlink()
        shutil.rmtree(folder / "contacts")
        out, report = tmp_path / "t.yaml", tmp_path / "r.md"

        result = run(str(folder), "--out", str(out), "--report", str(report))

        assert result.exit_code == 0, result.output
        load_config(out)
        text = report.read_text(encoding="utf-8")
        for name in ("contacts/", "schedules.json", "escalations.json", "heartbeats.json"):
            assert f"- **{name}**: not in DIR: nothing of it is mapped." in text
        assert "override thanksgiving-cover of schedule Platform_schedule**: overrides/" in text
