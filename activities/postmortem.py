"""What a postmortem draft is made of: the template, the variables it sees, its filters.

The built-in template is ``activities/templates/postmortem.md.j2``; a config may name its
own (``incidents.postmortem.template``, relative to the config file). Templates see the
variables :func:`postmortem_context` builds and these filters for text people typed:
``inline`` (one line, no HTML), ``quote`` (a Markdown block quote, so a ``#`` or a list
in a status update cannot break the document's structure) and ``cell`` (a table cell).
The template engine itself (Jinja2) is an adapter: ``activities/adapters/jinja_postmortem.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workflows.config import TocsinConfig
from workflows.incident_models import IncidentState

BUILTIN_TEMPLATE = "postmortem.md.j2"
_SPACES = re.compile(r"\s+")


class TemplateProblem(Exception):
    """The postmortem template cannot be read or rendered (the message says where)."""


def builtin_template() -> str:
    """The template shipped with Tocsin."""
    return (resources.files("activities") / "templates" / BUILTIN_TEMPLATE).read_text("utf-8")


def load_template(config: TocsinConfig, config_dir: Path | None) -> tuple[str, str]:
    """``(name, text)`` of the template the config asks for, else the built-in one.

    Raises:
        TemplateProblem: the configured file cannot be read.
    """
    configured = config.incidents.postmortem.template
    if configured is None:
        return BUILTIN_TEMPLATE, builtin_template()
    path = Path(configured)
    if not path.is_absolute():
        path = (config_dir or Path.cwd()) / path
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as err:
        raise TemplateProblem(
            f"incidents.postmortem.template: cannot read {path}: {err.strerror}"
        ) from None


def team_timezone(config: TocsinConfig, team: str) -> str:
    """The team's rotation's timezone, else the config's."""
    found = config.teams.get(team)
    rotation = config.rotations.get(found.rotation) if found and found.rotation else None
    return rotation.timezone if rotation else config.timezone


def inline(text: object) -> str:
    """One line of user text: whitespace collapsed, ``<`` made harmless (no HTML, no comments)."""
    return _SPACES.sub(" ", str(text)).strip().replace("<", "&lt;")


def cell(text: object) -> str:
    """User text for a Markdown table cell (pipes would end the cell)."""
    return inline(text).replace("|", "\\|")


def quote(text: object) -> str:
    """User text as a Markdown block quote, line breaks kept."""
    lines = str(text).strip().replace("<", "&lt;").splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def duration(value: timedelta | None) -> str:
    """``1 h 07 min``, ``4 min``, ``2 d 3 h``: how long, for people."""
    if value is None:
        return "n/a"
    minutes = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min" if minutes else "under a minute"


def postmortem_context(
    incident: IncidentState, config: TocsinConfig, incident_url: str | None
) -> dict[str, Any]:
    """What the template sees.

    Besides ``incident`` (the state as the workflow left it): ``tz`` (the team's
    timezone name), ``when(dt)`` (local time and UTC), ``person(id)`` (a name),
    ``took`` (declared to resolved), ``to_acknowledge``, ``incident_url``, ``severity``
    (the configured severity, or None) and ``open_followups``.
    """
    tz_name = team_timezone(config, incident.team)
    zone = ZoneInfo(tz_name)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "n/a"
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        local = aware.astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M %Z} ({aware.astimezone(UTC):%H:%M} UTC)"

    def person(pid: str | None) -> str:
        if not pid:
            return "nobody"
        found = config.people.get(pid)
        return inline(found.name) if found else inline(pid)

    def since_declared(moment: datetime | None) -> timedelta | None:
        return moment - incident.declared_at if moment else None

    return {
        "incident": incident,
        "tz": tz_name,
        "when": when,
        "person": person,
        "took": duration(since_declared(incident.resolved_at)),
        "to_acknowledge": duration(since_declared(incident.acknowledged_at)),
        "incident_url": incident_url,
        "severity": config.severity(incident.severity),
        "open_followups": [f for f in incident.followups if f.state != "closed"],
    }
