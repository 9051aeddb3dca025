"""``tocsin page`` as a real process against the dev server and a worker: what it answers.

``create`` and ``escalate`` print the page once its step was taken (whom it reached),
``list`` has a header, every time says its zone, an unknown ``--as`` is exit 2, and ``ack``
works while the config file has a syntax error.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import BIN
from tests.e2e.conftest import EVENTS_KEY, Stack

pytestmark = pytest.mark.e2e


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


Tocsin = Callable[..., Awaitable[Run]]


@pytest.fixture
def tocsin(stack: Stack, dev_env: WorkflowEnvironment) -> Tocsin:
    """Run ``tocsin page …`` against the stack's server, queue and config, as bob."""
    env = {
        **os.environ,
        "TOCSIN_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TOCSIN_TASK_QUEUE": stack.task_queue,
        "TOCSIN_CONFIG": str(stack.config_path),
        "TOCSIN_E2E_EVENTS_KEY": EVENTS_KEY,
        "TOCSIN_USER": "bob",
    }

    async def run(*args: str, config: Path | None = None) -> Run:
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "tocsin"),
            "page",
            *args,
            env=env if config is None else {**env, "TOCSIN_CONFIG": str(config)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return Run(proc.returncode, out.decode(), err.decode())

    return run


def field(text: str, name: str) -> str:
    """The value of the ``name`` line of a page as ``tocsin page`` prints it."""
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return line[len(name) :].strip()
    raise AssertionError(f"no {name!r} line in:\n{text}")


class TestPageAnswers:
    async def test_create_and_escalate_answer_after_the_step(self, tocsin: Tocsin) -> None:
        """create prints step 1 with whom it reached (alice, the EOC); escalate prints step 2
        (dana, the TM); every time in the answer says UTC."""
        created = await tocsin("create", "--team", "delivery", "--summary", "Disk full")

        assert created.code == 0, created.stderr
        first, _, page = created.stdout.splitlines()[0].partition(": ")
        assert first == "created"
        assert field(created.stdout, "step") == "1/3"
        assert "Step 1/3: rotation:delivery/eoc → alice" in created.stdout
        assert field(created.stdout, "next step").endswith("UTC unless acknowledged")
        timeline = created.stdout.split("timeline\n", 1)[1].splitlines()
        assert timeline
        assert all(line.split()[2] == "UTC" for line in timeline), timeline

        escalated = await tocsin("escalate", page)

        assert escalated.code == 0, escalated.stderr
        assert field(escalated.stdout, "step") == "2/3"
        assert "Escalated now by server CLI for bob" in escalated.stdout
        assert "Step 2/3: rotation:delivery/tm → dana" in escalated.stdout

    async def test_list_has_headers(self, tocsin: Tocsin) -> None:
        """The list's first line names its columns; each page's created time says UTC."""
        created = await tocsin("create", "--team", "delivery", "--summary", "Latency high")
        page = created.stdout.splitlines()[0].partition(": ")[2]

        for _ in range(100):  # visibility lags a page by about a second
            listed = await tocsin("list", "--team", "delivery")
            if page in listed.stdout:
                break
            await asyncio.sleep(0.2)
        lines = listed.stdout.splitlines()

        assert lines[0].split() == ["ID", "STATUS", "TEAM", "CREATED", "SUMMARY"]
        row = next(line for line in lines if line.startswith(page))
        assert row.split()[1:3] == ["triggered", "delivery"]
        assert row.split()[5] == "UTC"
        assert row.endswith("Latency high")

    async def test_unknown_as(self, tocsin: Tocsin) -> None:
        """An acting person the config does not know is exit 2, naming them; nothing is paged."""
        refused = await tocsin("create", "--team", "delivery", "--summary", "x", "--as", "zed")

        assert (refused.code, refused.stdout) == (2, "")
        assert refused.stderr == (
            "error: --as: unknown person 'zed' (not among the config's people)\n"
        )

    async def test_ack_with_a_broken_config(self, tocsin: Tocsin, tmp_path: Path) -> None:
        """A config mid-edit (a YAML syntax error) does not stop an ack: a warning naming
        the file and the error, and the page is acknowledged (the running config decides)."""
        created = await tocsin("create", "--team", "delivery", "--summary", "Queue stuck")
        page = created.stdout.splitlines()[0].partition(": ")[2]
        broken = tmp_path / "tocsin.yaml"
        broken.write_text("people:\n  bob: {name: [Bob\n")

        acked = await tocsin("ack", page, config=broken)

        assert acked.code == 0, acked.stderr
        assert field(acked.stdout, "status") == "acknowledged"
        assert field(acked.stdout, "acked by").startswith("bob at ")
        assert acked.stderr.startswith(f"warning: {broken} does not load")
        assert "running stack keeps its last good config" in acked.stderr
