"""Opsgenie alert requests become page signals, with the outcome each request's status
reports.

The GenieKey is a service's or team's ``integration_key`` (the same key the Events API
takes as ``routing_key``): it decides where the page goes and is the actor of every
acknowledgement, close and note. The alert's ``alias`` is its dedup key, so an alias and a
PagerDuty ``dedup_key`` of the same service name the same page. An alert is named by
``alias``, or by ``id``/``tiny``: Tocsin's page id (pages have one id, so ``tiny`` takes it
too); a page another integration opened is, to this key, an alert that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from starters.errors import PageNotFound
from starters.events import event_page_key
from starters.intake import INTEGRATION_KEY, AlertIntake, events_integration
from starters.opsgenie import (
    Action,
    AlertAction,
    CreateAlert,
    IdentifierType,
    RequestStatus,
    said_by,
    to_alert,
)
from workflows.models import Alert, AlertBatch
from workflows.routing import destination, urgencies

SOURCE = "opsgenie"
DOES_NOT_EXIST = "Alert does not exist"


@dataclass(frozen=True)
class Integration:
    """Whose GenieKey sent the request."""

    service: str | None
    team: str | None

    @property
    def name(self) -> str:
        """The actor of its requests (``events:payments``), as for the Events API."""
        return events_integration(self.service, self.team)

    @property
    def owner(self) -> str:
        return self.service or f"team:{self.team}"


class OpsgenieIntake:
    """Creates, acknowledges, closes and annotates pages as Opsgenie's alert API would."""

    def __init__(self, intake: AlertIntake) -> None:
        self._intake = intake

    def integration(self, genie_key: str) -> Integration:
        """The service or team whose integration key ``genie_key`` is.

        Raises:
            UnknownRoutingKey: no service or team has it.
        """
        service, team = self._intake.owner(self._intake.config(), genie_key)
        return Integration(service, team)

    async def create(self, sender: Integration, create: CreateAlert) -> RequestStatus:
        """Open the alias's page, or bring the newest message and priority to the open one."""
        config = self._intake.config()
        alias = create.alias or uuid.uuid4().hex
        key = event_page_key(sender.owner, alias)
        received = datetime.now(UTC)
        alert = to_alert(create, alias, received)
        note = said_by(create.note, create.user)
        batch = AlertBatch(
            source=_source(create.source),
            alerts=[alert],
            summary=alert.summary,
            urgencies=urgencies(config, sender.service),
            by=sender.name,
            via=INTEGRATION_KEY,
            note=note,
        )
        target = destination(
            config, service=sender.service, team=sender.team, severity=alert.severity
        )
        details = "\n\n".join(t for t in (create.description, note and f"Note: {note}") if t)
        await self._intake.start(
            config,
            key,
            target,
            alert.summary,
            alert.severity,
            batch,
            details=details or None,
            integration=sender.name,
        )
        return _outcome("Create", sender, key, alias, ok=True, status="Created alert")

    async def act(
        self,
        sender: Integration,
        action: Action,
        identifier: str,
        kind: IdentifierType,
        body: AlertAction,
    ) -> RequestStatus:
        """Acknowledge, close or annotate the alert ``identifier`` names."""
        found = await self._find(sender, identifier, kind)
        alias = identifier if kind == "alias" else ""
        if found is None:
            key = identifier if kind != "alias" else ""
            return _outcome(action, sender, key, alias, ok=False, status=DOES_NOT_EXIST)
        key, firing = found
        note = said_by(body.note, body.user)
        source = _source(body.source)
        if action == "Acknowledge":
            batch = AlertBatch(
                source=source, action="acknowledge", by=sender.name, via=INTEGRATION_KEY, note=note
            )
            status = "Acknowledged alert"
        elif action == "Close":
            resolved = [Alert(fingerprint=f, status="resolved", summary=f) for f in firing]
            batch = AlertBatch(
                source=source, alerts=resolved, by=sender.name, via=INTEGRATION_KEY, note=note
            )
            status = "Closed alert"
        else:
            batch = AlertBatch(
                source=source, action="note", by=sender.name, via=INTEGRATION_KEY, note=note
            )
            status = "Added note"
        delivered = await self._intake.signal(key, batch)
        if delivered.ignored:
            return _outcome(action, sender, key, alias, ok=False, status=DOES_NOT_EXIST)
        return _outcome(action, sender, key, alias, ok=True, status=status)

    async def _find(
        self, sender: Integration, identifier: str, kind: IdentifierType
    ) -> tuple[str, list[str]] | None:
        """The page ``identifier`` names for ``sender`` and the fingerprints of its firing
        alerts (for an alias: the alias itself), or None."""
        if kind == "alias":
            return event_page_key(sender.owner, identifier), [identifier]
        try:
            state = await self._intake.pages.get_state(identifier)
        except PageNotFound:
            return None
        if state.integration != sender.name:
            return None
        return state.id, [a.fingerprint for a in state.alerts if a.status == "firing"]


def _source(source: str | None) -> str:
    return f"{SOURCE}:{source}" if source else SOURCE


def _outcome(
    action: Action, sender: Integration, alert_id: str, alias: str, *, ok: bool, status: str
) -> RequestStatus:
    return RequestStatus(
        success=True,
        action=action,
        processedAt=datetime.now(UTC),
        integrationId=sender.name,
        isSuccess=ok,
        status=status,
        alertId=alert_id,
        alias=alias,
    )
