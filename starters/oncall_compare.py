"""``tocsin oncall compare``: where Tocsin's on-call for one layer of a rotation differs
from an Opsgenie schedule's final timeline, as evidence before cutting over.

The Opsgenie side is the answer of ``GET /v2/schedules/{identifier}/timeline`` saved to a
file: ``data.finalTimeline.rotations[].periods[]``, each period a ``startDate``,
``endDate``, ``type`` (``default``, ``override``, ``historical``, ``forwarding``…) and a
``recipient`` (``type``, ``name``; a user's name is their username, an e-mail address).
The final timeline is the schedule with its overrides applied; its rotations are merged:
at each instant Opsgenie has everyone any of its rotations has. Tocsin's side is who
holds the layer (``ShiftSpan``: schedule, override or swap). An instant differs when the
two sets of people are not the same.

Opsgenie users become Tocsin people by e-mail (a person's ``email`` in the config, case
ignored), or by an explicit map, which wins. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel

from workflows.config import Person
from workflows.rotation_models import ShiftSpan


class TimelineError(ValueError):
    """The export is not an Opsgenie timeline Tocsin can read; the message names the key."""


class MapError(ValueError):
    """A people map entry Tocsin cannot use; the message names the entry."""


class OpsgeniePeriod(BaseModel):
    """One period of the final timeline: who Opsgenie has during ``[start, end)``."""

    rotation: str
    start: datetime
    end: datetime
    type: str
    # A user's username; ``team:NAME`` or ``escalation:NAME`` for a group; None for "none".
    recipient: str | None


class OpsgenieTimeline(BaseModel):
    """The final timeline of an export, and the range it covers (None: not stated)."""

    start: datetime | None
    end: datetime | None
    rotations: list[str]
    periods: list[OpsgeniePeriod]


class OpsgenieHolder(BaseModel):
    """Someone Opsgenie has on call, as it names them and as Tocsin knows them."""

    recipient: str
    person: str | None
    type: str


class Difference(BaseModel):
    """An interval in which the two disagree."""

    start: datetime
    end: datetime
    hours: float
    opsgenie: list[OpsgenieHolder]
    tocsin: str | None
    tocsin_source: Literal["schedule", "override", "swap"] | None
    tocsin_override_id: str | None = None


class Comparison(BaseModel):
    """The whole comparison, as ``--json`` prints it."""

    rotation: str
    layer: str
    start: datetime
    end: datetime
    live: bool
    opsgenie_rotations: list[str]
    unmatched: list[str]
    differences: list[Difference]
    hours_differing: float


# -- the export ----------------------------------------------------------------------------


def read_timeline(document: object) -> OpsgenieTimeline:
    """The final timeline of a parsed export (the whole answer, or its ``data`` object).

    Raises:
        TimelineError: naming the first key that is missing or malformed.
    """
    if isinstance(document, dict) and "data" in document:
        data, prefix = document["data"], "data"
    else:
        data, prefix = document, ""
    where = _key(prefix, "finalTimeline")
    if not isinstance(data, dict) or not isinstance(data.get("finalTimeline"), dict):
        raise TimelineError(
            f"{where}: missing (save the answer of GET /v2/schedules/{{id}}/timeline)"
        )
    rotations = _list(data["finalTimeline"], "rotations", _key(where, "rotations"))
    names: list[str] = []
    periods: list[OpsgeniePeriod] = []
    for r, rotation in enumerate(rotations):
        at = f"{where}.rotations[{r}]"
        if not isinstance(rotation, dict):
            raise TimelineError(f"{at}: not an object")
        name = str(rotation.get("name") or rotation.get("id") or f"rotation {r + 1}")
        names.append(name)
        for p, period in enumerate(_list(rotation, "periods", f"{at}.periods", empty=True)):
            periods.extend(_periods(name, period, f"{at}.periods[{p}]"))
    return OpsgenieTimeline(
        start=_instant(data, "startDate", _key(prefix, "startDate"), required=False),
        end=_instant(data, "endDate", _key(prefix, "endDate"), required=False),
        rotations=names,
        periods=periods,
    )


def check_covers(timeline: OpsgenieTimeline, start: datetime, end: datetime) -> None:
    """Refuse a range the export does not cover: Opsgenie's side would read as nobody.

    Raises:
        TimelineError: naming the range the export covers.
    """
    first = timeline.start or min((p.start for p in timeline.periods), default=None)
    last = timeline.end or max((p.end for p in timeline.periods), default=None)
    if first is None or last is None:
        raise TimelineError("finalTimeline: no periods and no startDate/endDate")
    if start < first or end > last:
        raise TimelineError(
            f"the export covers {_utc(first)} to {_utc(last)}, the comparison needs "
            f"{_utc(start)} to {_utc(end)}: export a timeline that covers it (date=, "
            "interval=, intervalUnit=), or compare less (--from, --weeks)"
        )


def _periods(rotation: str, period: object, at: str) -> list[OpsgeniePeriod]:
    """One period per person it names: a group recipient with ``flattenedRecipients``
    (Opsgenie's users of that team or escalation) gives one per user."""
    if not isinstance(period, dict):
        raise TimelineError(f"{at}: not an object")
    start = _instant(period, "startDate", f"{at}.startDate")
    end = _instant(period, "endDate", f"{at}.endDate")
    if start is None or end is None or end <= start:
        raise TimelineError(f"{at}.endDate: must be after startDate")
    kind = str(period.get("type") or "")
    who = _recipient(period.get("recipient"), f"{at}.recipient")
    flattened = period.get("flattenedRecipients")
    if who is not None and ":" in who and isinstance(flattened, list) and flattened:
        people = [_recipient(r, f"{at}.flattenedRecipients[{i}]") for i, r in enumerate(flattened)]
    else:
        people = [who]
    return [
        OpsgeniePeriod(rotation=rotation, start=start, end=end, type=kind, recipient=person)
        for person in people
    ]


def _recipient(recipient: object, at: str) -> str | None:
    """A user's username; ``team:NAME`` or ``escalation:NAME`` for a group; None for none."""
    if not isinstance(recipient, dict):
        raise TimelineError(f"{at}: missing")
    kind = str(recipient.get("type") or "user").lower()
    name = recipient.get("username") or recipient.get("name")
    if kind == "none":
        return None
    if not isinstance(name, str) or not name:
        raise TimelineError(f"{at}.name: missing")
    return name if kind == "user" else f"{kind}:{name}"


def _instant(
    data: dict[str, object], key: str, at: str, *, required: bool = True
) -> datetime | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise TimelineError(f"{at}: missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimelineError(f"{at}: {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise TimelineError(f"{at}: {value!r} has no offset (Opsgenie writes Z)")
    return parsed


def _list(data: dict[str, object], key: str, at: str, *, empty: bool = False) -> list[object]:
    value = data.get(key)
    if value is None and empty:
        return []
    if not isinstance(value, list):
        raise TimelineError(f"{at}: missing or not a list")
    return value


def _key(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


# -- people --------------------------------------------------------------------------------


def map_entries(entries: Sequence[str]) -> dict[str, str]:
    """``--map opsgenie_username=tocsin_person`` options as a mapping.

    Raises:
        MapError: an entry without ``=`` or with an empty side.
    """
    found: dict[str, str] = {}
    for entry in entries:
        username, sep, person = entry.partition("=")
        if not sep or not username.strip() or not person.strip():
            raise MapError(f"--map {entry!r}: write opsgenie_username=tocsin_person")
        found[username.strip()] = person.strip()
    return found


def map_file(text: str, name: str) -> dict[str, str]:
    """A ``--people-map`` file: YAML or JSON, ``opsgenie_username: tocsin_person`` entries.

    Raises:
        MapError: naming the file, and the key when one entry is wrong.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise MapError(f"{name}: not YAML or JSON ({err})") from None
    if not isinstance(document, dict):
        raise MapError(f"{name}: write opsgenie_username: tocsin_person entries")
    found: dict[str, str] = {}
    for key, value in document.items():
        if not isinstance(key, str) or not isinstance(value, str) or not value:
            raise MapError(f"{name}: {key}: the value must be a Tocsin person id")
        found[key] = value
    return found


def match_people(
    people: Mapping[str, Person], explicit: Mapping[str, str], source: str = "--map"
) -> dict[str, str]:
    """Opsgenie username (lower-cased) → Tocsin person: by e-mail, then ``explicit`` (wins).

    Raises:
        MapError: ``explicit`` names someone who is not a configured person.
    """
    found = {p.email.lower(): pid for pid, p in people.items() if p.email}
    for username, person in explicit.items():
        if person not in people:
            raise MapError(f"{source}: {username}: unknown Tocsin person {person!r}")
        found[username.lower()] = person
    return found


# -- the comparison ------------------------------------------------------------------------


def compare(
    timeline: OpsgenieTimeline,
    spans: Sequence[ShiftSpan],
    people: Mapping[str, str],
    *,
    rotation: str,
    layer: str,
    start: datetime,
    end: datetime,
    live: bool,
) -> Comparison:
    """Every interval of ``[start, end)`` in which Opsgenie's people and ``layer``'s holder
    in ``spans`` differ; adjacent intervals with the same people and sources are merged.

    Args:
        timeline: the Opsgenie export's final timeline.
        spans: who holds ``layer`` in Tocsin over the range (``all_spans``' for the layer).
        people: Opsgenie username (lower-cased) → Tocsin person (:func:`match_people`).
        rotation: the Tocsin rotation, for the answer.
        layer: the Tocsin layer compared.
        start: beginning of the range (aware).
        end: end of the range (aware).
        live: Tocsin's plan came from the running stack (overrides and swaps seen).
    """
    periods = [p for p in timeline.periods if p.start < end and p.end > start]
    mine = [s for s in spans if s.layer == layer and s.start < end and s.end > start]
    edges = {start, end}
    bounds = [(p.start, p.end) for p in periods] + [(s.start, s.end) for s in mine]
    edges.update(t for pair in bounds for t in pair if start < t < end)
    differences: list[Difference] = []
    for lo, hi in pairwise(sorted(edges)):
        holders = [
            OpsgenieHolder(
                recipient=p.recipient, person=people.get(p.recipient.lower()), type=p.type
            )
            for p in periods
            if p.recipient is not None and p.start <= lo < p.end
        ]
        span = next((s for s in mine if s.start <= lo < s.end), None)
        held = span.person if span is not None else None
        # An unmatched recipient is nobody Tocsin knows, even if it spells a person's id.
        theirs = {(h.person, None if h.person else h.recipient) for h in holders}
        if theirs == ({(held, None)} if held else set()):
            continue
        piece = Difference(
            start=lo,
            end=hi,
            hours=_hours(lo, hi),
            opsgenie=sorted(holders, key=lambda h: h.recipient),
            tocsin=held,
            tocsin_source=span.source if span is not None and held else None,
            tocsin_override_id=span.override_id if span is not None and held else None,
        )
        last = differences[-1] if differences else None
        if last is not None and last.end == lo and _same(last, piece):
            last.end = hi
            last.hours = _hours(last.start, hi)
        else:
            differences.append(piece)
    unmatched = sorted(
        {p.recipient for p in periods if p.recipient and p.recipient.lower() not in people}
    )
    return Comparison(
        rotation=rotation,
        layer=layer,
        start=start,
        end=end,
        live=live,
        opsgenie_rotations=timeline.rotations,
        unmatched=unmatched,
        differences=differences,
        hours_differing=round(sum(d.hours for d in differences), 2),
    )


def _same(one: Difference, other: Difference) -> bool:
    return (one.opsgenie, one.tocsin, one.tocsin_source, one.tocsin_override_id) == (
        other.opsgenie,
        other.tocsin,
        other.tocsin_source,
        other.tocsin_override_id,
    )


def _hours(lo: datetime, hi: datetime) -> float:
    return round((hi - lo).total_seconds() / 3600, 2)


# -- as the terminal shows it --------------------------------------------------------------


def comparison_text(comparison: Comparison, zone: ZoneInfo) -> str:
    """The differences, one line each in the rotation's zone, then the summary."""
    c = comparison
    lines = [
        f"{c.rotation}/{c.layer} against Opsgenie's final timeline "
        f"({', '.join(c.opsgenie_rotations) or 'no rotations'}), "
        f"{_local(c.start, zone)} to {_local(c.end, zone)}"
        + ("" if c.live else " (Tocsin: the config only, no overrides or swaps)")
    ]
    for d in c.differences:
        theirs = " + ".join(_holder(h) for h in d.opsgenie) or "nobody"
        ours = f"{d.tocsin} ({d.tocsin_source})" if d.tocsin else "nobody"
        lines.append(
            f"{_local(d.start, zone)} to {_local(d.end, zone)}  Opsgenie: {theirs}  Tocsin: {ours}"
        )
    lines += [
        f"unmatched Opsgenie recipient: {r} (no Tocsin e-mail, no --map)" for r in c.unmatched
    ]
    count = len(c.differences)
    if count == 0:
        lines.append("no differences")
    else:
        intervals = "1 interval differs" if count == 1 else f"{count} intervals differ"
        lines.append(f"{intervals}: {c.hours_differing:g} hours")
    return "\n".join(lines)


def _holder(h: OpsgenieHolder) -> str:
    if h.person is None:
        return f"{h.recipient} (no Tocsin person, {h.type})"
    return f"{h.person} ({h.recipient}, {h.type})"


def _local(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
