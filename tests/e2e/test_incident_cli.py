"""``tocsin incident`` as a real process, against the real dev server and a real worker."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

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

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def tocsin(incident_stack: Stack, dev_env: WorkflowEnvironment) -> Any:
    """Run ``tocsin incident …`` against the incident stack's server, queue and config."""
    env = {
        **os.environ,
        "TOCSIN_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TOCSIN_TASK_QUEUE": incident_stack.task_queue,
        "TOCSIN_CONFIG": str(incident_stack.config_path),
        "TOCSIN_E2E_EVENTS_KEY": EVENTS_KEY,
        "TOCSIN_USER": "bob",
    }

    async def run(*args: str) -> Run:
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "tocsin"),
            "incident",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return Run(proc.returncode, out.decode(), err.decode())

    return run


class TestIncidentCommands:
    async def test_declare_lead_roll_back_resolve(self, tocsin: Any) -> None:
        """The CLI declares, assigns, rolls back and resolves; refusals exit 1, unknowns 2."""
        key = str(uuid.uuid4())
        declare = [
            "declare",
            "--title",
            "Clones hang",
            "--severity",
            "minor",
            "--service",
            "gitserver",
            "--idempotency-key",
            key,
            "--json",
        ]
        declared = await tocsin(*declare)
        assert declared.code == 0, declared.stderr
        incident_id = declared.json()["id"]

        again, unknown, led = await asyncio.gather(
            tocsin(*declare[:-1]),
            tocsin("show", "INC-999999"),
            tocsin("lead", incident_id, "dana", "--json"),
        )
        assert again.code == 0, again.stderr
        assert again.stdout.startswith(f"already declared: {incident_id}\n")
        assert (unknown.code, unknown.stderr) == (2, "error: no incident 'INC-999999'\n")
        assert led.code == 0, led.stderr
        assert led.json()["lead"] == "dana"

        edited = await tocsin(
            "edit", incident_id, "--summary", "pack files corrupt", "--as", "dana"
        )
        assert edited.code == 0, edited.stderr
        assert "summary   pack files corrupt" in edited.stdout
        noted = await tocsin("update", incident_id, "fsck shows 3 bad packs")
        assert noted.code == 0, noted.stderr
        assert "note              fsck shows 3 bad packs  [bob (server CLI)]" in noted.stdout

        rolled = await tocsin("rollback", incident_id.lower(), "roll_back", "--as", "dana")
        assert rolled.code == 0, rolled.stderr
        assert "rollback  roll_back" in rolled.stdout

        not_lead = await tocsin("resolve", incident_id, "--summary", "rolled back")
        assert not_lead.code == 1
        assert f"only the incident lead (dana) may resolve {incident_id}" in not_lead.stderr

        resolved = await tocsin(
            "resolve", incident_id, "--summary", "rolled back", "--resolution", "rolled_back",
            "--as", "dana",
        )  # fmt: skip
        assert resolved.code == 0, resolved.stderr
        assert "status    closed" in resolved.stdout, "minor needs no postmortem"
        assert "resolved  rolled_back by dana: rolled back" in resolved.stdout
