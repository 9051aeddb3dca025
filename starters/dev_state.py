"""The running ``tocsin dev`` stack's state file, ``<data-dir>/dev.json``: where its config,
data and Temporal server are, so that a ``tocsin`` command run beside it (pasted from its
banner or a notification) finds them without ``--config``.

``tocsin dev`` writes it once everything answers and removes it when it stops; a file left
by a killed stack is ignored, as its process is gone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

STATE_FILE = "dev.json"


class DevState(BaseModel):
    """A running ``tocsin dev``: its process, where its parts are, and its ports."""

    pid: int
    # The process's start time (Linux clock ticks since boot): a pid reused by another
    # process after a kill does not pass for the stack. None where unknown.
    started: int | None = None
    config: Path
    data_dir: Path
    temporal_address: str
    temporal_namespace: str
    task_queue: str
    api_url: str
    ports: dict[str, int]


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def process_start(pid: int) -> int | None:
    """When ``pid`` started (``/proc/<pid>/stat``'s starttime); None without ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces, in parentheses): state is the
    # 3rd field of the line, starttime the 22nd.
    return int(stat.rsplit(")", 1)[1].split()[19])


def write_state(state: DevState) -> None:
    """Write the state file (whole: a reader never sees half of it)."""
    path = state_path(state.data_dir)
    partial = path.with_name(f".{STATE_FILE}.{os.getpid()}")
    partial.write_text(state.model_dump_json(indent=2) + "\n")
    partial.replace(path)


def remove_state(data_dir: Path, pid: int) -> None:
    """Remove the state file if it is ``pid``'s (not another stack's that replaced it)."""
    state = read_state(data_dir)
    if state is not None and state.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            state_path(data_dir).unlink()


def read_state(data_dir: Path) -> DevState | None:
    """The state file in ``data_dir``; None when there is none or it does not parse."""
    try:
        return DevState.model_validate_json(state_path(data_dir).read_bytes())
    except (OSError, ValidationError):
        return None


def alive(state: DevState) -> bool:
    """Whether the stack that wrote ``state`` still runs."""
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    if state.started is not None:
        return process_start(state.pid) == state.started
    return True


def live_state(data_dir: Path) -> DevState | None:
    """The running stack whose state file is in ``data_dir``; None if none runs."""
    state = read_state(data_dir)
    return state if state is not None and alive(state) else None
