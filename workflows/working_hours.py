"""Working hours: when a low-urgency page may notify someone.

A low-urgency step that falls outside its team's working hours waits for their next start
(a support request answered within a day need not wake anyone at 3 am). Pure: the
instant comes from the caller; wall-clock times are read in the hours' own time zone, so
a start at 09:00 stays 09:00 across a DST change.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WORKDAYS = WEEKDAYS[:5]


class WorkingHours(BaseModel):
    """Local days and hours (``start`` to ``end``, same day) when low urgency may notify;
    ``timezone`` defaults to the team's rotation's, else the config's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[str] = Field(default_factory=lambda: list(WORKDAYS), min_length=1, max_length=7)
    start: time = time(9, 0)
    end: time = time(18, 0)
    timezone: str | None = None

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        for day in value:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown day {day!r}: use {', '.join(WEEKDAYS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ValueError, ZoneInfoNotFoundError):
                raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 09:00 as the base-60 integer 540.
            raise ValueError('write the time in quotes, e.g. start: "09:00"')
        return value

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("end must be after start (working hours within one day)")
        return self


def next_start(hours: WorkingHours, zone: ZoneInfo, at: datetime) -> datetime | None:
    """None when ``at`` is within ``hours`` (read in ``zone``); else when they next begin."""
    local = at.astimezone(zone)
    days = {WEEKDAYS.index(d) for d in hours.days}
    if local.weekday() in days and hours.start <= local.time() < hours.end:
        return None
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in days:
            continue
        begins = datetime.combine(day, hours.start, tzinfo=zone)
        if begins > local:
            return begins
    raise AssertionError("a week always has a working day")  # days is never empty
