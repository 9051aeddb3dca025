"""Rollback by running a local command: an argv list, no shell, output captured, timed out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping

from activities.errors import Rejected
from workflows.durations import format_duration
from workflows.incident_config import CommandRollback, Rollback
from workflows.models import RollbackRequest, RollbackResult

OUTPUT_CHARS = 4000
# Bytes kept while reading: enough for OUTPUT_CHARS characters of any UTF-8 text.
_KEEP_BYTES = OUTPUT_CHARS * 4
# After the command exits (or is killed), how long to wait for the rest of its output
# before killing whatever in its process group still holds the pipe.
_DRAIN_SECONDS = 1.0
_POLL_SECONDS = 0.02


def rollback_environment(base: Mapping[str, str], request: RollbackRequest) -> dict[str, str]:
    """The command's environment: the worker's, plus what the rollback is about."""
    return {
        **base,
        "TOCSIN_INCIDENT": request.incident_id,
        "TOCSIN_SERVICE": request.service,
        "TOCSIN_ROLLBACK_BY": request.by,
        "TOCSIN_ROLLBACK_CHOICE": request.choice,
    }


def tail(data: bytes | bytearray) -> str:
    """The last :data:`OUTPUT_CHARS` characters of the output, marked when cut."""
    text = bytes(data).decode("utf-8", errors="replace")
    if len(text) <= OUTPUT_CHARS:
        return text
    return "…" + text[-(OUTPUT_CHARS - 1) :]


async def _collect(stream: asyncio.StreamReader | None, sink: bytearray) -> None:
    while stream is not None and (chunk := await stream.read(65536)):
        sink += chunk
        del sink[:-_KEEP_BYTES]


class CommandRunner:
    """Runs ``spec.argv`` in its own process group; a timeout kills the whole group."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult:
        if not isinstance(spec, CommandRollback):
            raise Rejected(f"the command runner cannot run a {spec.kind} rollback")
        program = spec.argv[0]
        proc = await self._start(spec, request)
        if isinstance(proc, RollbackResult):
            return proc

        output = bytearray()
        reader = asyncio.create_task(_collect(proc.stdout, output))
        timed_out = False
        try:
            try:
                async with asyncio.timeout(spec.timeout.total_seconds()):
                    await _exited(proc)
            except TimeoutError:
                timed_out = True
        finally:
            # Also on cancellation: a rollback nobody waits for must not keep running.
            await _finish(proc, reader)

        text = tail(output)
        if timed_out:
            return self._failed(f"{program} timed out after {format_duration(spec.timeout)}", text)
        code = proc.returncode
        if code == 0:
            return RollbackResult(
                ok=True, runner="command", summary=f"{program} exited 0", output=text
            )
        if code is not None and code < 0:
            return self._failed(f"{program} was killed by {_signal_name(-code)}", text)
        return self._failed(f"{program} exited {code}", text)

    async def _start(
        self, spec: CommandRollback, request: RollbackRequest
    ) -> asyncio.subprocess.Process | RollbackResult:
        """The running command, or the failed result saying why it could not start."""
        program = spec.argv[0]
        try:
            return await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=spec.cwd,
                env=rollback_environment(self._environ, request),
                start_new_session=True,
            )
        except FileNotFoundError as err:
            missing = spec.cwd if spec.cwd and err.filename == spec.cwd else program
            what = "directory" if missing == spec.cwd else "command"
            return self._failed(f"{what} {missing} not found")
        except PermissionError:
            return self._failed(f"{program} could not be run: permission denied")
        except OSError as err:
            # A cwd that is a file, an argv the kernel refuses (E2BIG, ENOEXEC), …
            return self._failed(f"{program} could not be run: {err.strerror or err}")

    @staticmethod
    def _failed(summary: str, output: str = "") -> RollbackResult:
        return RollbackResult(ok=False, runner="command", summary=summary, output=output)


async def _exited(proc: asyncio.subprocess.Process) -> None:
    # Not proc.wait(): on Python 3.11 it also waits for the output pipe to close, which a
    # background child can hold open long after the command itself has exited.
    while proc.returncode is None:  # noqa: ASYNC110  # asyncio offers no exit-only event
        await asyncio.sleep(_POLL_SECONDS)


async def _finish(proc: asyncio.subprocess.Process, reader: asyncio.Task[None]) -> None:
    """Kill what is left of the command and collect the rest of its output."""
    if proc.returncode is None:
        _kill_group(proc.pid)
    _, pending = await asyncio.wait({reader}, timeout=_DRAIN_SECONDS)
    if pending:
        # The command exited but something in its process group still holds the output
        # open: the rollback is over, so that goes too. (A daemon that detached itself
        # with setsid is in another group and is left alone.)
        _kill_group(proc.pid)
        await asyncio.wait({reader}, timeout=_DRAIN_SECONDS)
        reader.cancel()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_exited(proc), _DRAIN_SECONDS)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill_group(pgid: int) -> None:
    # start_new_session made the command a group leader: its children die with it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
