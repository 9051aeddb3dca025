"""Registering Tocsin's search attributes on a namespace (idempotent)."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search import SEARCH_ATTRIBUTE_NAMES


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add whichever of Tocsin's Keyword attributes the namespace lacks; return those added.

    An unregistered attribute makes every workflow task that upserts it retry forever,
    so the worker checks this at start-up rather than letting pages stall.
    """
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as err:
        # The time-skipping test server cannot list attributes; it only adds them.
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    missing = [name for name in SEARCH_ATTRIBUTE_NAMES if name not in known]
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes=dict.fromkeys(
                    missing, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                ),
            )
        )
    return missing
