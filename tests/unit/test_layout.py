"""The layout's promises that an import can break: workflow code loads no vendor library."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import workflows

# Libraries that do I/O or talk to a vendor; workflow code orchestrates and must not load
# them, not even through an activity module it passes through the sandbox.
VENDOR = {
    "aiohttp",
    "aiosmtpd",
    "aiosqlite",
    "alembic",
    "apprise",
    "asyncpg",
    "fastapi",
    "github",
    "httpx",
    "icalendar",
    "jinja2",
    "requests",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "starlette",
    "structlog",
    "typer",
    "uvicorn",
    "yaml",
}
PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(input())))))
"""


class TestWorkflowImports:
    """Importing every workflow module, in a fresh interpreter, loads no vendor library."""

    def test_no_vendor_library_loaded(self) -> None:
        modules = [
            f"workflows.{info.name}" for info in pkgutil.iter_modules(workflows.__path__)
        ]
        assert "workflows.incident" in modules
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, *modules],
            input=json.dumps(sorted(VENDOR)),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert json.loads(probe.stdout) == []
