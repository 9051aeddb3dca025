"""CheckWorkflow on the time-skipping server: an uptime check pages after N consecutive
failures (not N-1), its recovery resolves the page, and a certificate near expiry opens a
low-urgency page of its own. The probe and the page are fakes registered under the real
activities' names."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from starters.clients.checks import CheckWorkflowClient, check_workflow_id
from worker.build import workflow_runner
from workflows.check_models import Check, CheckState, ProbeRequest, ProbeResult
from workflows.uptime_check import CheckWorkflow
from workflows.watch_models import WatchAlert


@dataclass
class Site:
    """What the fake probe finds: up or ``error``; a certificate expiring ``expires_in``."""

    error: str | None = None
    expires_in: timedelta | None = None
    probes: int = 0
    pages: list[WatchAlert] = field(default_factory=list)

    @activity.defn(name="probe_check")
    async def probe_check(self, request: ProbeRequest) -> ProbeResult:
        self.probes += 1
        at = activity.info().current_attempt_scheduled_time
        return ProbeResult(
            check=request.check,
            at=at,
            ok=self.error is None,
            status=200 if self.error is None else 503,
            latency_ms=42.0,
            error=self.error,
            certificate_expires=None if self.expires_in is None else at + self.expires_in,
        )

    @activity.defn(name="page_watch")
    async def page_watch(self, alert: WatchAlert) -> str:
        self.pages.append(alert)
        return f"{alert.key}-1"


def spec(**fields: object) -> Check:
    defaults: dict[str, object] = {
        "url": "https://api.example.com/health",
        "service": "api",
        "interval": "1m",
        "failures_before_paging": 3,
    }
    return Check.model_validate({**defaults, **fields})


@asynccontextmanager
async def check_desk(
    env: WorkflowEnvironment, site: Site, check: Check
) -> AsyncIterator[WorkflowHandle[CheckWorkflow, CheckState]]:
    """A worker with the fakes, and the check ``api`` started through its client."""
    task_queue = f"check-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[CheckWorkflow],
        activities=[site.probe_check, site.page_watch],
        workflow_runner=workflow_runner(),
    ):
        name = f"api-{uuid.uuid4().hex[:6]}"
        await CheckWorkflowClient(env.client, task_queue).sync(name, check)
        handle = env.client.get_workflow_handle_for(CheckWorkflow.run, check_workflow_id(name))
        try:
            yield handle
        finally:
            # A workflow left running with no worker would hold the shared server's clock.
            with contextlib.suppress(RPCError):
                await handle.terminate("test finished")


async def record_check_history(env: WorkflowEnvironment) -> WorkflowHistory:
    """A check that goes down (3 failures: paged), comes back (resolved), sees its
    certificate near expiry (low page), then is retired: its whole history."""
    site = Site(error="status 503 (expected 200-399)")
    async with check_desk(env, site, spec()) as check:
        await env.sleep(timedelta(minutes=2, seconds=30))
        site.error = None
        site.expires_in = timedelta(days=3)
        await env.sleep(timedelta(minutes=1))
        await check.signal(CheckWorkflow.retire)
        await check.result()
        assert [p.firing for p in site.pages] == [True, False, True, False]
        return await check.fetch_history()


class TestDown:
    """Consecutive failures page; the first success after resolves the page."""

    async def test_pages_after_n_failures_and_resolves_on_recovery(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        env = time_skipping_env
        site = Site(error="status 503 (expected 200-399)")
        async with check_desk(env, site, spec()) as check:
            await env.sleep(timedelta(minutes=1, seconds=30))  # probes at 0s and 60s
            state = await check.query(CheckWorkflow.get_state)
            assert state.failures == 2
            assert state.status == "failing"
            assert site.pages == []

            await env.sleep(timedelta(minutes=1))  # the third failure
            [page] = site.pages
            assert page.firing
            assert page.kind == "check"
            assert page.service == "api"
            assert page.summary == f"{state.name} is down: status 503 (expected 200-399)"
            assert page.details is not None
            lines = page.details.splitlines()
            assert lines[0] == "GET https://api.example.com/health"
            assert len([line for line in lines if "503" in line]) == 3
            assert (await check.query(CheckWorkflow.get_state)).status == "down"

            await env.sleep(timedelta(minutes=2))  # still down: no second page
            assert len(site.pages) == 1

            site.error = None
            await env.sleep(timedelta(minutes=1))
            resolved = site.pages[-1]
            assert len(site.pages) == 2
            assert not resolved.firing
            assert resolved.name == state.name
            state = await check.query(CheckWorkflow.get_state)
            assert state.status == "up"
            assert state.failures == 0
            assert state.down_page is None

    async def test_a_success_between_failures_starts_the_count_again(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        env = time_skipping_env
        site = Site(error="connection refused")
        async with check_desk(env, site, spec()) as check:
            await env.sleep(timedelta(minutes=1, seconds=30))  # 2 failures
            site.error = None
            await env.sleep(timedelta(minutes=1))  # a success
            site.error = "connection refused"
            await env.sleep(timedelta(minutes=2))  # 2 failures again
            assert site.pages == []
            await env.sleep(timedelta(minutes=1))
            assert [p.firing for p in site.pages] == [True]
            await check.signal(CheckWorkflow.retire)
            final = await check.result()
        # Retired while down: its page is resolved, nothing would resolve it later.
        assert [p.firing for p in site.pages] == [True, False]
        assert final.retired


class TestCertificate:
    """A certificate expiring within the warning days opens a low-urgency page."""

    async def test_expiring_certificate_pages_low_and_renewal_resolves(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        env = time_skipping_env
        site = Site(expires_in=timedelta(days=5))
        async with check_desk(env, site, spec(certificate_warning_days=14)) as check:
            await env.sleep(timedelta(seconds=30))
            [page] = site.pages
            name = (await check.query(CheckWorkflow.get_state)).name
            assert page.firing
            assert page.urgency == "low"
            assert page.name == f"{name}-certificate"
            assert page.key == f"check-{name}-certificate"
            assert "TLS certificate expires" in page.summary
            assert "(in 5 days)" in page.summary

            await env.sleep(timedelta(minutes=2))
            assert len(site.pages) == 1  # one page while it stays near expiry

            site.expires_in = timedelta(days=90)
            await env.sleep(timedelta(minutes=1))
            assert [(p.name, p.firing) for p in site.pages] == [
                (f"{name}-certificate", True),
                (f"{name}-certificate", False),
            ]

    async def test_far_expiry_or_warning_off_pages_nobody(
        self, time_skipping_env: WorkflowEnvironment
    ) -> None:
        env = time_skipping_env
        site = Site(expires_in=timedelta(days=5))
        async with check_desk(env, site, spec(certificate_warning_days=0)):
            await env.sleep(timedelta(minutes=1, seconds=30))
        assert site.probes >= 2
        assert site.pages == []
