"""Values as other tools put them on the wire, read no more loosely than they are written.

Pydantic reads a number as a Unix time where a ``datetime`` is expected; Alertmanager and
PagerDuty both send RFC 3339 text, so a number there is a malformed body, not 1970.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator


def _text_only(value: object) -> object:
    if not isinstance(value, str | datetime):
        raise ValueError("expected an RFC 3339 date-time string")
    return value


WireTime = Annotated[datetime, BeforeValidator(_text_only)]
