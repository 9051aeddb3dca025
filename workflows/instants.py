"""The span of time Tocsin reasons about: instants people send must fall inside it.

Rotation and escalation arithmetic adds weeks to the times it is given; a request for
9999-12-31 would overflow ``datetime`` inside a workflow. Inputs are checked against
these bounds at the edge, with an error naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
BOUNDS_TEXT = "between 2000-01-01 and 2200-01-01"


def check_instant(value: datetime) -> datetime:
    """``value`` when it lies within the bounds (a naive value is read as UTC).

    Raises:
        ValueError: outside the bounds.
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= aware < LATEST
    except OverflowError:  # year 1 or 9999 with an offset cannot even be compared
        inside = False
    if not inside:
        raise ValueError(f"must be {BOUNDS_TEXT}")
    return value


Instant = Annotated[datetime, AfterValidator(check_instant)]
