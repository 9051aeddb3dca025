"""A page's alerts: merging what a source sends by fingerprint, and what that means for the
page (resolve when none fires, reopen when one fires again).

Pure functions of the page contract; :class:`~workflows.page.PageWorkflow` applies them.
"""

from __future__ import annotations

from typing import Literal

from workflows.models import Alert, PageState, PageStatus
from workflows.page_views import alert_listing

# Most severe first; a severity not listed ranks below all of these.
SEVERITY_ORDER = ("critical", "error", "high", "warning", "low", "info")
_UNRANKED = len(SEVERITY_ORDER)


def severity_rank(severity: str) -> int:
    """0 for the most severe; unknown severities rank below the known ones."""
    lowered = severity.lower()
    return SEVERITY_ORDER.index(lowered) if lowered in SEVERITY_ORDER else _UNRANKED


def most_severe(severities: list[str | None]) -> str | None:
    """The most severe of ``severities`` (lower case), or None when none is given."""
    known = [s.lower() for s in severities if s]
    return min(known, key=severity_rank) if known else None


def page_severity(current: str | None, alerts: list[Alert], batch: list[Alert]) -> str | None:
    """The page's severity after ``batch`` merged into ``alerts``: the most severe of its
    firing alerts (``current`` when none fires, or none of them has a severity).

    Only looks through every alert when the batch may have lowered it (an alert resolved,
    or one fires less severely than ``current``, or without a severity): in a storm of
    alerts of one severity a delivery costs what it carries, not what the page holds.
    """
    incoming = [a.severity for a in batch if a.status == "firing"]
    lowered = current is not None and (
        any(a.status == "resolved" for a in batch)
        or any(s is None or severity_rank(s) > severity_rank(current) for s in incoming)
    )
    if lowered:
        found = most_severe([a.severity for a in alerts if a.status == "firing"])
    else:
        # No firing alert had a severity above ``current``: the batch can only raise it.
        found = most_severe([current, *incoming])
    return found or current


def merge_alerts(
    known: list[Alert], incoming: list[Alert], index: dict[str, int] | None = None
) -> tuple[list[Alert], list[Alert]]:
    """Merge ``incoming`` into ``known`` by fingerprint, in place.

    ``index`` (fingerprint → position in ``known``) is kept up to date when given, so a
    page with thousands of alerts does not rebuild it for every delivery.

    Returns:
        The alerts that joined (new, or firing again) and those that resolved.
    """
    if index is None:
        index = alert_index(known)
    joined: list[Alert] = []
    resolved: list[Alert] = []
    for alert in incoming:
        at = index.get(alert.fingerprint)
        before = known[at].status if at is not None else None
        if at is None:
            index[alert.fingerprint] = len(known)
            known.append(alert)
        else:
            known[at] = alert
        if alert.status == "firing" and before != "firing":
            joined.append(alert)
        elif alert.status == "resolved" and before == "firing":
            resolved.append(alert)
    return joined, resolved


def alert_index(alerts: list[Alert]) -> dict[str, int]:
    """Fingerprint → position, for :func:`merge_alerts` (rebuilt when a page continues)."""
    return {a.fingerprint: i for i, a in enumerate(alerts)}


def alert_notes(joined: list[Alert], resolved: list[Alert], firing: int) -> list[str]:
    """The timeline's lines for a delivery: what joined, what resolved, how many fire now."""
    notes: list[str] = []
    if joined:
        notes.append(f"{alert_listing(joined)} firing ({firing} firing)")
    if resolved:
        notes.append(f"{alert_listing(resolved)} resolved ({firing} firing)")
    return notes


def alert_verdict(state: PageState, firing: int) -> Literal["resolve", "reopen"] | None:
    """What the alerts now say of the page: resolve it when it has alerts and none fires
    (alerts archived count: only resolved ones are), reopen it when one fires again."""
    has_alerts = bool(state.alerts) or state.alerts_archived > 0
    if state.status != PageStatus.resolved and firing == 0 and has_alerts:
        return "resolve"
    if state.status == PageStatus.resolved and firing:
        return "reopen"
    return None
