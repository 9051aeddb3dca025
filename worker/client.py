"""The Temporal client, always with the pydantic data converter (built in one place)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from worker.settings import Settings


async def connect(settings: Settings) -> Client:
    """Connect to the Temporal frontend named by the settings."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
