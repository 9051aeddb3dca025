"""The one translation of what Temporal answers a client into Tocsin's errors.

A workflow's validator refusing an update becomes :class:`~starters.errors.Rejected` with
its sentence; a workflow that does not exist becomes the caller's not-found error; one that
has closed becomes what the caller says a closed one means. Every client in
:mod:`starters.clients` goes through here, so the API's 404/409, the CLI's exit codes and
Slack's ephemerals say the same thing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from starters.errors import Rejected, TocsinError

T = TypeVar("T")

Missing = Callable[[], TocsinError]
"""The error for a workflow Temporal does not know (``PageNotFound(...)``…)."""


def refusal(err: WorkflowUpdateFailedError) -> str:
    """The sentence the workflow's validator refused with (``page 3f9a1c2b is already
    acknowledged by alice``), for the API's 409, the CLI's exit 1 and Slack's ephemeral."""
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)


async def answer(call: Awaitable[T], missing: Missing | None = None) -> T:
    """Await one call to a workflow (update, query, signal, describe).

    Raises:
        Rejected: the workflow refused the update; the message is its validator's.
        TocsinError: ``missing()``, when Temporal has no such workflow (NOT_FOUND).
        RPCError: any other failure of the call (and NOT_FOUND without ``missing``).
    """
    try:
        return await call
    except WorkflowUpdateFailedError as err:
        raise Rejected(refusal(err)) from None
    except RPCError as err:
        if missing is not None and err.status == RPCStatusCode.NOT_FOUND:
            raise missing() from None
        raise


async def require_running(
    handle: WorkflowHandle[Any, Any],
    missing: Missing,
    closed: Callable[[WorkflowExecutionStatus | None], TocsinError],
) -> None:
    """Refuse before sending an update to a workflow that has closed: Temporal would only
    say the update was not delivered, ``closed(status)`` says what that means.

    Raises:
        TocsinError: ``missing()`` for no such workflow, ``closed(status)`` for a closed one.
    """
    description = await answer(handle.describe(), missing)
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise closed(description.status)
