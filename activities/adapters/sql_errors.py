"""SQL failures as the adapter errors activities understand: a database that cannot be
reached is ``Unavailable`` (retried), data it refuses is ``Rejected``."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from activities.errors import AdapterError, Rejected, Unavailable

log = structlog.get_logger("tocsin.store")


class DatabaseErrors:
    """Turns driver and SQLAlchemy errors into the adapter errors activities understand."""

    def __init__(self, action: str, url: str, context: dict[str, object]) -> None:
        self._action = action
        self._url = url
        self._context = context

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, _: object
    ) -> None:
        if err is None or isinstance(err, AdapterError):
            return
        if not isinstance(err, SQLAlchemyError | OSError):
            return
        # The driver's own message: SQLAlchemy's would repeat the statement and its values.
        said = str(getattr(err, "orig", None) or err).strip()
        reason = said.splitlines()[0][:300] if said else "no message"
        log.warning(
            "incident log failed",
            action=self._action,
            url=self._url,
            error=type(err).__name__,
            reason=reason,
            **self._context,
        )
        message = f"incident log ({self._action}): {type(err).__name__}: {reason}"
        if isinstance(err, DataError | IntegrityError):
            raise Rejected(message) from err
        raise Unavailable(message) from err
