"""``tocsin import opsgenie DIR``: an Opsgenie account's setup as ``tocsin.yaml``, and a report
of what could not be mapped (the conversion is :mod:`starters.opsgenie_import`).

Exit codes: 0 written; 2 bad input (DIR missing, a file in it malformed, naming the file
and key; an output file that exists without ``--force``); 1 the converted config fails
Tocsin's own check (a bug of the import: nothing is written) or a file cannot be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from starters.cli_common import fail
from starters.opsgenie_import.convert import ConversionError, convert
from starters.opsgenie_import.export import ExportError, read_export
from starters.opsgenie_import.output import checked_report, config_text
from worker.config import ConfigError

import_app = typer.Typer(
    help="Bring another tool's on-call setup over as tocsin.yaml.", no_args_is_help=True
)


@import_app.command("opsgenie")
def opsgenie(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="JSON files saved from Opsgenie's REST API (README: Moving from Opsgenie).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="The config file to write.")] = Path("tocsin.yaml"),
    report: Annotated[
        Path, typer.Option(help="The report to write: what was not mapped, and why.")
    ] = Path("import-report.md"),
    force: Annotated[bool, typer.Option(help="Overwrite --out and --report.")] = False,
) -> None:
    """Write --out (it passes `tocsin config check`) and --report from Opsgenie's API responses.

    People, teams, rotations, escalation policies and services are mapped; overrides become
    commands to run once Tocsin is up; what Tocsin has no place for is in the report, with why.
    """
    for path in (out, report):
        if path.exists() and not force:
            raise fail(f"{path}: already exists (--force overwrites it)")
    try:
        conversion = convert(read_export(folder))
    except ExportError as err:
        for problem in err.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
    except ConversionError as err:
        raise fail(f"{folder}: {err}") from None
    text = config_text(conversion.config, str(folder), str(report))
    try:
        report_text = checked_report(conversion, text, str(out), str(folder))
    except ConfigError as err:
        for problem in err.problems:
            typer.echo(f"error: {problem}", err=True)
        raise fail(
            "the converted config does not pass tocsin config check, a bug of the import; "
            "nothing was written",
            1,
        ) from None
    try:
        for path, content in ((out, text), (report, report_text)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    except OSError as err:
        raise fail(f"{err.filename}: cannot write: {err.strerror}", 1) from None
    counts = ", ".join(f"{n} {kind}" for kind, n in conversion.report.mapped.items())
    typer.echo(f"wrote {out}: {counts}")
    typer.echo(
        f"wrote {report}: {len(conversion.report.items)} things not mapped, or mapped differently"
    )
