"""Workflow ids: the id *is* the deduplication key, so they are derived in one place."""

from __future__ import annotations

import re
from datetime import UTC, datetime

PAGE_PREFIX = "page-"
PAGE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def page_workflow_id(key: str) -> str:
    """``page-<key>``.

    Raises:
        ValueError: the key has characters that do not belong in an id or a URL.
    """
    if not PAGE_KEY.match(key):
        raise ValueError(
            f"invalid page key {key!r}: 1-128 characters of letters, digits, '.', '_', ':' or '-'"
        )
    return PAGE_PREFIX + key


def page_key(workflow_id: str) -> str:
    """The page id shown to people, from its workflow id."""
    return workflow_id.removeprefix(PAGE_PREFIX)


def incident_workflow_id(incident_id: str) -> str:
    """``incident-INC-42``."""
    return f"incident-{incident_id}"


def rotation_workflow_id(rotation: str) -> str:
    """``rotation-delivery``: one per configured rotation."""
    return f"rotation-{rotation}"


def shift_workflow_id(rotation: str, start: datetime) -> str:
    """``shift-delivery-20261123T1600Z``: one per rotation and shift start (UTC)."""
    return f"shift-{rotation}-{start.astimezone(UTC):%Y%m%dT%H%MZ}"
