"""Opsgenie escalations → ``escalation_policies``.

An Opsgenie rule notifies its recipient ``delay`` after the alert was created; a Tocsin step
notifies its targets and waits ``ack_timeout`` for the next one. So rules with the same delay
become one step, and each step's ack_timeout is the time to the next rule. After the last
rule Opsgenie waits the repeat's ``waitInterval`` before starting over: that is the last
step's ack_timeout; without a repeat it is :data:`LAST_STEP` (it only decides when the page
records that nobody acknowledged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starters.opsgenie_import.names import Ids, slug
from starters.opsgenie_import.people import Directory
from starters.opsgenie_import.report import Report, Section
from starters.opsgenie_import.schedules import Schedules
from starters.opsgenie_import.shapes import Escalation, Repeat, Rule
from workflows.config import MAX_ACK_TIMEOUT
from workflows.durations import format_duration

UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}
LAST_STEP = timedelta(minutes=10)
MAX_STEPS = 20
MAX_TARGETS = 20
MAX_REPEAT = 20
# Team recipients: Opsgenie's notifyType for "every member".
ALL_MEMBERS = ("default", "users", "all")


@dataclass
class Policies:
    policies: dict[str, Any] = field(default_factory=dict)
    # Tocsin team id → the policy of the first escalation it owns.
    owned: dict[str, str] = field(default_factory=dict)


def map_escalations(
    escalations: list[Escalation], directory: Directory, schedules: Schedules, report: Report
) -> Policies:
    """Every escalation that notifies someone Tocsin knows, as a policy."""
    ids = Ids()
    result = Policies()
    for escalation in escalations:
        subject = f"escalation {escalation.name}"
        timed: list[tuple[timedelta, list[str]]] = []
        for n, rule in enumerate(escalation.rules, start=1):
            unit = UNITS.get(rule.delay.time_unit)
            if unit is None or not rule.delay.time_amount:
                when = f"{rule.delay.time_amount} {rule.delay.time_unit}"
            else:
                when = format_duration(unit * rule.delay.time_amount)
            rule_subject = f"{subject}, rule {n} ({rule.recipient.label()} after {when})"
            if unit is None:
                report.add(
                    Section.escalations,
                    rule_subject,
                    f"time unit {rule.delay.time_unit!r} unknown: not mapped.",
                )
                continue
            targets = _targets(rule, directory, schedules, report, rule_subject)
            if targets:
                _condition(rule, report, rule_subject)
                timed.append((unit * rule.delay.time_amount, targets))
        policy = _policy(timed, escalation.repeat, report, subject)
        if policy is None:
            continue
        pid = ids.new(slug(escalation.name, fallback="policy"))
        result.policies[pid] = policy
        owner = escalation.owner_team
        tid = directory.team(owner.id, owner.name) if owner else None
        if tid:
            result.owned.setdefault(tid, pid)
    return result


def _policy(
    timed: list[tuple[timedelta, list[str]]], repeat: Repeat | None, report: Report, subject: str
) -> dict[str, Any] | None:
    steps: dict[timedelta, list[str]] = {}
    for delay, targets in sorted(timed, key=lambda rule: rule[0]):
        steps.setdefault(delay, [])
        steps[delay] += [t for t in targets if t not in steps[delay]]
    if not steps:
        report.add(
            Section.escalations,
            subject,
            "no rule notifies anyone Tocsin knows: not mapped.",
        )
        return None
    delays = list(steps)
    if len(delays) > MAX_STEPS:
        report.add(
            Section.escalations,
            subject,
            f"{len(delays)} steps: a Tocsin policy has at most {MAX_STEPS}, the rest are left out.",
        )
        delays = delays[:MAX_STEPS]
    if delays[0]:
        report.add(
            Section.escalations,
            subject,
            f"its first rule waits {format_duration(delays[0])}: Tocsin notifies the first step "
            "at once.",
        )
    repeats = repeat.count if repeat else 0
    last = LAST_STEP
    if repeat and repeats:
        last = timedelta(minutes=max(repeat.wait_interval, 1))
        _repeat(repeat, report, subject)
    if repeats > MAX_REPEAT:
        report.add(
            Section.escalations,
            subject,
            f"repeats {repeats} times: a Tocsin policy repeats at most {MAX_REPEAT}.",
        )
        repeats = MAX_REPEAT
    policy_steps = []
    for i, delay in enumerate(delays):
        timeout = delays[i + 1] - delay if i + 1 < len(delays) else last
        if timeout > MAX_ACK_TIMEOUT:
            report.add(
                Section.escalations,
                subject,
                f"step {i + 1} waits {format_duration(timeout)}: a Tocsin step waits at most "
                f"{format_duration(MAX_ACK_TIMEOUT)}.",
            )
            timeout = MAX_ACK_TIMEOUT
        targets = steps[delay]
        if len(targets) > MAX_TARGETS:
            report.add(
                Section.escalations,
                subject,
                f"step {i + 1} has {len(targets)} targets: a Tocsin step has at most "
                f"{MAX_TARGETS}, the rest are left out.",
            )
        policy_steps.append(
            {"targets": targets[:MAX_TARGETS], "ack_timeout": format_duration(timeout)}
        )
    return {"repeat": repeats, "steps": policy_steps}


def _repeat(repeat: Repeat, report: Report, subject: str) -> None:
    if repeat.wait_interval == 0:
        report.add(
            Section.escalations,
            subject,
            "repeats at once after its last rule: Tocsin waits at least 1m before repeating.",
        )
    if repeat.reset_recipient_states:
        report.add(
            Section.escalations,
            subject,
            "resetRecipientStates (each repeat undoes acknowledgements): Tocsin repeats only "
            "while nobody has acknowledged.",
        )
    if repeat.close_alert_after_all:
        report.add(
            Section.escalations,
            subject,
            "closeAlertAfterAll: a Tocsin page resolves when its alerts do, never by its "
            "escalation.",
        )


def _condition(rule: Rule, report: Report, subject: str) -> None:
    if rule.condition == "if-not-closed":
        report.add(
            Section.escalations,
            subject,
            "if-not-closed: Tocsin stops escalating at the first acknowledgement, so this step "
            "is skipped once someone acknowledges (Opsgenie notifies until the alert closes).",
        )
    elif rule.condition != "if-not-acked":
        report.add(
            Section.escalations,
            subject,
            f"condition {rule.condition!r} unknown: treated as if-not-acked.",
        )


def _targets(
    rule: Rule, directory: Directory, schedules: Schedules, report: Report, subject: str
) -> list[str]:
    """The rule's recipient as Tocsin targets; empty (and reported) when it has none."""
    recipient = rule.recipient
    targets: list[str] = []
    if recipient.type == "user":
        pid = directory.person(recipient)
        targets, problem = (
            ([f"person:{pid}"], None) if pid else ([], "the user is not in users.json")
        )
    elif recipient.type == "schedule":
        targets, problem = _schedule(rule, schedules)
    elif recipient.type == "team":
        targets, problem = _team(rule, directory, report, subject)
    else:
        problem = f"recipient type {recipient.type!r} unknown"
    if problem:
        report.add(Section.escalations, subject, f"{problem}: not mapped.")
    return targets


Found = tuple[list[str], str | None]


def _schedule(rule: Rule, schedules: Schedules) -> Found:
    """Whoever is on call in the schedule now: every layer of its rotations."""
    placed = schedules.find(rule.recipient.id, rule.recipient.name)
    if placed is None or not placed.layers:
        return [], "the schedule was not mapped"
    how = rule.notify_type
    if how != "default":
        return [], f"notifyType {how}: Tocsin notifies who is on call now, not the {how} one"
    return placed.targets(), None


def _team(rule: Rule, directory: Directory, report: Report, subject: str) -> Found:
    """Every member, or the admins (``notifyType: admins``)."""
    tid = directory.team(rule.recipient.id, rule.recipient.name)
    how = rule.notify_type
    if tid is None:
        return [], "the team was not mapped"
    if how == "admins":
        admins = [f"person:{a}" for a in directory.admins.get(tid, [])]
        return admins, None if admins else "the team has no admins"
    if how == "random":
        report.add(
            Section.escalations,
            subject,
            "notifyType random: Tocsin notifies every member of the team, not one at random.",
        )
    elif how not in ALL_MEMBERS:
        return [], f"notifyType {how!r} unknown"
    return [f"team:{tid}"], None
