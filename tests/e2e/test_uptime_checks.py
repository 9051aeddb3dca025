"""e2e: an uptime check against a real HTTP target on loopback that goes down and comes
back: the check's page opens (alice's webhook is notified) and then resolves."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_check_results import SqlCheckResults
from activities.adapters.sql_store import SqlStore
from starters.clients.checks import CheckWorkflowClient, check_workflow_id
from starters.uptime_report import summarise
from tests.e2e.conftest import EVENTS_KEY, running_stack, write_config
from tests.fakes.receiver import Receiver
from tests.fakes.target import Target
from worker.checks import sync_checks
from worker.config import ConfigFile


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    """Poll ``check()`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_check_pages_when_down_and_resolves_when_back(
    dev_env: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
    target = Target()
    await target.start()
    name = f"gitweb-{uuid.uuid4().hex[:6]}"
    config_path = write_config(tmp_path / "tocsin.yaml", receiver)
    with config_path.open("a") as config:
        config.write(
            f"checks:\n  {name}:\n    url: {target.url()}\n    service: gitserver\n"
            "    interval: 1s\n    timeout: PT0.5S\n    failures_before_paging: 2\n"
        )
    client = dev_env.client
    async with running_stack(client, receiver, config_path) as stack:
        checks = CheckWorkflowClient(client, stack.task_queue)
        try:
            await sync_checks(client, ConfigFile(config_path).current(), stack.task_queue)

            async def state() -> Any:
                return await checks.get_state(name)

            up = await eventually(lambda: _when(state, lambda s: s.status == "up"))
            assert up, "the check never saw its target up"

            target.status = 503
            down = await eventually(lambda: _when(state, lambda s: s.down_page is not None))
            assert down, "the check never paged"
            page_id = down.down_page
            page = (await stack.http.get(f"/api/pages/{page_id}")).json()
            assert page["status"] == "triggered"
            assert page["summary"] == f"{name} is down: status 503 (expected 200-399)"
            await receiver.wait_for(lambda ds: any(d.page_id == page_id for d in ds))
            assert receiver.for_page(page_id)[0].path.endswith("/alice")

            target.status = 200
            back = await eventually(lambda: _when(state, lambda s: s.down_page is None))
            assert back, "the check never resolved its page"

            async def resolved() -> bool:
                shown = (await stack.http.get(f"/api/pages/{page_id}")).json()
                return bool(shown["status"] == "resolved")

            assert await eventually(resolved), "the page did not resolve"
            # The worker kept every probe in the store beside the config (the stack's API
            # has no store: read it as tocsin checks does).
            store = SqlStore(f"sqlite:///{tmp_path / 'tocsin.db'}")
            kept = await SqlCheckResults(store).list_check_results(
                datetime.now(UTC) - timedelta(hours=1)
            )
            await store.close()
            [mine] = summarise(kept, datetime.now(UTC), 1)
            assert mine.check == name
            assert mine.status == "up"
            assert mine.last_error == "status 503 (expected 200-399)"
            assert mine.uptime_24h is not None
            assert 0 < mine.uptime_24h < 100
        finally:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(check_workflow_id(name)).terminate("test over")
            await target.stop()


async def _when(read: Callable[[], Awaitable[Any]], test: Callable[[Any], bool]) -> Any:
    """``read()`` when ``test`` holds for it, else None (the workflow may not run yet)."""
    try:
        value = await read()
    except Exception:  # noqa: BLE001 - not running yet: poll again
        return None
    return value if test(value) else None
