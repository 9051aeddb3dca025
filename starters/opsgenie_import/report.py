"""The import report: every Opsgenie thing not mapped (or mapped differently), why, and
what to do about it, as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Section(StrEnum):
    files = "Files"
    people = "People"
    teams = "Teams"
    rotations = "Rotations"
    overrides = "Overrides"
    escalations = "Escalation policies"
    integrations = "Integrations"
    heartbeats = "Heartbeats"
    warnings = "Config check warnings"


@dataclass(frozen=True)
class Item:
    """``subject`` (``user alice@acme.example``): ``reason``; ``todo`` says what to do, and
    ``commands`` are to be run as they are."""

    section: Section
    subject: str
    reason: str
    todo: str | None = None
    commands: tuple[str, ...] = ()


@dataclass
class Report:
    """What the import could not carry over, by section, in the order found."""

    items: list[Item] = field(default_factory=list)
    mapped: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        section: Section,
        subject: str,
        reason: str,
        todo: str | None = None,
        commands: tuple[str, ...] = (),
    ) -> None:
        self.items.append(Item(section, subject, reason, todo, commands))

    def section(self, section: Section) -> list[Item]:
        return [item for item in self.items if item.section == section]


def render(report: Report, source: str, config: str) -> str:
    """The report as Markdown: a summary line, then one list per section that has items."""
    counts = ", ".join(f"{n} {kind}" for kind, n in report.mapped.items())
    lines = [
        "# Opsgenie import report",
        "",
        f"`tocsin import opsgenie {source}` wrote `{config}`: {counts}.",
        "",
    ]
    if not report.items:
        lines.append("Everything was mapped.")
        return "\n".join(lines) + "\n"
    lines += [
        f"{len(report.items)} things below were not mapped, or were mapped differently, and why. "
        f"Check the file with `tocsin config check {config}`.",
    ]
    for section in Section:
        items = report.section(section)
        if not items:
            continue
        lines += ["", f"## {section.value}", ""]
        for item in items:
            text = f"- **{item.subject}**: {item.reason}"
            if item.todo:
                text += f" {item.todo}"
            lines.append(text)
            if item.commands:
                lines += ["", "  ```sh", *(f"  {c}" for c in item.commands), "  ```", ""]
    tidy = [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]
    return "\n".join(tidy).rstrip("\n") + "\n"
