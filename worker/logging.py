"""structlog setup: readable console output on a terminal, JSON lines everywhere else.

Standard-library records (Temporal's ``workflow.logger``/``activity.logger``, uvicorn)
go through the same renderer so there is one log stream. Three promises hold in every
format:

- no secret reaches the output (:mod:`worker.redaction` runs over each event and each
  rendered line; tracebacks never show local variables);
- no event is longer than :data:`MAX_EVENT_CHARS` (cut with a marker);
- for long-running services (``background=True``) an event that carries a traceback is
  rendered on a logging thread, so a long traceback never holds up the event loop that
  serves pages; plain events, the many, are rendered where they happen (handing each one
  to a thread cost three times the rendering).
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from worker.redaction import Redactor, cut

LogFormat = Literal["auto", "console", "json"]

# One rendered event (message, fields and traceback) at most; a longer one is cut.
MAX_EVENT_CHARS = 16_000
# One traceback at most (its head and its tail), leaving room for the event's fields.
MAX_EXCEPTION_CHARS = 12_000
# One string field at most, before rendering (keeps the renderer's work small).
MAX_FIELD_CHARS = 4_000
# Frames shown per exception in a chain: the innermost ones, where it was raised.
MAX_FRAMES = 30
# Events waiting for the logging thread; beyond this they are counted and dropped.
QUEUE_SIZE = 10_000

_redactor = Redactor()
_listener: logging.handlers.QueueListener | None = None


def add_secrets(values: Iterable[str]) -> None:
    """Hide these values in every log line from now on (e.g. a token generated at start)."""
    _redactor.add(values)


def configure_logging(
    fmt: LogFormat = "auto",
    level: str = "info",
    *,
    secrets: Iterable[str] = (),
    background: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging to stderr.

    Args:
        fmt: ``console``, ``json``, or ``auto``: console on a terminal, else JSON.
        level: the lowest level written.
        secrets: values never to write (see :func:`worker.settings.secret_values`).
        background: render events carrying a traceback on a logging thread (services);
            one-shot commands render everything inline, so their output is complete when
            they return.
        stream: where lines go (default: stderr).
    """
    global _listener  # noqa: PLW0603 - logging is process-wide; one listener at a time
    add_secrets(secrets)
    out = sys.stderr if stream is None else stream
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _resolve_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a module's logger then follows a later configure (``tocsin log``
        # quiets logging to errors in-process) and structlog's capture_logs in tests.
        cache_logger_on_first_use=False,
    )
    writer = logging.StreamHandler(out)
    writer.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                _merge_record_context,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                _record_timestamp,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _format_exception,
                _redact_event,
                renderer,
                _redact_line,
            ],
        )
    )
    if _listener is not None:
        _listener.stop()
        _listener = None
    handler: logging.Handler = writer
    if background:
        waiting: queue.Queue[logging.LogRecord] = queue.Queue(QUEUE_SIZE)
        handler = _OffloadTracebacks(waiting, writer)
        _listener = logging.handlers.QueueListener(waiting, writer)
        _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries: keep their warnings, drop their chatter.
    for name in ("httpx", "httpcore", "apprise", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


def flush_logs() -> None:
    """Wait until every queued event is written (tests; a service's last words)."""
    if _listener is not None:
        _listener.queue.join()  # type: ignore[attr-defined]  # typeshed: a Queue[Any] in 3.12+ only


def _stop_listener() -> None:
    if _listener is not None:
        _listener.stop()


atexit.register(_stop_listener)


class _OffloadTracebacks(logging.handlers.QueueHandler):
    """Writes plain events at once; hands those with a traceback to the logging thread.

    The stock queue handler formats in the caller's thread, which is what must not happen:
    only the caller's context variables are taken along, as they live in its thread. A
    full queue drops the event and says so in the next one that fits.
    """

    def __init__(self, waiting: queue.Queue[logging.LogRecord], writer: logging.Handler) -> None:
        super().__init__(waiting)
        self._writer = writer
        self._dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        traceback_inside = record.exc_info or (
            isinstance(record.msg, dict) and record.msg.get("exc_info")
        )
        # While the thread still has events to write, later ones queue behind them: the
        # log keeps its order.
        if traceback_inside or self.queue.unfinished_tasks:  # type: ignore[attr-defined]  # a queue.Queue
            super().emit(record)
        else:
            self._writer.handle(record)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not isinstance(record.msg, dict):
            record.tocsin_context = structlog.contextvars.get_contextvars()
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self._dropped:
                note = logging.makeLogRecord(
                    {
                        "name": "tocsin.logging",
                        "levelno": logging.WARNING,
                        "levelname": "WARNING",
                        "msg": f"{self._dropped} log events dropped: the log queue was full",
                    }
                )
                self.queue.put_nowait(note)
                self._dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self._dropped += 1


def _resolve_exc_info(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """``exc_info=True`` means "the exception being handled here": capture it now, in the
    caller's thread, before the event crosses to the logging thread."""
    if event.get("exc_info") is True:
        event["exc_info"] = sys.exc_info()
    return event


def _merge_record_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    context = getattr(record, "tocsin_context", None)
    if context is None:
        context = structlog.contextvars.get_contextvars()
    for key, value in context.items():
        event.setdefault(key, value)
    return event


def _record_timestamp(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """When the record was made (not when the logging thread got to it)."""
    record = event.get("_record")
    created = record.created if record is not None else datetime.now(UTC).timestamp()
    event.setdefault("timestamp", datetime.fromtimestamp(created, UTC).isoformat())
    return event


def _format_exception(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Render ``exc_info`` as plain text: no local variables, the innermost frames only."""
    exc_info: Any = event.pop("exc_info", None)
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        rendered = traceback.TracebackException(
            *exc_info, limit=-MAX_FRAMES, capture_locals=False, compact=True
        ).format()
        event["exception"] = cut("".join(rendered), MAX_EXCEPTION_CHARS)
    return event


def _redact_event(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    # A traceback gets more room than a field: its end names what was raised.
    exception = event.pop("exception", None)
    clean = _redactor.event(event, MAX_FIELD_CHARS)
    if isinstance(exception, str):
        clean["exception"] = _redactor.text(exception)
    return clean


def _redact_line(_: WrappedLogger, __: str, line: Any) -> str:
    text = line if isinstance(line, str) else str(line)
    # Cut a runaway line before the patterns run over it, and again after redaction.
    return cut(_redactor.text(cut(text, MAX_EVENT_CHARS * 4)), MAX_EVENT_CHARS)
