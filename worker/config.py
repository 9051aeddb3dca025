"""Loading ``tocsin.yaml``: YAML → validated :class:`TocsinConfig`, errors named by key path."""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import structlog
import yaml
from pydantic import ValidationError

from workflows.config import ErrorPath, TocsinConfig, reference_errors

log = structlog.get_logger("tocsin.config")


class ConfigError(Exception):
    """The file is missing, is not YAML, or does not describe a valid configuration.

    ``problems`` holds one ``FILE: key.path: message`` line per error.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping names the same key twice (plain safe loading would keep the last)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loading that refuses a key given twice in one mapping.

    Keys brought in by a ``<<:`` merge may still be overridden, as YAML intends.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if repeated:
                raise DuplicateKey(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _key_path(path: ErrorPath) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def parse_config(data: object, source: str) -> TocsinConfig:
    """Validate already-parsed YAML.

    Raises:
        ConfigError: with every schema error, or every unresolved reference.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{source}: (top level): expected a mapping of keys such as people, teams"]
        )
    try:
        config = TocsinConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("function-after[_weekly(), Rotation]",))
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {_key_path(loc)}: {message}")
        raise ConfigError(problems) from None
    unresolved = reference_errors(config)
    if unresolved:
        raise ConfigError(
            [f"{source}: {_key_path(path)}: {message}" for path, message in unresolved]
        )
    return config


def load_config(path: Path) -> TocsinConfig:
    """Read and validate a config file.

    Raises:
        ConfigError: the file cannot be read, parsed or validated.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as err:
        raise ConfigError([f"{path}: cannot read: {err.strerror}"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(top level)"
        problem = getattr(err, "problem", None) or str(err)
        kind = "" if isinstance(err, DuplicateKey) else "invalid YAML: "
        raise ConfigError([f"{path}: {where}: {kind}{problem}"]) from None
    except RecursionError:
        # PyYAML builds nested collections recursively: a few hundred levels exhaust the stack.
        raise ConfigError([f"{path}: (top level): invalid YAML: nested too deeply"]) from None
    config = parse_config(data, str(path))
    _check_files(config, path)
    return config


def _check_files(config: TocsinConfig, path: Path) -> None:
    """Files the config names (relative to its own directory) must be there and usable.

    Raises:
        ConfigError: naming the key, the file and what is wrong with it.
    """
    if config.reports.oncall_template is None:
        return
    from activities.adapters.jinja_report import template_problem  # noqa: PLC0415 - only then

    problem = template_problem(config, path.parent)
    if problem is not None:
        raise ConfigError([f"{path}: {problem}"])


class ConfigFile:
    """The config as it is now: re-read when the file changes, last good version kept.

    An edit that breaks the file is logged and ignored until fixed, so a typo never stops
    running pages from escalating.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._config = load_config(path)
        self._stamp = self._read_stamp()

    @property
    def path(self) -> Path:
        return self._path

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def current(self) -> TocsinConfig:
        stamp = self._read_stamp()
        with self._lock:
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._config = load_config(self._path)
                    log.info("config reloaded", path=str(self._path))
                except ConfigError as err:
                    log.error("config change ignored", path=str(self._path), problems=err.problems)
            return self._config
