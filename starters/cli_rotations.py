"""``tocsin rotation …``, ``tocsin shift note|reports|report``, ``tocsin ical`` and
``tocsin oncall compare``: rotations from the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from temporalio.service import RPCError

from activities.adapters.temporal_views import TemporalRotations
from starters.api import TocsinClient
from starters.cli_common import (
    AsOpt,
    ConfigOpt,
    JsonOpt,
    as_cli,
    client_command,
    config_file,
    config_zone,
    emit,
    fail,
    instant,
    quiet_logs,
    require_actor,
    run,
    settings_from,
    when,
)
from starters.cli_common import actor as _actor
from starters.cli_common import model as _model
from starters.cli_log import read_store
from starters.oncall_compare import (
    MapError,
    OpsgenieTimeline,
    TimelineError,
    check_covers,
    compare,
    comparison_text,
    map_entries,
    map_file,
    match_people,
    read_timeline,
)
from worker.client import connect
from worker.settings import Settings
from workflows.rotation_models import (
    NoteRequest,
    OverrideRequest,
    RemoveRequest,
    ReportQuery,
    RotationPlan,
    RotationStatus,
    ShiftReport,
    SwapRequest,
)
from workflows.rotation_rules import layer_spans, plan_from_config

rotation_app = typer.Typer(
    help="Rotations: show, shifts in a range, overrides, swaps.", no_args_is_help=True
)
shift_app = typer.Typer(help="Shifts: handoff notes, on-call reports.", no_args_is_help=True)


RotationArg = Annotated[str, typer.Argument(metavar="ROTATION", help="Rotation name.")]
WhenOpt = Annotated[
    datetime | None, typer.Option(help="Instant with offset, e.g. 2026-11-23T10:00:00-06:00.")
]


@rotation_app.command("show")
def rotation_show(
    rotation: RotationArg, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Who is on call, the next handoff, overrides, swaps, gaps and recent changes (times
    in the rotation's zone)."""
    settings = settings_from(config=config)
    zone = config_zone(settings, rotation)
    client_command(
        settings,
        lambda c: c.rotation_call(lambda r: r.status(rotation)),
        lambda status: _rotation_text(status, zone),
        as_json=as_json,
    )


def _rotation_text(status: RotationStatus, zone: ZoneInfo) -> str:
    lines = [f"rotation  {status.name}", f"next handoff {when(status.next_handoff, zone)}"]
    lines += [
        f"  {s.layer:<6} {s.person or 'nobody'} until {when(s.end, zone)}" for s in status.oncall
    ]
    for o in status.plan.overrides:
        lines.append(
            f"override {o.id}: {o.person} holds {o.layer} {when(o.start, zone)} "
            f"to {when(o.end, zone)} (by {o.by})"
        )
    for w in status.plan.swaps:
        lines.append(
            f"swap {w.id}: {w.first_person} {when(w.first_start, zone)} <-> "
            f"{w.second_person} {when(w.second_start, zone)} ({w.layer}, by {w.by})"
        )
    lines += [f"gap: {g.layer} {when(g.start, zone)} to {when(g.end, zone)}" for g in status.gaps]
    lines += [f"warning: {w}" for w in status.settings.warnings]
    lines += [f"change: {c}" for c in status.changes[-5:]]
    return "\n".join(lines)


@rotation_app.command("shifts")
def rotation_shifts(
    rotation: RotationArg,
    from_: Annotated[
        datetime, typer.Option("--from", help="Start, with offset.", callback=instant)
    ],
    to: Annotated[datetime, typer.Option(help="End, with offset.", callback=instant)],
    csv_out: Annotated[bool, typer.Option("--csv", help="CSV for pay and planning.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every shift of every layer in a range, with overrides and swaps applied (times in
    the rotation's zone; --csv and --json with their UTC offset)."""
    settings = settings_from(config=config)
    zone = config_zone(settings, rotation)
    spans = client_command(
        settings,
        lambda c: c.rotation_call(lambda r: r.shifts(rotation, from_, to)),
    )
    if csv_out:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["rotation", "layer", "person", "start", "end", "hours", "source"])
        for span in spans:
            hours = (span.end - span.start).total_seconds() / 3600
            writer.writerow(
                [
                    span.rotation,
                    span.layer,
                    span.person or "",
                    span.start.isoformat(),
                    span.end.isoformat(),
                    f"{hours:.2f}",
                    span.source,
                ]
            )
        typer.echo(buffer.getvalue().rstrip("\n"))
        return
    emit(
        spans,
        as_json,
        lambda: "\n".join(
            f"{s.layer:<6} {s.person or 'nobody':<12} {when(s.start, zone)} to "
            f"{when(s.end, zone)}  {s.source}"
            for s in spans
        ),
    )


@rotation_app.command("override")
def rotation_override(
    rotation: RotationArg,
    layer: Annotated[str, typer.Option(help="The layer, e.g. eoc.")],
    person: Annotated[str, typer.Option(help="Who covers.")],
    start: WhenOpt = None,
    end: WhenOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why (shown in the plan).")] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """PERSON holds LAYER from --start (now) to --end (the end of that shift): cover a day,
    or take the current shift."""
    actor = _actor(as_)
    request = _model(
        lambda: OverrideRequest(
            layer=layer, person=person, start=start, end=end, reason=reason, **as_cli(actor)
        )
    )
    settings = settings_from(config=config)
    zone = config_zone(settings, rotation)
    client_command(
        settings,
        lambda c: c.rotation_call(lambda r: r.override(rotation, request)),
        lambda override: (
            f"{override.id}: {override.person} holds {override.layer} "
            f"{when(override.start, zone)} to {when(override.end, zone)}"
        ),
        as_json=as_json,
        check=lambda cfg: require_actor(cfg, actor, as_),
    )


@rotation_app.command("swap")
def rotation_swap(
    rotation: RotationArg,
    layer: Annotated[str, typer.Option(help="The layer, e.g. eoc.")],
    first_person: Annotated[str, typer.Option(help="Holds the first shift now.")],
    first_start: Annotated[
        datetime, typer.Option(help="When the first shift starts.", callback=instant)
    ],
    second_person: Annotated[str, typer.Option(help="Holds the second shift now.")],
    second_start: Annotated[
        datetime, typer.Option(help="When the second shift starts.", callback=instant)
    ],
    as_: AsOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Exchange two future shifts of LAYER between two people."""
    actor = _actor(as_)
    request = _model(
        lambda: SwapRequest(
            layer=layer,
            first_person=first_person,
            first_start=first_start,
            second_person=second_person,
            second_start=second_start,
            **as_cli(actor),
        )
    )
    client_command(
        settings_from(config=config),
        lambda c: c.rotation_call(lambda r: r.swap(rotation, request)),
        lambda swap: f"{swap.id}: {swap.first_person} <-> {swap.second_person}",
        as_json=as_json,
        check=lambda cfg: require_actor(cfg, actor, as_),
    )


@rotation_app.command("remove")
def rotation_remove(
    rotation: RotationArg,
    item: Annotated[str, typer.Argument(metavar="ID", help="An override or swap id.")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove an override or a swap."""
    actor = _actor(as_)
    request = _model(lambda: RemoveRequest(id=item, **as_cli(actor)))
    client_command(
        settings_from(config=config),
        lambda c: c.rotation_call(lambda r: r.remove(rotation, request)),
        lambda _: f"removed {item}",
        check=lambda cfg: require_actor(cfg, actor, as_),
    )


@shift_app.command("note")
def shift_note(
    rotation: RotationArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The handoff note.")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add a handoff note to the rotation's current shift (the next shift gets it)."""
    actor = _actor(as_)
    request = _model(lambda: NoteRequest(text=text, **as_cli(actor)))
    settings = settings_from(config=config)
    zone = config_zone(settings, rotation)
    client_command(
        settings,
        lambda c: c.rotation_call(lambda r: r.note(rotation, request)),
        lambda shift: f"noted on the {shift.rotation} shift ending {when(shift.end, zone)}",
        check=lambda cfg: require_actor(cfg, actor, as_),
    )


@shift_app.command("reports")
def shift_reports(
    rotation: Annotated[str | None, typer.Option(help="Only this rotation's shifts.")] = None,
    person: Annotated[
        str | None,
        typer.Option(help="Only shifts this person was on call (or got a recovery day)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only shifts that ended since: 30d, 12h or an ISO 8601 date/time."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Kept on-call reports, newest shift first (the database in TOCSIN_DATABASE_URL; no
    Temporal needed). ``tocsin shift report ID`` prints one."""
    from starters.incident_log import parse_when  # noqa: PLC0415

    start = None
    if since is not None:
        try:
            start = parse_when(since, datetime.now(UTC))
        except ValueError as err:
            raise fail(f"--since: {err}") from None
    query = ReportQuery(rotation=rotation, person=person, since=start, limit=limit)
    found = read_store(settings_from(), lambda store: store.list_shift_reports(query))
    emit(found, as_json, lambda: reports_text(found))


def reports_text(reports: list[ShiftReport]) -> str:
    """One line per report: its id, rotation, when (in the rotation's zone), who, what."""
    if not reports:
        return "no on-call reports"
    rows = [
        [
            r.id or "-",
            when(r.start, ZoneInfo(r.timezone or "UTC")),
            ", ".join(f"{layer} {who or 'nobody'}" for layer, who in r.holders.items()),
            _pages(r),
            ", ".join(i.id for i in r.activity.incidents) or "-",
            ", ".join(d.person or "on-call" for d in r.recovery) or "-",
        ]
        for r in reports
    ]
    header = ["ID", "START", "ON CALL", "PAGES", "INCIDENTS", "RECOVERY DAY"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _pages(report: ShiftReport) -> str:
    pages = [p for p in report.activity.pages if not p.test]
    off_hours = sum(1 for p in pages if p.off_hours)
    return f"{len(pages)} ({off_hours} off hours)" if off_hours else str(len(pages))


@shift_app.command("report")
def shift_report(
    report_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="The shift's id, e.g. shift-delivery-20261123T1600Z."),
    ],
    as_json: JsonOpt = False,
) -> None:
    """One kept on-call report, as it was posted at the handoff (--json: all of it)."""
    found = read_store(settings_from(), lambda store: store.get_shift_report(report_id))
    if found is None:
        raise fail(f"no on-call report {report_id!r} (see tocsin shift reports)")
    emit(found, as_json, lambda: found.text)


def ical(
    rotation: Annotated[
        str | None, typer.Argument(metavar="ROTATION", help="Rotation (or --person).")
    ] = None,
    person: Annotated[str | None, typer.Option(help="One person's shifts, all rotations.")] = None,
    from_: Annotated[
        datetime | None,
        typer.Option("--from", help="Start, with offset (default: 30 days ago).", callback=instant),
    ] = None,
    to: Annotated[
        datetime | None,
        typer.Option(help="End, with offset (default: 180 days ahead).", callback=instant),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file (default: stdout).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Export the schedule (overrides included) as iCalendar: every whole shift overlapping
    --from/--to, as the .ics feeds of the API serve it."""
    if (rotation is None) == (person is None):
        raise fail("give a ROTATION or --person, not both")
    settings = settings_from(config=config)

    def call(c: TocsinClient) -> Awaitable[bytes]:
        if person is not None:
            return c.rotation_call(lambda r: r.person_calendar(person, from_, to))
        return c.rotation_call(lambda r: r.calendar(rotation or "", from_, to))

    data = client_command(settings, call)
    if output is None:
        typer.echo(data.decode())
    else:
        output.write_bytes(data)


# How long `oncall compare` waits for the running stack before using the config alone.
LIVE_TIMEOUT = 10.0
MAX_WEEKS = 26


def oncall_compare(
    rotation: Annotated[str, typer.Option(help="The Tocsin rotation, e.g. delivery.")],
    opsgenie: Annotated[
        Path,
        typer.Option(
            help="The JSON answer of Opsgenie's GET /v2/schedules/{id}/timeline "
            "(its data.finalTimeline is compared).",
        ),
    ],
    layer: Annotated[
        str | None,
        typer.Option(help="The Tocsin layer compared (default: the rotation's first layer)."),
    ] = None,
    weeks: Annotated[
        int, typer.Option(min=1, max=MAX_WEEKS, help="How many weeks to compare.")
    ] = 2,
    from_: Annotated[
        datetime | None,
        typer.Option("--from", help="Start, with offset (default: now).", callback=instant),
    ] = None,
    people_map: Annotated[
        Path | None,
        typer.Option(help="YAML or JSON file of opsgenie_username: tocsin_person entries."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="opsgenie_username=tocsin_person (repeatable; wins over the file)."
        ),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where Tocsin's on-call for one layer of ROTATION differs from Opsgenie's final
    timeline over the next --weeks: each interval with who each side has, and the hours.

    Opsgenie's final timeline (overrides applied) merges its rotations: at each instant it
    has everyone any of them has. Export one Opsgenie schedule per Tocsin layer and
    compare it with --layer (default: the rotation's first layer). Opsgenie users are
    Tocsin people with the same e-mail, or as --map / --people-map say. Tocsin's side is
    the running rotation (overrides and swaps included); without Temporal, the config's
    schedule, and a note on stderr says so.

    Exit codes: 0 no differences; 1 they differ; 2 bad input (the file, a key, an option).
    """
    settings = settings_from(config=config)
    quiet_logs(settings)
    source = config_file(settings)
    current = source.current()
    spec = current.rotations.get(rotation)
    if spec is None:
        known = ", ".join(sorted(current.rotations)) or "none configured"
        raise fail(f"--rotation: unknown rotation {rotation!r} (rotations: {known})")
    chosen = layer or next(iter(spec.layers))
    if chosen not in spec.layers:
        layers = ", ".join(spec.layers)
        raise fail(f"--layer: {rotation} has no layer {chosen!r} (layers: {layers})")
    if from_ is not None and from_.tzinfo is None:
        raise fail("--from needs a time zone, e.g. 2026-11-23T10:00:00-06:00")
    start = (from_ or datetime.now(UTC)).astimezone(UTC)
    end = start + timedelta(weeks=weeks)
    timeline = _opsgenie_timeline(opsgenie, start, end)
    try:
        in_file = map_file(_read(people_map), str(people_map)) if people_map else {}
        match_people(current.people, in_file, str(people_map))  # names the file's bad entry
        people = match_people(current.people, {**in_file, **map_entries(map_ or [])})
    except MapError as err:
        raise fail(str(err)) from None
    plan, live = _plan(settings, rotation, plan_from_config(rotation, spec))
    if not live:
        typer.echo(
            f"note: rotation {rotation} did not answer from Temporal at "
            f"{settings.temporal_address}: the config's schedule is compared, without "
            "overrides or swaps",
            err=True,
        )
    result = compare(
        timeline,
        layer_spans(plan, chosen, start, end),
        people,
        rotation=rotation,
        layer=chosen,
        start=start,
        end=end,
        live=live,
    )
    emit(result, as_json, lambda: comparison_text(result, spec.zone))
    if result.differences:
        raise typer.Exit(1)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise fail(f"{path}: cannot read it: {reason}") from None


def _opsgenie_timeline(path: Path, start: datetime, end: datetime) -> OpsgenieTimeline:
    try:
        document = json.loads(_read(path))
    except json.JSONDecodeError as err:
        raise fail(f"{path}: not JSON: {err}") from None
    try:
        timeline = read_timeline(document)
        check_covers(timeline, start, end)
    except TimelineError as err:
        raise fail(f"{path}: {err}") from None
    return timeline


def _plan(settings: Settings, name: str, fallback: RotationPlan) -> tuple[RotationPlan, bool]:
    """The rotation's live plan and True; the config's and False when it does not answer."""

    async def live() -> RotationPlan | None:
        return await TemporalRotations(await connect(settings)).plan(name)

    try:
        plan = run(asyncio.wait_for(live(), LIVE_TIMEOUT))
    except (RuntimeError, RPCError, TimeoutError):
        plan = None
    return (plan, True) if plan is not None else (fallback, False)
