"""What a refused update means to the person who asked: its validator's reason."""

from __future__ import annotations

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError


def refusal(err: WorkflowUpdateFailedError) -> str:
    """The sentence the workflow's validator refused with (``page 3f9a1c2b is already
    acknowledged by alice``), for the API's 409, the CLI's exit 1 and Slack's ephemeral."""
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)
