"""Store activities: the incident log's rows and the archive of long-lived workflows'
timelines and alerts, through the ``Store`` port."""

from __future__ import annotations

from temporalio import activity

from activities.errors import AdapterError, to_application_error
from activities.ports import Store
from workflows.archive_models import AlertSpill, TimelineSpill
from workflows.incident_models import IncidentRecord


class StoreActivities:
    """Writes the incident log and the archive, which outlive Temporal's history retention.

    Raises (every activity):
        ApplicationError: ``Unavailable`` (retryable) when the database cannot be reached;
            ``Rejected`` (not retryable) when it refuses the values.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn(name="record_incident")
    async def record_incident(self, record: IncidentRecord) -> None:
        """Upsert the incident's row (idempotent; a record older than the row is ignored)."""
        try:
            await self._store.upsert_incident(record)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="archive_timeline")
    async def archive_timeline(self, spill: TimelineSpill) -> None:
        """Archive timeline entries a workflow no longer holds (idempotent: an entry is
        keyed by its subject and sequence number, and written once)."""
        try:
            await self._store.archive_timeline(spill)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="archive_alerts")
    async def archive_alerts(self, spill: AlertSpill) -> None:
        """Archive alerts a page no longer holds (idempotent, like ``archive_timeline``)."""
        try:
            await self._store.archive_alerts(spill)
        except AdapterError as err:
            raise to_application_error(err) from err
