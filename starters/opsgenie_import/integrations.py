"""Opsgenie integrations → ``services`` (and the default route); heartbeats → the report.

A Prometheus (Alertmanager) or API integration becomes a service of its team with an
``integration_key`` read from an environment variable (its senders' ``GenieKey`` at Tocsin's
Opsgenie Alert API, or their Events API ``routing_key``): Tocsin never copies Opsgenie's keys
and writes no secret, so the report says which variable to set and which token to make.
Other integration types, and heartbeats, have no Tocsin counterpart yet: reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starters.opsgenie_import.names import Ids, slug
from starters.opsgenie_import.people import Directory
from starters.opsgenie_import.report import Report, Section
from starters.opsgenie_import.shapes import Heartbeat, Integration

ALERTMANAGER = ("prometheus", "alertmanager")
API = "api"
EMAIL = "email"


@dataclass
class Services:
    services: dict[str, Any] = field(default_factory=dict)
    routes: list[dict[str, Any]] = field(default_factory=list)


def key_variable(sid: str) -> str:
    """The environment variable holding service ``sid``'s integration key."""
    return f"TOCSIN_{sid.upper().replace('-', '_')}_KEY"


def map_integrations(
    integrations: list[Integration], directory: Directory, report: Report
) -> Services:
    """A service per enabled Prometheus or API integration that belongs to a mapped team."""
    ids = Ids()
    result = Services()
    for integration in integrations:
        subject = f"integration {integration.name} ({integration.type})"
        kind = integration.type.lower()
        if not integration.enabled:
            report.add(Section.integrations, subject, "disabled in Opsgenie: not mapped.")
            continue
        if kind == EMAIL:
            report.add(
                Section.integrations,
                subject,
                "Tocsin has no email intake: not mapped.",
                "Have the sender alert through Opsgenie's Alert API at Tocsin, Alertmanager or "
                "the Events API instead.",
            )
            continue
        if kind not in (*ALERTMANAGER, API):
            report.add(
                Section.integrations,
                subject,
                f"Tocsin has no {integration.type} integration: not mapped.",
                "If it can send Opsgenie Alert API requests to a URL of your choice (Grafana's "
                "Opsgenie contact point can) or notify PagerDuty (Events API v2), add it under "
                "`services:` with an `integration_key` (README, *Opsgenie Alert API*, *PagerDuty "
                "Events API v2*).",
            )
            continue
        tid = directory.team(integration.team_id)
        if tid is None:
            report.add(
                Section.integrations,
                subject,
                "it belongs to no team that was mapped, and a Tocsin service needs one: not "
                "mapped.",
                "Add it under `services:` with a `team`.",
            )
            continue
        sid = ids.new(slug(integration.name, fallback="service"))
        variable = key_variable(sid)
        result.services[sid] = {"team": tid, "integration_key": f"${{{variable}}}"}
        todo = (
            f"Set `{variable}` to a new secret (e.g. `openssl rand -hex 32`) where Tocsin runs. "
            "Senders keep speaking Opsgenie's Alert API with Tocsin's URL and this key as their "
            "`GenieKey` (README, *Opsgenie Alert API*), or send it as the Events API "
            "`routing_key`."
        )
        if kind in ALERTMANAGER:
            todo += (
                " Alertmanager's `opsgenie_configs` need only `api_url` and `api_key` changed; "
                "or point its webhook receiver at `/webhooks/alertmanager` with a token of its "
                f"own: `tocsin token create --kind integration --name {sid} --scope "
                "intake:alertmanager` (README, *Alertmanager*)."
            )
            if result.routes:
                todo += f" Add a route matching its alerts' labels to `service: {sid}`."
            else:
                result.routes.append({"default": True, "service": sid})
                todo += (
                    f" Every webhook alert goes to `{sid}` by the default route until `routes:` "
                    "says otherwise."
                )
        report.add(
            Section.integrations,
            subject,
            f"mapped to service `{sid}`; Tocsin does not copy Opsgenie's API keys.",
            todo,
        )
    return result


def map_heartbeats(heartbeats: list[Heartbeat], report: Report) -> None:
    """Every heartbeat, reported: Tocsin has none yet."""
    for heartbeat in heartbeats:
        owner = heartbeat.owner_team.name if heartbeat.owner_team else None
        details = f"a ping every {heartbeat.interval} {heartbeat.interval_unit}"
        details += f", team {owner}" if owner else ""
        details += "" if heartbeat.enabled else ", disabled"
        report.add(
            Section.heartbeats,
            f"heartbeat {heartbeat.name}",
            f"{details}: heartbeats are not supported yet, not mapped.",
        )
