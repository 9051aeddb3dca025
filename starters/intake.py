"""Alert intake: Alertmanager groups and Events-API events become signals to pages.

Deduplication is by workflow id. A firing delivery is a signal-with-start: the first
delivery of a group starts its page, every later one (a new alert, Alertmanager's resend,
a retry racing the original) lands on that same page. A delivery that only resolves or
acknowledges never starts a page: it signals the open one, or is ignored.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from temporalio.client import Client

from activities.ports import ConfigSource
from starters.alertmanager import (
    AmWebhook,
    group_page_key,
    group_summary,
    highest_severity,
    routing_labels,
    to_alerts,
)
from starters.clients.pages import PageWorkflowClient
from starters.errors import PageNotFound
from starters.events import Event, event_page_key, to_alert
from worker.settings import environment
from workflows.config import TocsinConfig
from workflows.envref import MissingVariable, expand
from workflows.models import AlertBatch, PageInput
from workflows.routing import Destination, NoRoute, destination, route, urgencies

log = structlog.get_logger("tocsin.intake")


# How an acknowledgement through intake names its credential (the routing key).
INTEGRATION_KEY = "integration key"


def events_integration(service: str | None, team: str | None) -> str:
    """The Events API integration of a routing key: ``events:payments`` (a service's key)
    or ``events:team:web`` (a team's)."""
    return f"events:{service}" if service else f"events:team:{team}"


class UnknownRoutingKey(LookupError):
    """No service or team has this integration key."""


@dataclass(frozen=True)
class Delivered:
    """Which page a delivery went to; ``ignored`` when it only resolved a page already gone."""

    page_id: str
    ignored: bool = False


class AlertIntake:
    """Turns source payloads into page signals."""

    def __init__(
        self,
        client: Client,
        config: ConfigSource,
        task_queue: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._pages = PageWorkflowClient(client, task_queue)
        self._config = config
        self._environ = environment() if environ is None else environ

    async def alertmanager(self, payload: AmWebhook) -> Delivered:
        """Deliver one Alertmanager group to its page.

        Raises:
            NoRoute: no routes are configured.
        """
        config = self._config.current()
        key = group_page_key(payload.receiver, payload.groupKey)
        alerts = to_alerts(payload)
        batch = AlertBatch(source="alertmanager", alerts=alerts)
        if payload.status == "resolved":
            return await self.signal(key, batch)
        firing = [a.severity for a in alerts if a.status == "firing"]
        severity = highest_severity(firing)
        labels = routing_labels(payload)
        target = route(config, labels, severity)
        batch.urgencies = urgencies(config, target.service)
        note = (
            None
            if target.routed
            else (
                "No route matched labels "
                + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
                + f": sent to the default route ({target.service or target.team})"
            )
        )
        details = payload.externalURL or None
        return await self.start(
            config, key, target, group_summary(payload), severity, batch, note, details
        )

    async def event(self, event: Event) -> tuple[str, Delivered]:
        """Deliver an Events API event; returns the dedup key (generated for a bare trigger).

        Raises:
            UnknownRoutingKey: the routing key belongs to no service or team.
        """
        config = self._config.current()
        service, team = self.owner(config, event.routing_key)
        dedup_key = event.dedup_key or uuid.uuid4().hex
        key = event_page_key(service or f"team:{team}", dedup_key)
        alert = to_alert(event, dedup_key)
        source = f"events:{event.client}" if event.client else "events"
        # The actor of an acknowledgement is the integration whose key sent it, never the
        # event's free-text ``client``; the page checks it is the one that opened it.
        integration = events_integration(service, team)
        if event.event_action == "acknowledge":
            batch = AlertBatch(
                source=source, action="acknowledge", by=integration, via=INTEGRATION_KEY
            )
            return dedup_key, await self.signal(key, batch)
        batch = AlertBatch(source=source, alerts=[alert])
        if event.event_action == "resolve":
            return dedup_key, await self.signal(key, batch)
        # A re-trigger of an open page brings the newest summary, and what its severity means.
        batch.summary = alert.summary
        batch.urgencies = urgencies(config, service)
        target = destination(config, service=service, team=team, severity=alert.severity)
        delivered = await self.start(
            config, key, target, alert.summary, alert.severity, batch, integration=integration
        )
        return dedup_key, delivered

    def config(self) -> TocsinConfig:
        """The config in force."""
        return self._config.current()

    @property
    def pages(self) -> PageWorkflowClient:
        return self._pages

    def owner(self, config: TocsinConfig, routing_key: str) -> tuple[str | None, str | None]:
        candidates: list[tuple[str | None, str | None, str | None]] = [
            (sid, None, s.integration_key) for sid, s in config.services.items()
        ]
        candidates += [(None, tid, t.integration_key) for tid, t in config.teams.items()]
        supplied = routing_key.encode()
        for service, team, configured in candidates:
            if configured is None:
                continue
            try:
                secret = expand(configured, self._environ)
            except MissingVariable as err:
                log.warning("integration key unavailable", owner=service or team, reason=str(err))
                continue
            if hmac.compare_digest(secret.encode(), supplied):
                return service, team
        raise UnknownRoutingKey("unknown routing_key")

    async def signal(self, key: str, batch: AlertBatch) -> Delivered:
        try:
            await self._pages.receive_alerts(key, batch)
        except PageNotFound:
            log.info("nothing open to update", page_id=key, action=batch.action)
            return Delivered(key, ignored=True)
        return Delivered(key)

    async def start(
        self,
        config: TocsinConfig,
        key: str,
        target: Destination,
        summary: str,
        severity: str | None,
        batch: AlertBatch,
        route_note: str | None = None,
        details: str | None = None,
        integration: str | None = None,
    ) -> Delivered:
        page = PageInput(
            key=key,
            team=target.team,
            summary=summary,
            details=details,
            dedup_key=key,
            source=batch.source,
            integration=integration,
            team_members=list(config.teams[target.team].members),
            service=target.service,
            severity=severity,
            urgency=target.urgency,
            policy=target.policy,
            unrouted=not target.routed,
            route_note=route_note,
            flap_window_seconds=config.alerting.flap_window.total_seconds(),
        )
        await self._pages.deliver(page, batch)
        return Delivered(key)


__all__ = ["AlertIntake", "Delivered", "NoRoute", "UnknownRoutingKey"]
