"""Rollback by a signed webhook: JSON POSTed with an HMAC-SHA256 signature, like GitHub's.

The receiver checks ``X-Tocsin-Signature-256: sha256=<hex>``, the HMAC of the exact body
bytes keyed with the shared secret, before acting on the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from activities.errors import NotConfigured, RateLimited, Rejected, Unavailable
from workflows.incident_config import Rollback, WebhookRollback
from workflows.models import RollbackRequest, RollbackResult

OUTPUT_CHARS = 4000
SIGNATURE_HEADER = "X-Tocsin-Signature-256"
# What to wait when a 429 does not say: GitHub and Slack both suggest a minute.
_DEFAULT_RETRY_AFTER = 60.0


def rollback_body(request: RollbackRequest, at: datetime) -> bytes:
    """The JSON body, compact with sorted keys so receivers can reproduce it byte for byte."""
    payload = {
        "incident": request.incident_id,
        "service": request.service,
        "by": request.by,
        "choice": request.choice,
        "at": at.isoformat(),
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _where(url: str) -> str:
    # Host and port only: webhook paths and queries often carry tokens themselves.
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return host if parts.port is None else f"{host}:{parts.port}"


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date)."""
    if value is None:
        return _DEFAULT_RETRY_AFTER
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return _DEFAULT_RETRY_AFTER
    if when.tzinfo is None:  # "-0000" dates parse naive; they are UTC all the same
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


class WebhookRunner:
    """POSTs ``{"incident", "service", "by", "choice", "at"}`` to ``spec.url``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult:
        if not isinstance(spec, WebhookRollback):
            raise Rejected(f"the webhook runner cannot run a {spec.kind} rollback")
        secret: str | None = None
        if spec.secret_env is not None:
            secret = self._environ.get(spec.secret_env)
            if not secret:
                raise NotConfigured(f"environment variable {spec.secret_env} is not set")
        body = rollback_body(request, datetime.now(UTC))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tocsin",
            "X-Tocsin-Event": "rollback",
        }
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, secret)
        where = _where(spec.url)
        try:
            async with httpx.AsyncClient(timeout=spec.timeout.total_seconds()) as client:
                response = await client.post(spec.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise Unavailable(f"rollback webhook {where} timed out") from None
        except httpx.HTTPError as err:
            raise Unavailable(
                f"rollback webhook {where} unreachable: {type(err).__name__}"
            ) from None

        status = response.status_code
        text = response.text
        if secret is not None:
            text = text.replace(secret, "***")
        if len(text) > OUTPUT_CHARS:
            text = text[: OUTPUT_CHARS - 1] + "…"
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
            raise RateLimited(f"rollback webhook {where} answered 429", wait)
        if status >= 500:
            raise Unavailable(f"rollback webhook {where} answered {status}")
        if 200 <= status < 300:
            return RollbackResult(
                ok=True,
                runner="webhook",
                summary=f"rollback webhook {where} accepted ({status})",
                output=text,
            )
        return RollbackResult(
            ok=False,
            runner="webhook",
            summary=f"rollback webhook {where} refused it ({status})",
            output=text,
        )
