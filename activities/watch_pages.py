"""Pages of watches: a heartbeat that is overdue or an uptime check that fails opens a page
through the same door as any alert (signal-with-start on the watch's page key, so a retry
lands on the page already open), and its recovery resolves that page."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.ports import ConfigSource
from starters.intake import AlertIntake
from workflows.models import Alert, AlertBatch
from workflows.routing import NoRoute, destination, urgencies
from workflows.watch_models import WatchAlert


def watch_alert(alert: WatchAlert) -> Alert:
    """The page's one alert: labelled with the watch (``heartbeat=<name>`` or
    ``check=<name>``) and named by it (``alertname``) for silences and the noise report."""
    labels = {"alertname": alert.name, alert.kind: alert.name}
    if alert.service:
        labels["service"] = alert.service
    if alert.team:
        labels["team"] = alert.team
    return Alert(
        fingerprint=alert.key,
        status="firing" if alert.firing else "resolved",
        summary=alert.summary,
        severity=alert.severity,
        labels=labels,
        annotations={"description": alert.details} if alert.details else {},
    )


class WatchPageActivities:
    """Opens and resolves the pages of heartbeats and uptime checks."""

    def __init__(self, client: Client, config: ConfigSource, task_queue: str) -> None:
        self._intake = AlertIntake(client, config, task_queue)
        self._config = config

    @activity.defn(name="page_watch")
    async def page_watch(self, alert: WatchAlert) -> str:
        """Open or update the watch's page (firing), or resolve it; returns the page id.

        Raises:
            ApplicationError: ``NoDestination`` (not retried): the config has no such
                service or team.
        """
        batch = AlertBatch(source=alert.kind, alerts=[watch_alert(alert)])
        if not alert.firing:
            delivered = await self._intake.signal(alert.key, batch)
            return delivered.page_id
        config = self._config.current()
        try:
            target = destination(
                config,
                service=alert.service,
                team=alert.team,
                severity=alert.severity,
                urgency=alert.urgency,
            )
        except (NoRoute, KeyError) as err:
            raise ApplicationError(
                f"{alert.kind} {alert.name}: no service or team to page ({err})",
                type="NoDestination",
                non_retryable=True,
            ) from None
        batch.summary = alert.summary
        batch.urgencies = None if alert.urgency else urgencies(config, target.service)
        delivered = await self._intake.start(
            config, alert.key, target, alert.summary, alert.severity, batch, details=alert.details
        )
        return delivered.page_id


__all__ = ["WatchPageActivities", "watch_alert"]
