"""The layout's promises that an import can break: workflow code loads no vendor library."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

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
        modules = [f"workflows.{info.name}" for info in pkgutil.iter_modules(workflows.__path__)]
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


class TestSandboxPassthrough:
    """Pure workflow modules are shared with the sandbox, not re-imported for every run."""

    def test_every_module_without_workflow_code_passes_through(self) -> None:
        """A page's first workflow task costs twice the CPU when the contract's pydantic
        models are rebuilt in each run's sandbox (bench/page_latency.py)."""
        from worker.build import PASSTHROUGH_MODULES  # noqa: PLC0415 - the composition root

        folder = Path(workflows.__path__[0])
        sources = {
            f"workflows.{path.stem}": path.read_text(encoding="utf-8")
            for path in folder.glob("*.py")
            if path.stem != "__init__"
        }
        # Workflow code: what uses temporalio.workflow, and what imports such a module.
        code = {name for name, text in sources.items() if "from temporalio import workflow" in text}
        while True:
            more = {name for name, text in sources.items() if _imports_any(text, code)} - code
            if not more:
                break
            code |= more
        pure = set(sources) - code
        assert "workflows.page_views" in pure
        assert "workflows.incident_rules" in pure
        assert sorted(pure - set(PASSTHROUGH_MODULES)) == []
        # A module defining a workflow must load in each run's sandbox.
        defining = {name for name, text in sources.items() if "@workflow.defn" in text}
        assert sorted(defining & set(PASSTHROUGH_MODULES)) == []


def _imports_any(source: str, modules: set[str]) -> bool:
    """Whether ``source`` imports one of ``modules`` (``from workflows import x`` too)."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return bool(imported & modules)


ROOT = Path(workflows.__path__[0]).parent
# Workflow classes are started, signalled, updated and queried through their typed clients.
WORKFLOW_CLASSES = {"workflows.page", "workflows.incident", "workflows.rotation", "workflows.shift"}
CLIENT_SIDE = ("starters", "activities", "worker", "bench")


def _imported(tree: ast.AST) -> set[str]:
    """Every module ``tree`` imports, wherever the import is (``from workflows import page``
    imports ``workflows.page``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


class TestWorkflowClients:
    """Outside ``workflows/``, only the typed clients and the worker's registration import a
    workflow class: everything else calls the workflows through ``starters/clients``."""

    def test_only_clients_import_workflow_classes(self) -> None:
        defined = {
            f"workflows.{path.stem}"
            for path in (ROOT / "workflows").glob("*.py")
            if any(
                isinstance(node, ast.ClassDef)
                and any("defn" in ast.unparse(d) for d in node.decorator_list)
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            )
        }
        assert sorted(WORKFLOW_CLASSES - defined) == []
        clients: set[str] = set()
        offenders: list[str] = []
        for folder in CLIENT_SIDE:
            for path in sorted((ROOT / folder).rglob("*.py")):
                module = path.relative_to(ROOT).as_posix()
                imported = _imported(ast.parse(path.read_text(encoding="utf-8"))) & defined
                if module == "worker/build.py" or module.startswith("starters/clients/"):
                    clients |= imported
                else:
                    offenders += [f"{module} imports {name}" for name in sorted(imported)]
        assert offenders == []
        assert sorted(WORKFLOW_CLASSES - clients) == [], "the clients use the workflow classes"

    def test_every_import_form_is_seen(self) -> None:
        """The walk finds a workflow module however it is imported, even inside a function."""
        source = (
            "import workflows.page\n"
            "from workflows import incident\n"
            "def f():\n"
            "    from workflows.shift import ShiftWorkflow\n"
        )
        assert {"workflows.page", "workflows.incident", "workflows.shift"} <= _imported(
            ast.parse(source)
        )
