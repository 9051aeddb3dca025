"""Small domain errors adapters raise; activities turn them into Temporal failures."""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError


class AdapterError(Exception):
    """Base of the errors an adapter may raise."""


class Unavailable(AdapterError):
    """The service could not be reached or failed; worth retrying."""


class Rejected(AdapterError):
    """The service refused the request; retrying the same request will not help."""


class NotConfigured(AdapterError):
    """This capability is off (no credentials or settings); try another contact method."""


class NotFound(AdapterError):
    """What the request names does not exist."""


class RateLimited(AdapterError):
    """Too many requests; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def to_application_error(err: AdapterError) -> ApplicationError:
    """Map an adapter error to the failure Temporal's retry policy understands."""
    kind = type(err).__name__
    if isinstance(err, RateLimited):
        return ApplicationError(
            str(err), type=kind, next_retry_delay=timedelta(seconds=max(err.retry_after, 1.0))
        )
    retryable = isinstance(err, Unavailable)
    return ApplicationError(str(err), type=kind, non_retryable=not retryable)
