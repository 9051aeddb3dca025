"""The raw Temporal chain ``bench/escalation_lateness.py`` measures Tocsin's escalation against.

One workflow per chain, the shape of a page's escalation with nothing of Tocsin in it:
wait for an acknowledgement until the chain's due instant (``workflow.wait_condition`` with
a timeout, a durable timer), then one trivial activity (as resolving a policy step; a local
activity with ``local_resolve``), then one activity that POSTs the notification to the
bench's receiver. Plain SDK, pydantic
models through the pydantic data converter.

A module of its own, kept small: the workflow sandbox re-imports a workflow's module for
every run it starts, so the baseline must not carry the bench script along.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import httpx

# The same timeouts and retries as a page's resolve_step and notify.
RESOLVE_TIMEOUT = timedelta(seconds=10)
RESOLVE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
NOTIFY_TIMEOUT = timedelta(seconds=30)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
)


class ChainInput(BaseModel):
    """One chain: its id (shown in the notification), when it escalates, where step 2 posts."""

    chain_id: str
    due: datetime
    url: str
    # Resolve with a local activity, within the workflow task the timer causes.
    local_resolve: bool = False


class Recipient(BaseModel):
    """Who the escalation step reaches, and at which URL."""

    person: str
    url: str


class Notification(BaseModel):
    """One notification to POST."""

    chain_id: str
    person: str
    url: str
    step: int


@activity.defn(name="raw_resolve")
async def resolve(chain: ChainInput) -> Recipient:
    """The step's recipient: a constant, as cheap as an activity gets."""
    return Recipient(person="second", url=chain.url)


class Poster:
    """POSTs notifications with one shared HTTP client (connections kept alive)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @activity.defn(name="raw_notify")
    async def notify(self, note: Notification) -> None:
        """One JSON POST carrying ``Page:`` and ``Step:`` lines, like a page notification."""
        message = f"Page: {note.chain_id}\nStep: {note.step} of 2\nTo: {note.person}"
        response = await self._http.post(note.url, json={"title": "raw", "message": message})
        response.raise_for_status()


@workflow.defn(name="BenchRawChain")
class RawChainWorkflow:
    """Wait for an ack until due; unacknowledged, resolve the next step and notify it."""

    def __init__(self) -> None:
        self._acknowledged = False

    @workflow.run
    async def run(self, chain: ChainInput) -> None:
        remaining = chain.due - workflow.now()
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):  # the escalation trigger
                await workflow.wait_condition(lambda: self._acknowledged, timeout=remaining)
        if self._acknowledged:
            return
        if chain.local_resolve:
            recipient = await workflow.execute_local_activity(
                resolve, chain, start_to_close_timeout=RESOLVE_TIMEOUT, retry_policy=RESOLVE_RETRY
            )
        else:
            recipient = await workflow.execute_activity(
                resolve, chain, start_to_close_timeout=RESOLVE_TIMEOUT, retry_policy=RESOLVE_RETRY
            )
        await workflow.execute_activity_method(
            Poster.notify,
            Notification(
                chain_id=chain.chain_id, person=recipient.person, url=recipient.url, step=2
            ),
            start_to_close_timeout=NOTIFY_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
        )

    @workflow.signal
    def acknowledge(self) -> None:
        """Stops the escalation, as acknowledging a page does."""
        self._acknowledged = True
