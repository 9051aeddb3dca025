"""Schemathesis over ``/openapi.json`` against the whole stack: every operation, every
check, authenticated, bounded examples; no input may produce a server error, and every
answer must be one the description documents."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import EVENTS_KEY, hardened_stack, start_dev_server, write_config
from tests.fakes.receiver import Receiver

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).parent / "st"
SETTINGS = Path(__file__).with_name("schemathesis.toml")
# Examples per operation and phase: about 3,000 requests over the 36 operations, ~45 s.
MAX_EXAMPLES = 25


@pytest.fixture
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this test's own: the fuzzer declares hundreds of pages and incidents
    (and would take over the shared incident counter), none of which other tests should meet."""
    env = await start_dev_server()
    yield env
    await env.shutdown()


async def heartbeat_token(url: str, admin: str) -> str:
    """An integration token that may ping heartbeats (schemathesis.toml sends it there)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        created = await http.post(
            "/api/tokens",
            json={"kind": "integration", "name": "fuzz-cron", "scopes": ["intake:heartbeat"]},
            headers={"Authorization": f"Bearer {admin}"},
        )
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def test_schemathesis_finds_no_server_error(
    own_server: WorkflowEnvironment,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """All of schemathesis's checks pass over every operation, Temporal and a worker behind."""
    monkeypatch.setenv("TOCSIN_E2E_EVENTS_KEY", EVENTS_KEY)
    config_path = write_config(tmp_path / "tocsin.yaml", receiver)
    async with hardened_stack(own_server.client, config_path) as api:
        monkeypatch.setenv("TOCSIN_FUZZ_HEARTBEAT_TOKEN", await heartbeat_token(api.url, api.token))
        run = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "--config-file",
            str(SETTINGS),
            "run",
            f"{api.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {api.token}",
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            # One worker: schemathesis's coverage phase calls ast.parse (through
            # hypothesis's lambda descriptions) from its worker threads, and CPython
            # 3.11's parser is not thread-safe there ("AST constructor recursion depth
            # mismatch", CPython gh-106905): with two workers the run failed 1 in ~10.
            "--workers",
            "1",
            "--seed",
            "20261130",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        output, _ = await asyncio.wait_for(run.communicate(), timeout=300)
    report = output.decode(errors="replace")
    summary = report[report.find("SUMMARY") :]
    print(summary)  # noqa: T201 - the run's figures, shown with `pytest -s`
    assert run.returncode == 0, report[-6000:]
    assert "Server error" not in report
    tested = re.search(r"Tested: (\d+)", summary)
    assert tested is not None
    assert int(tested.group(1)) >= 36, summary
    generated = re.search(r"(\d+) generated", summary)
    assert generated is not None
    assert int(generated.group(1)) > 1000, summary
