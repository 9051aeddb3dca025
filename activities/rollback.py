"""The rollback activity: look up the service's rollback and hand it to the right runner."""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import AdapterError, to_application_error
from activities.ports import ConfigSource, RollbackRunner
from workflows.models import RollbackRequest, RollbackResult


class RollbackActivities:
    """Runs a service's configured rollback with the runner for its kind."""

    def __init__(self, config: ConfigSource, runners: Mapping[str, RollbackRunner]) -> None:
        self._config = config
        self._runners = runners

    @activity.defn(name="run_rollback")
    async def run_rollback(self, request: RollbackRequest) -> RollbackResult:
        """Roll ``request.service`` back as the current configuration says.

        Returns:
            ``ok=False`` when the service is unknown, has no rollback, or the rollback ran
            and failed (non-zero exit, refused dispatch, 4xx from the webhook).

        Raises:
            ApplicationError: ``Unavailable``/``RateLimited`` are retried; ``NotConfigured``
                and ``Rejected`` are not.
        """
        service = self._config.current().services.get(request.service)
        if service is None:
            return RollbackResult(
                ok=False, runner="none", summary=f"unknown service {request.service!r}"
            )
        spec = service.rollback
        if spec is None:
            return RollbackResult(
                ok=False,
                runner="none",
                summary=f"no rollback is configured for service {request.service!r}",
            )
        runner = self._runners.get(spec.kind)
        if runner is None:
            raise ApplicationError(
                f"{spec.kind} rollbacks are not configured",
                type="NotConfigured",
                non_retryable=True,
            )
        activity.logger.info(
            "rollback of %s for %s by %s (%s)",
            request.service,
            request.incident_id,
            request.by,
            spec.kind,
        )
        try:
            return await runner.run(spec, request)
        except AdapterError as err:
            raise to_application_error(err) from err
