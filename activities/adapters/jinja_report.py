"""On-call reports rendered with Jinja2 (the ``ReportRenderer`` port), from the built-in
template (``activities/templates/oncall_report.md.j2``) or the one the config names
(``reports.oncall_template``, relative to the config file).

The template sees the report and a few views of it, and filters that show times in the
rotation's zone; the built-in one renders exactly what ``workflows.shift_report.report_text``
writes. ``tocsin config check`` renders the configured template once over a sample report
(:func:`template_problem`), so a broken one is a config error, not a failed handoff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from activities.errors import Rejected
from workflows.config import TocsinConfig
from workflows.durations import format_duration
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    RecoveryDay,
    ShiftNote,
    ShiftReport,
    TeamActivity,
)

BUILTIN_TEMPLATE = "oncall_report.md.j2"
KEY = "reports.oncall_template"


def builtin_template() -> str:
    """The template shipped with Tocsin."""
    return (resources.files("activities") / "templates" / BUILTIN_TEMPLATE).read_text("utf-8")


def template_path(config: TocsinConfig, config_dir: Path | None) -> Path | None:
    """Where the configured template is (None: the built-in one)."""
    configured = config.reports.oncall_template
    if configured is None:
        return None
    path = Path(configured).expanduser()
    return path if path.is_absolute() else (config_dir or Path.cwd()) / path


def load_template(config: TocsinConfig, config_dir: Path | None) -> tuple[str, str]:
    """``(name, text)`` of the template the config asks for, else the built-in one.

    Raises:
        Rejected: the configured file cannot be read (the message names the key and file).
    """
    path = template_path(config, config_dir)
    if path is None:
        return BUILTIN_TEMPLATE, builtin_template()
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as err:
        raise Rejected(f"{KEY}: cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise Rejected(f"{KEY}: {path} is not UTF-8 text") from None


def render_report(report: ShiftReport, config: TocsinConfig, config_dir: Path | None = None) -> str:
    """The report's text from the config's template (else the built-in one).

    Raises:
        Rejected: the template cannot be read, has a syntax error or uses an unknown variable.
    """
    return render_with(report, load_template(config, config_dir))


def render_with(report: ShiftReport, template: tuple[str, str]) -> str:
    """The report's text from ``(name, text)`` of a template.

    Raises:
        Rejected: a syntax error, or an unknown variable, saying where.
    """
    name, text = template
    zone = ZoneInfo(report.timezone or "UTC")
    # Plain text for chat and mail, not HTML: nothing to escape.
    env = jinja2.Environment(
        autoescape=False,  # noqa: S701  # plain text (Slack, mail), never served as HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        local=lambda at: at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z"),
        duration=lambda value: format_duration(max(value, timedelta(seconds=1))),
        holders=lambda holders: ", ".join(
            f"{layer} {person or 'nobody'}" for layer, person in holders.items()
        ),
    )
    try:
        rendered = env.from_string(text).render(_context(report, zone))
    except jinja2.TemplateSyntaxError as err:
        raise Rejected(f"{name}, line {err.lineno}: {err.message}") from None
    except jinja2.TemplateError as err:
        raise Rejected(f"{name}: {err}") from None
    return rendered.rstrip()


def _context(report: ShiftReport, zone: ZoneInfo) -> dict[str, Any]:
    pages = [p for p in report.activity.pages if not p.test]
    return {
        "report": report,
        "pages": pages,
        "off_hours": [p for p in pages if p.off_hours],
        "incidents": {i.id: i for i in report.activity.incidents},
        "zone": zone.key,
    }


def template_problem(config: TocsinConfig, config_dir: Path | None) -> str | None:
    """What is wrong with the configured template (read, then rendered over a sample
    report that takes every branch of the built-in one), or None: it renders."""
    if config.reports.oncall_template is None:
        return None
    try:
        template = load_template(config, config_dir)
        render_with(sample_report(), template)
    except Rejected as err:
        message = str(err)
        return message if message.startswith(KEY) else f"{KEY}: {message}"
    return None


def sample_report() -> ShiftReport:
    """A report with something in every part: pages (one off hours, one unanswered), an
    incident, open items, a note, a test page and recovery days."""
    start = datetime(2026, 11, 23, 16, tzinfo=UTC)
    night = PageSummary(
        id="p-night",
        summary="DiskFull on gitserver-0",
        created_at=start + timedelta(hours=12),
        status="resolved",
        acknowledged_by="alice",
        acknowledged_at=start + timedelta(hours=12, minutes=4),
        off_hours=True,
    )
    open_page = PageSummary(
        id="p-open",
        summary="Latency high",
        created_at=start + timedelta(days=6),
        status="triggered",
    )
    incident = IncidentSummary(
        id="INC-7",
        title="git pushes fail",
        severity="major",
        status="resolved",
        declared_at=start + timedelta(days=1),
        worked_by=["alice"],
    )
    return ShiftReport(
        id="shift-sample-20261123T1600Z",
        rotation="sample",
        team="sample",
        timezone="America/Chicago",
        start=start,
        end=start + timedelta(days=7),
        holders={"eoc": "alice", "tm": None},
        notes=[ShiftNote(at=start + timedelta(days=6), by="alice", text="gitserver-0 at 85%")],
        activity=TeamActivity(
            pages=[night, open_page],
            incidents=[incident],
            open_pages=[open_page],
            open_incidents=[incident],
        ),
        test_page="test-sample",
        recovery_day=True,
        recovery=[
            RecoveryDay(person="alice", off_hours_pages=["p-night"], incidents=["INC-7"]),
            RecoveryDay(person=None, off_hours_pages=["p-open"]),
        ],
    )
