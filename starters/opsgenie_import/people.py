"""Opsgenie users (with their contact methods) and teams → ``people`` and ``teams``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starters.opsgenie_import.export import CONTACTS, Export
from starters.opsgenie_import.names import Ids, known_zone, person_slug, slug
from starters.opsgenie_import.report import Report, Section
from starters.opsgenie_import.shapes import Contact, MemberUser, Participant, Team, User

# As tocsin.yaml checks ``people.<id>.email``.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass
class Directory:
    """Where Opsgenie's references (by id, username or name) land in ``tocsin.yaml``."""

    people: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    # Tocsin team id → the people who are admins of the Opsgenie team.
    admins: dict[str, list[str]] = field(default_factory=dict)
    # Tocsin team id → the Opsgenie team's name, for the report.
    team_names: dict[str, str] = field(default_factory=dict)

    def person(self, ref: Participant | MemberUser) -> str | None:
        """The person an Opsgenie user reference names, by id or username."""
        for key in (ref.id, ref.username):
            if key and key.lower() in self.people:
                return self.people[key.lower()]
        return None

    def team(self, team_id: str | None, name: str | None = None) -> str | None:
        """The team an Opsgenie team reference names, by id or name."""
        for key in (team_id, name):
            if key and key in self.teams:
                return self.teams[key]
        return None


def map_people(export: Export, directory: Directory, report: Report) -> dict[str, Any]:
    """``people``: one per Opsgenie user; email and time zone kept, other contacts reported."""
    ids = Ids()
    people: dict[str, Any] = {}
    contacts = {stem.lower(): found for stem, found in export.contacts.items()}
    for user in export.users:
        pid = ids.new(person_slug(user.username))
        directory.people[user.id.lower()] = pid
        directory.people[user.username.lower()] = pid
        own = contacts.pop(user.username.lower(), None) or contacts.pop(user.id.lower(), [])
        people[pid] = _person(user, pid, own, report)
    for stem in contacts:
        report.add(
            Section.people,
            f"{CONTACTS}/{stem}.json",
            "no user in users.json has this username or id: its contacts are left out.",
        )
    return people


def _person(user: User, pid: str, contacts: list[Contact], report: Report) -> dict[str, Any]:
    subject = f"user {user.username}"
    person: dict[str, Any] = {"name": user.full_name.strip() or user.username}
    emails = _emails(contacts, pid, subject, report)
    if not any(c.method == "email" for c in contacts) and _EMAIL.match(user.username):
        emails.append(user.username)  # Opsgenie's username is the user's email address
    valid = [e for e in dict.fromkeys(emails) if _EMAIL.match(e)]
    # The username first when it is an email contact: `tocsin oncall compare` matches by it.
    valid.sort(key=lambda e: e.lower() != user.username.lower())
    for extra in valid[1:]:
        report.add(
            Section.people,
            subject,
            f"email to {extra}: a person has one email address in Tocsin ({valid[0]} kept).",
        )
    if valid:
        person["email"] = valid[0]
    if known_zone(user.time_zone):
        person["timezone"] = user.time_zone
    elif user.time_zone:
        report.add(
            Section.people, subject, f"time zone {user.time_zone!r} is not an IANA name: left out."
        )
    person["contact"] = ["email"] if valid else ["console"]
    if not valid:
        report.add(
            Section.people,
            subject,
            "no email address: the only contact method is `console` (a log line).",
            f"Add a method to `people.{pid}.contact`.",
        )
    role = user.role.name if user.role else "User"
    if role.lower() != "user":
        report.add(
            Section.people,
            subject,
            f"Opsgenie role {role}: tocsin.yaml has no roles.",
            f"If they manage Tocsin, give them an admin token: "
            f"`tocsin token create --kind admin --name {pid}-admin`.",
        )
    return person


def _emails(contacts: list[Contact], pid: str, subject: str, report: Report) -> list[str]:
    """The enabled email addresses; every other contact method reported."""
    emails: list[str] = []
    for contact in contacts:
        what = f"{contact.method} to {contact.to}"
        if not contact.status.enabled:
            why = f" ({contact.status.disabled_reason})" if contact.status.disabled_reason else ""
            report.add(Section.people, subject, f"{what} is disabled in Opsgenie{why}: left out.")
        elif contact.method == "email":
            emails.append(contact.to)
        elif contact.method in ("sms", "voice"):
            report.add(
                Section.people,
                subject,
                f"{what}: Tocsin has no built-in SMS or voice calls.",
                f"Add an Apprise URL of your SMS or voice provider (e.g. `twilio://…`, secrets "
                f"as `${{ENV_VAR}}`) to `people.{pid}.contact`.",
            )
        elif contact.method == "mobile":
            report.add(
                Section.people,
                subject,
                "push to Opsgenie's mobile app: Tocsin has no app.",
                f"Add a push Apprise URL (e.g. `ntfy://…`, `pover://…`) to `people.{pid}.contact`.",
            )
        else:
            report.add(
                Section.people, subject, f"contact method {contact.method!r} unknown: left out."
            )
    return emails


def map_teams(teams: list[Team], directory: Directory, report: Report) -> dict[str, Any]:
    """``teams`` with their members; the rotation and escalation policy come later."""
    ids = Ids()
    mapped: dict[str, Any] = {}
    for team in teams:
        members: list[str] = []
        admins: list[str] = []
        for member in team.members:
            pid = directory.person(member.user)
            if pid is None:
                who = member.user.username or member.user.id
                report.add(
                    Section.teams, f"team {team.name}", f"member {who} is not in users.json."
                )
                continue
            if pid not in members:
                members.append(pid)
            if member.role == "admin" and pid not in admins:
                admins.append(pid)
        if not members:
            report.add(
                Section.teams,
                f"team {team.name}",
                "no members Tocsin knows (a Tocsin team needs at least one): left out.",
            )
            continue
        tid = ids.new(slug(team.name, fallback="team"))
        directory.teams[team.id] = directory.teams[team.name] = tid
        directory.admins[tid] = admins
        directory.team_names[tid] = team.name
        mapped[tid] = {"members": members}
    return mapped
