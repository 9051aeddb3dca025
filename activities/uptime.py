"""The uptime probe: one HTTP(S) request of a check, with real TLS verification; its
status, latency, why it failed, and the server certificate's expiry. Each result is kept
in the store (``CheckResults``) when one is wired."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import structlog
from temporalio import activity

from activities.errors import AdapterError
from activities.ports import CheckResults
from workflows.check_models import Check, ProbeRequest, ProbeResult, show_statuses
from workflows.envref import MissingVariable, expand

log = structlog.get_logger("tocsin.checks")

# How much of a body the regex is matched against.
MAX_BODY = 1_000_000
USER_AGENT = "tocsin-uptime-check"


def certificate_expiry(response: httpx.Response) -> datetime | None:
    """The notAfter of the certificate the server presented (verified TLS only)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    peer = ssl_object.getpeercert()
    not_after = peer.get("notAfter") if peer else None
    if not isinstance(not_after, str):
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)


def failure_reason(err: Exception, timeout: float) -> str:
    """Why a request failed, in a few words (never the request's headers)."""
    if isinstance(err, (TimeoutError, httpx.TimeoutException)):
        return f"timed out after {timeout:g}s"
    found = _cause_reason(err)
    if found is not None:
        return found
    text = str(err)
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect: {text}" if text else "cannot connect"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _cause_reason(err: BaseException) -> str | None:
    """A TLS failure or a refused connection anywhere in ``err``'s chain of causes."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: {cause.verify_message or 'certificate verify failed'}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS: {cause.reason or cause}"
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return None


class UptimeActivities:
    """Probes uptime checks.

    ``environ`` supplies the ``${NAME}`` references in headers; ``verify`` is the TLS
    trust (default: the system's; tests pass a context trusting their own CA).
    """

    def __init__(
        self,
        results: CheckResults | None,
        environ: Mapping[str, str],
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._results = results
        self._environ = environ
        self._verify = verify

    @activity.defn(name="probe_check")
    async def probe_check(self, request: ProbeRequest) -> ProbeResult:
        """Request the check's URL once; the result says whether it is up and why not.

        A failed request (refused, timed out, wrong status, body not matching) is a
        result with ``ok`` False, not an error. The result is kept in the store; a store
        that fails is logged and the result returned all the same.
        """
        result = await self.probe(request.check, request.spec)
        if self._results is not None:
            try:
                await self._results.record_check_result(result)
            except AdapterError as err:
                log.warning("check result not kept", check=request.check, error=str(err))
        return result

    async def probe(self, name: str, check: Check) -> ProbeResult:
        """One request of ``check``, timed; what it found."""
        at = datetime.now(UTC)
        try:
            headers = {k: expand(v, self._environ) for k, v in check.headers.items()}
        except MissingVariable as err:
            return ProbeResult(check=name, at=at, ok=False, error=f"headers: {err}")
        headers.setdefault("User-Agent", USER_AGENT)
        timeout = check.timeout.total_seconds()
        started = time.monotonic()
        status: int | None = None
        expires: datetime | None = None
        try:
            async with (
                asyncio.timeout(timeout),
                httpx.AsyncClient(verify=self._verify, timeout=timeout) as client,
            ):
                request = client.build_request(check.method, check.url, headers=headers)
                response = await client.send(request, stream=True)
                try:
                    status = response.status_code
                    expires = certificate_expiry(response)
                    body = b""
                    if check.body_regex is not None:
                        body = await _read_some(response)
                finally:
                    await response.aclose()
        except (httpx.HTTPError, OSError, TimeoutError) as err:
            latency = (time.monotonic() - started) * 1000
            return ProbeResult(
                check=name,
                at=at,
                ok=False,
                status=status,
                latency_ms=None if status is None else latency,
                error=failure_reason(err, timeout),
                certificate_expires=expires,
            )
        latency = (time.monotonic() - started) * 1000
        error: str | None = None
        if not check.expects(status):
            error = f"status {status} (expected {show_statuses(check.expected_status)})"
        elif check.body_regex is not None and not re.search(
            check.body_regex, body.decode(response.encoding or "utf-8", errors="replace")
        ):
            error = f"body does not match /{check.body_regex}/"
        return ProbeResult(
            check=name,
            at=at,
            ok=error is None,
            status=status,
            latency_ms=latency,
            error=error,
            certificate_expires=expires,
        )


async def _read_some(response: httpx.Response) -> bytes:
    """The first :data:`MAX_BODY` bytes of the body."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY:
            break
    return b"".join(chunks)[:MAX_BODY]


__all__ = ["UptimeActivities", "certificate_expiry", "failure_reason"]
