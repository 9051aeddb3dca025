"""Why an activity failed, as people read it in a timeline."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError


def activity_failure(err: ActivityError) -> str:
    """Why an activity failed, as people read it (its error's message, not its repr)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or err)
