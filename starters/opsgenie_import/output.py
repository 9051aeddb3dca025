"""The files ``tocsin import opsgenie`` writes: ``tocsin.yaml`` as text, checked by the same
parser as ``tocsin config check``, and the report with that check's warnings."""

from __future__ import annotations

from typing import Any

import yaml

from starters.opsgenie_import.convert import Conversion
from starters.opsgenie_import.report import Section, render
from worker.config import parse_config
from workflows.rotation_warnings import rotation_warnings


def config_text(config: dict[str, Any], source: str, report: str) -> str:
    """``tocsin.yaml``: a header saying where it came from, then the YAML.

    Lists and mappings of plain values are written inline (``layers: {eoc: [alice, bob]}``),
    as in ``tocsin.example.yaml``.
    """
    header = (
        f"# Written by `tocsin import opsgenie {source}` from Opsgenie's REST API.\n"
        f"# What could not be mapped, and why: {report}\n\n"
    )
    body = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None)
    return header + body


def checked_report(conversion: Conversion, text: str, path: str, source: str) -> str:
    """The report, after ``text`` passed the config check (its warnings included).

    Raises:
        worker.config.ConfigError: ``text`` is not a valid ``tocsin.yaml``.
    """
    config = parse_config(yaml.safe_load(text), path)
    for warning in rotation_warnings(config):
        conversion.report.add(Section.warnings, "tocsin config check", warning)
    return render(conversion.report, source, path)
