"""Routing rules: which team, service, policy and urgency an alert's page gets."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.config import TocsinConfig
from workflows.services import DEFAULT_URGENCY, Urgency


class NoRoute(ValueError):
    """The config has no route (and no default route) for these labels."""


@dataclass(frozen=True)
class Destination:
    """Where an alert's page goes. ``routed`` is false when only the default route took it."""

    team: str
    service: str | None
    policy: str
    urgency: Urgency
    routed: bool = True


def urgency_for(config: TocsinConfig, service: str | None, severity: str | None) -> Urgency:
    """The service's mapping, then the default mapping; an unknown severity pages (high)."""
    key = (severity or "").lower()
    if service is not None and key in config.services[service].urgency:
        return config.services[service].urgency[key]
    return DEFAULT_URGENCY.get(key, "high")


def urgencies(config: TocsinConfig, service: str | None) -> dict[str, Urgency]:
    """Every severity the config names (lower case) → its urgency for ``service``, as
    :func:`urgency_for` decides; a severity not in it is high."""
    named = set(DEFAULT_URGENCY)
    if service is not None:
        named |= {k.lower() for k in config.services[service].urgency}
    return {severity: urgency_for(config, service, severity) for severity in sorted(named)}


def destination(
    config: TocsinConfig,
    *,
    service: str | None = None,
    team: str | None = None,
    severity: str | None = None,
    routed: bool = True,
    urgency: Urgency | None = None,
) -> Destination:
    """Team, policy and urgency for a page of ``service`` (or straight to ``team``); the
    urgency is ``urgency`` when given, else the severity's for the service."""
    spec = config.services[service] if service is not None else None
    owner = spec.team if spec is not None else team
    if owner is None:
        raise NoRoute("a destination needs a service or a team")
    urgency = urgency or urgency_for(config, service, severity)
    team_spec = config.teams[owner]
    high = (spec.escalation_policy if spec else None) or team_spec.escalation_policy
    low = (spec.low_urgency_policy if spec else None) or team_spec.low_urgency_policy
    policy = (low or high) if urgency == "low" else high
    return Destination(owner, service, policy, urgency, routed)


def route(config: TocsinConfig, labels: dict[str, str], severity: str | None = None) -> Destination:
    """First route whose conditions hold for ``labels``; else the default route.

    Raises:
        NoRoute: the config has no routes.
    """
    for rule in config.routes:
        if rule.default or rule.matches(labels):
            return destination(
                config,
                service=rule.service,
                team=rule.team,
                severity=severity,
                routed=not rule.default,
            )
    raise NoRoute("no routes are configured: add a `routes:` list with a default route")
