"""Incident log activities: record an incident's row through the ``Store`` port."""

from __future__ import annotations

from temporalio import activity

from activities.errors import AdapterError, to_application_error
from activities.ports import Store
from workflows.incident_models import IncidentRecord


class StoreActivities:
    """Writes the incident log, which outlives Temporal's history retention."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn(name="record_incident")
    async def record_incident(self, record: IncidentRecord) -> None:
        """Upsert the incident's row (idempotent; a record older than the row is ignored).

        Raises:
            ApplicationError: ``Unavailable`` (retryable) when the database cannot be
                reached; ``Rejected`` (not retryable) when it refuses the values.
        """
        try:
            await self._store.upsert_incident(record)
        except AdapterError as err:
            raise to_application_error(err) from err
