"""The Alertmanager webhook (v4) payload, and how one group becomes one page's alerts."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from starters.wire import WireTime
from workflows.models import Alert
from workflows.page_alerts import most_severe


class AmAlert(BaseModel):
    """One alert of a group, as Alertmanager sends it."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: WireTime
    endsAt: WireTime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)


class AmWebhook(BaseModel):
    """The whole body of an Alertmanager webhook delivery (``version: "4"``)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=4096)
    truncatedAlerts: StrictInt = 0
    status: Literal["firing", "resolved"]
    receiver: str = Field(min_length=1, max_length=256)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AmAlert] = Field(min_length=1)


def group_page_key(receiver: str, group_key: str) -> str:
    """One page per Alertmanager group: the key is derived from the receiver and group key."""
    digest = hashlib.sha256(f"{receiver}\x00{group_key}".encode()).hexdigest()
    return f"am-{digest[:20]}"


def alert_summary(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """``summary`` annotation, else ``<alertname> on <instance>``, else the alert name."""
    if annotations.get("summary"):
        return annotations["summary"][:500]
    name = labels.get("alertname", "alert")
    where = labels.get("instance") or labels.get("service") or labels.get("job")
    return f"{name} on {where}" if where else name


def group_summary(payload: AmWebhook) -> str:
    """One line for the whole group, e.g. ``DiskFull on gitserver-0`` or ``DiskFull (2 alerts)``."""
    if len(payload.alerts) == 1:
        return alert_summary(payload.alerts[0].labels, payload.alerts[0].annotations)
    if payload.commonAnnotations.get("summary"):
        return payload.commonAnnotations["summary"][:500]
    labels = payload.groupLabels or payload.commonLabels
    name = labels.get("alertname", "alerts")
    rest = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
    return f"{name} ({rest})" if rest else name


def highest_severity(severities: list[str | None]) -> str | None:
    """The most severe of the known severities; an unknown one ranks below them."""
    return most_severe(severities)


def to_alerts(payload: AmWebhook) -> list[Alert]:
    """Tocsin alerts from the payload. Alertmanager's zero time (0001-01-01) means no end."""
    alerts = []
    for am in payload.alerts:
        ends = am.endsAt if am.endsAt and am.endsAt.year > 1 else None
        alerts.append(
            Alert(
                fingerprint=am.fingerprint,
                status=am.status,
                summary=alert_summary(am.labels, am.annotations),
                severity=am.labels.get("severity"),
                labels=am.labels,
                annotations=am.annotations,
                starts_at=am.startsAt,
                ends_at=ends,
                source_url=am.generatorURL or None,
            )
        )
    return alerts


def routing_labels(payload: AmWebhook) -> dict[str, str]:
    """Labels that route the group: shared by every alert (common labels, group labels)."""
    return {**payload.commonLabels, **payload.groupLabels}
