"""CheckWorkflow: one uptime check, probed every interval for as long as it is configured.

One workflow per configured check (``check-<name>``), started, changed and retired with
the config by the worker (``worker/checks.py``). Each round it runs the probe activity
(``probe_check``: the request, its status, latency and certificate, the result kept in the
SQL store), counts consecutive failures, opens the check's page after
``failures_before_paging`` of them (with the last responses) and resolves it at the first
success after. A certificate expiring within ``certificate_warning_days`` opens a page of
its own (low urgency) that resolves once the certificate is renewed.

Why a workflow loop, not a Temporal Schedule: the consecutive-failure count, the last
responses and the pages open are state between probes. In a loop they are the workflow's
own variables (carried across continue-as-new); a Schedule starts an unrelated workflow per
probe, so that state would need a second, long-lived workflow or the database to live in,
and every probe would cost a workflow start. The loop's durable timer gives the same
"runs while workers restart" guarantee, its signals take config changes without a
schedule update, and the time-skipping test server (which does not implement the Schedule
API) can run it, so the paging rules are tested in milliseconds.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows import search
from workflows.check_models import (
    RECENT,
    Check,
    CheckCarry,
    CheckInput,
    CheckState,
    CheckStatus,
    ProbeRequest,
    ProbeResult,
)
from workflows.watch_calls import page_watch
from workflows.watch_models import WatchAlert

# By name: the activity (activities.uptime) imports httpx, which the sandbox must not load.
PROBE_CHECK = "probe_check"
# The probe bounds its own request by the check's timeout; this is room for the store.
PROBE_MARGIN = timedelta(seconds=30)
# A round is about ten events: continue as new well before the history grows long.
MAX_ROUNDS = 500


@workflow.defn
class CheckWorkflow:
    """One uptime check: its probes, its failures, its pages."""

    @workflow.init
    def __init__(self, check: CheckInput) -> None:
        self._name = check.name
        self._spec = check.spec
        carry = check.carry
        self._failures = carry.failures
        self._recent = list(carry.recent)
        self._down_page = carry.down_page
        self._certificate_page = carry.certificate_page
        self._retired = False
        self._changed = False

    @workflow.run
    async def run(self, check: CheckInput) -> CheckState:
        self._publish()
        rounds = 0
        while not self._retired:
            await self._round()
            rounds += 1
            if rounds >= MAX_ROUNDS or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    CheckInput(name=self._name, spec=self._spec, carry=self._carry())
                )
            self._changed = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._retired or self._changed,
                    timeout=self._spec.interval,
                    timeout_summary="next probe",
                )
        await self._retire_pages()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    async def _round(self) -> None:
        """Probe once; page or resolve as the result says."""
        try:
            result: ProbeResult = await workflow.execute_activity(
                PROBE_CHECK,
                ProbeRequest(check=self._name, spec=self._spec),
                result_type=ProbeResult,
                start_to_close_timeout=self._spec.timeout + PROBE_MARGIN,
                # A failed request is a result, not an error; the activity itself failing
                # (a worker lost mid-probe) skips this round rather than counting as down.
                retry_policy=RetryPolicy(maximum_attempts=1),
                summary=f"probe {self._name}",
            )
        except ActivityError as err:
            workflow.logger.warning("check %s: probe did not run: %s", self._name, err)
            return
        self._recent = [*self._recent, result][-RECENT:]
        if result.ok:
            self._failures = 0
            if self._down_page is not None:
                await page_watch(self._alert(False, f"{self._name} is up again"))
                self._down_page = None
        else:
            self._failures += 1
            wanted = self._spec.failures_before_paging
            if self._failures >= wanted and self._down_page is None:
                summary = f"{self._name} is down: {result.error}"
                self._down_page = await page_watch(
                    self._alert(True, summary, details=self._details(wanted))
                )
        await self._certificate(result)
        self._publish()

    async def _certificate(self, result: ProbeResult) -> None:
        """Open the certificate's page when it expires within the warning days; resolve it
        when a probe sees a certificate that does not (renewed) or the warning is off."""
        days = self._spec.certificate_warning_days
        expires = result.certificate_expires
        if expires is None and days > 0:
            return  # no certificate seen this time (http, or the connection failed)
        expiring = expires is not None and expires - workflow.now() < timedelta(days=days)
        if days > 0 and expiring and self._certificate_page is None and expires is not None:
            left = max(round((expires - workflow.now()) / timedelta(days=1)), 0)
            self._certificate_page = await page_watch(
                self._certificate_alert(
                    True,
                    f"{self._name}: TLS certificate expires {expires:%Y-%m-%d %H:%M}Z "
                    f"(in {left} days)",
                )
            )
        elif self._certificate_page is not None and not (days > 0 and expiring):
            await page_watch(
                self._certificate_alert(False, f"{self._name}: TLS certificate renewed")
            )
            self._certificate_page = None

    async def _retire_pages(self) -> None:
        """The check left the config: nothing will resolve its pages any more."""
        if self._down_page is not None:
            await page_watch(self._alert(False, f"{self._name}: check removed from the config"))
            self._down_page = None
        if self._certificate_page is not None:
            await page_watch(
                self._certificate_alert(False, f"{self._name}: check removed from the config")
            )
            self._certificate_page = None

    def _alert(self, firing: bool, summary: str, details: str | None = None) -> WatchAlert:
        spec = self._spec
        return WatchAlert(
            kind="check",
            name=self._name,
            firing=firing,
            summary=summary[:1024],
            details=details,
            service=spec.service,
            team=spec.team,
            urgency=spec.urgency,
        )

    def _certificate_alert(self, firing: bool, summary: str) -> WatchAlert:
        spec = self._spec
        return WatchAlert(
            kind="check",
            name=f"{self._name}-certificate",
            firing=firing,
            summary=summary,
            details=f"{spec.url}: renew the certificate before it expires",
            service=spec.service,
            team=spec.team,
            urgency="low",
            severity="warning",
        )

    def _details(self, count: int) -> str:
        """The last ``count`` responses, oldest first, under the request."""
        spec = self._spec
        lines = [f"{spec.method} {spec.url}", f"last {count} responses:"]
        lines += [r.line() for r in self._recent[-count:]]
        return "\n".join(lines)[:16_000]

    def _carry(self) -> CheckCarry:
        return CheckCarry(
            failures=self._failures,
            recent=self._recent,
            down_page=self._down_page,
            certificate_page=self._certificate_page,
        )

    # -- messages -----------------------------------------------------------------------

    @workflow.signal
    def config_changed(self, spec: Check) -> None:
        """The check as configured now: used from the next probe (which comes at once)."""
        if spec != self._spec:
            self._spec = spec
            self._changed = True

    @workflow.signal
    def retire(self) -> None:
        """The check left the config: resolve its pages and finish."""
        self._retired = True

    @workflow.query
    def get_state(self) -> CheckState:
        """Status, consecutive failures, the last responses and the pages open."""
        return CheckState(
            name=self._name,
            spec=self._spec,
            status=self._status(),
            failures=self._failures,
            recent=self._recent,
            down_page=self._down_page,
            certificate_page=self._certificate_page,
            retired=self._retired,
        )

    def _status(self) -> CheckStatus:
        if self._down_page is not None:
            return "down"
        if self._failures:
            return "failing"
        return "up" if self._recent else "unknown"

    def _publish(self) -> None:
        """The Web UI: filterable status, and the last response in the details."""
        workflow.upsert_search_attributes([search.STATUS.value_set(self._status())])
        last = self._recent[-1].line() if self._recent else "no probe yet"
        workflow.set_current_details(
            f"**{self._name}** · {self._spec.method} {self._spec.url} · {self._status()}\n{last}"
        )


__all__ = ["PROBE_CHECK", "CheckWorkflow"]
