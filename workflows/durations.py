"""Durations as people write them in ``tocsin.yaml``: ``10m``, ``1w``, or ISO 8601 ``PT10M``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_SHORT = re.compile(r"^(?:\d+[smhdw])+$")
_PART = re.compile(r"(\d+)([smhdw])")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class DurationTooLarge(ValueError):
    """The text is a well-formed duration, but its number does not fit a timedelta."""


def parse_duration(value: object) -> timedelta:
    """Parse ``<int><s|m|h|d|w>`` or an ISO 8601 duration (``P1W``, ``PT1H30M``).

    Raises:
        ValueError: the text is neither form, or the duration is not positive.
        DurationTooLarge: (a ``ValueError``) the number is beyond what a timedelta holds.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        result = _parse_text(value)
    else:
        raise ValueError(f"expected a duration such as '10m', '1w' or 'PT10M', got {value!r}")
    if result <= timedelta(0):
        raise ValueError("duration must be greater than zero")
    return result


def _parse_text(text: str) -> timedelta:
    compact = text.strip()
    try:
        if _SHORT.match(compact):
            # "10m", "1w", and compounds such as "1h30m" (what format_duration writes).
            seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(compact))
            return timedelta(seconds=seconds)
        iso = _ISO.match(compact.upper())
        if iso and compact.upper() not in ("P", "PT") and any(iso.groupdict().values()):
            parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
            return timedelta(
                weeks=parts["w"],
                days=parts["d"],
                hours=parts["h"],
                minutes=parts["m"],
                seconds=parts["s"],
            )
    except (OverflowError, ValueError):
        # timedelta stops at 999,999,999 days; int() refuses more than 4,300 digits.
        shown = compact if len(compact) <= 40 else f"{compact[:37]}..."
        raise DurationTooLarge(f"duration {shown!r} is too large") from None
    raise ValueError(
        f"invalid duration {text!r}: use <int><s|m|h|d|w> such as '10m' or ISO 8601 such as 'PT10M'"
    )


def format_duration(value: timedelta) -> str:
    """Shortest exact ``<int><unit>`` spelling, e.g. ``600 s`` → ``10m``; mixed values as ``1h30m``."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


# A config duration: parsed from either spelling, written back in the short one.
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


def at_most(limit: timedelta) -> BeforeValidator:
    """An upper bound for a :data:`Duration` field: ``Annotated[Duration, at_most(WEEK)]``.

    Pydantic runs the outer before-validator first, so this one sees the raw text: a
    number too large to parse gets the same message as one merely over the bound.
    """

    def check(value: object) -> timedelta:
        try:
            result: timedelta | None = parse_duration(value)
        except DurationTooLarge:
            result = None
        if result is None or result > limit:
            raise ValueError(f"must be at most {format_duration(limit)}")
        return result

    return BeforeValidator(check)
