"""HeartbeatWorkflow: one heartbeat, waiting for its pings for as long as it is configured.

One workflow per configured heartbeat (``heartbeat-<name>``), started, changed and retired
with the config by the worker (``worker/heartbeats.py``). A ping is a signal; its time is
the workflow's own (``workflow.now()``), never the sender's clock. A durable timer waits
until ``interval + grace`` after the last ping (or the heartbeat's start); when it fires
with no ping, the heartbeat is overdue and opens its page through ``page_watch``; the next
ping resolves that page. A config change recomputes the deadline from the last ping at
once; retiring resolves an open page and ends the workflow. The workflow continues as new
every :data:`MAX_PINGS` pings (a 1-minute heartbeat gets 1,440 a day).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from temporalio import workflow

from workflows import search
from workflows.durations import format_duration
from workflows.heartbeat_models import (
    HeartbeatCarry,
    HeartbeatConfig,
    HeartbeatInput,
    HeartbeatPing,
    HeartbeatState,
    ago,
    deadline,
    overdue_summary,
)
from workflows.watch_calls import page_watch
from workflows.watch_models import WatchAlert

# A ping is about six history events (signal, workflow task, timer cancelled and started):
# continue as new well before the history grows long.
MAX_PINGS = 500


def heartbeat_workflow_id(name: str) -> str:
    """``heartbeat-nightly-backup``: one per configured heartbeat."""
    return f"heartbeat-{name}"


@workflow.defn
class HeartbeatWorkflow:
    """One heartbeat: its pings, its deadline, its page."""

    @workflow.init
    def __init__(self, heartbeat: HeartbeatInput) -> None:
        self._name = heartbeat.name
        self._config = heartbeat.config
        self._carry = heartbeat.carry or HeartbeatCarry(started_at=workflow.now())
        self._pings_this_run = 0
        self._retired = False
        self._woken = False
        # A ping arrived while overdue: the page is to be resolved.
        self._recovered = False

    @workflow.run
    async def run(self, heartbeat: HeartbeatInput) -> HeartbeatState:
        self._publish()
        while not self._retired:
            # Reset before any await: a signal during this round's activities wakes the wait.
            self._woken = False
            if self._recovered:
                await self._resolve(f"{self._name} is back: pinged at {self._seen()}")
            now = workflow.now()
            due = deadline(self._config.spec, self._carry)
            if self._carry.overdue and now < due:
                # The interval or grace grew: under the new config it is not late.
                await self._resolve(f"{self._name} is no longer overdue: next due {due:%H:%M} UTC")
            elif not self._carry.overdue and now >= due:
                await self._page(now)
            if self._pings_this_run >= MAX_PINGS or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    HeartbeatInput(name=self._name, config=self._config, carry=self._carry)
                )
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._retired or self._woken,
                    timeout=None if self._carry.overdue else due - now,
                    timeout_summary=f"overdue at {due:%Y-%m-%d %H:%M:%S}Z",
                )
        if self._carry.page_id is not None:
            await self._resolve(f"{self._name}: heartbeat removed from the config")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.get_state()

    async def _page(self, now: datetime) -> None:
        """Overdue: open the heartbeat's page (a ping meanwhile resolves it next round)."""
        self._carry = self._carry.model_copy(update={"overdue": True})
        self._publish()
        summary = overdue_summary(self._name, self._carry, now)
        workflow.logger.info("heartbeat %s: %s", self._name, summary)
        page_id = await page_watch(self._alert(True, summary, details=self._details()))
        self._carry = self._carry.model_copy(update={"page_id": page_id})
        self._publish()

    async def _resolve(self, summary: str) -> None:
        """Resolve the open page (if one was opened) and count the heartbeat as on time."""
        self._recovered = False
        self._carry = self._carry.model_copy(update={"overdue": False})
        if self._carry.page_id is not None:
            workflow.logger.info("heartbeat %s: %s", self._name, summary)
            await page_watch(self._alert(False, summary))
            self._carry = self._carry.model_copy(update={"page_id": None})
        self._publish()

    def _alert(self, firing: bool, summary: str, details: str | None = None) -> WatchAlert:
        spec = self._config.spec
        return WatchAlert(
            kind="heartbeat",
            name=self._name,
            firing=firing,
            summary=summary[:1024],
            details=details,
            service=spec.service,
            team=spec.team,
            urgency=spec.urgency,
        )

    def _details(self) -> str:
        spec = self._config.spec
        lines = [
            f"Heartbeat {self._name} pings {spec.shown()}.",
            *([spec.description] if spec.description else []),
            f"Last ping: {self._seen()}"
            + (f" by {self._carry.last_by}" if self._carry.last_by else ""),
            f"Ping it: POST or GET /webhooks/heartbeat/{self._name} with a token of scope "
            "intake:heartbeat. The next ping resolves this page.",
        ]
        return "\n".join(lines)

    def _seen(self) -> str:
        seen = self._carry.last_seen
        if seen is None:
            return f"never (watched since {self._carry.started_at:%Y-%m-%d %H:%M} UTC)"
        return f"{seen:%Y-%m-%d %H:%M:%S} UTC ({ago(workflow.now() - seen)})"

    # -- messages -----------------------------------------------------------------------

    @workflow.signal
    def ping(self, ping: HeartbeatPing) -> None:
        """The job ran: now is its last seen time; an open page is resolved."""
        self._carry = self._carry.model_copy(
            update={
                "last_seen": workflow.now(),
                "last_by": ping.by,
                "pings": self._carry.pings + 1,
            }
        )
        self._pings_this_run += 1
        if self._carry.overdue:
            self._recovered = True
        self._woken = True
        self._publish()

    @workflow.signal
    def config_changed(self, config: HeartbeatConfig) -> None:
        """The heartbeat as configured now: its deadline is recomputed at once from the
        last ping (an open page stays where it was sent; the next goes to the new place)."""
        if config != self._config:
            self._config = config
            self._woken = True
            self._publish()

    @workflow.signal
    def retire(self) -> None:
        """The heartbeat left the config: resolve its page and finish."""
        self._retired = True

    @workflow.query
    def get_state(self) -> HeartbeatState:
        """Status, last seen, next due and the page open."""
        spec = self._config.spec
        carry = self._carry
        base = carry.last_seen or carry.started_at
        return HeartbeatState(
            name=self._name,
            status="overdue" if carry.overdue else "ok",
            description=spec.description,
            service=spec.service,
            team=self._config.team,
            interval=spec.interval,
            grace=spec.grace,
            started_at=carry.started_at,
            last_seen=carry.last_seen,
            last_by=carry.last_by,
            next_due=base + spec.interval,
            overdue_at=deadline(spec, carry),
            page_id=carry.page_id,
            pings=carry.pings,
        )

    def _publish(self) -> None:
        """The Web UI: filterable kind, team, service and status; readable details."""
        state = self.get_state()
        wanted = [
            (search.KIND, "heartbeat"),
            (search.TEAM, self._config.team),
            (search.STATUS, state.status),
            *([(search.SERVICE, state.service)] if state.service else []),
        ]
        current = workflow.info().typed_search_attributes
        changed = [key.value_set(value) for key, value in wanted if current.get(key) != value]
        if changed:
            workflow.upsert_search_attributes(changed)
        seen = "never" if state.last_seen is None else f"{state.last_seen:%Y-%m-%d %H:%M} UTC"
        page = f" · page {state.page_id}" if state.page_id else ""
        workflow.set_current_details(
            f"**{self._name}** · {state.status} · every {format_duration(state.interval)}"
            f" · last seen {seen} · overdue at {state.overdue_at:%Y-%m-%d %H:%M} UTC{page}"
        )


__all__ = ["MAX_PINGS", "HeartbeatWorkflow", "heartbeat_workflow_id"]
