"""The uptime probe against real loopback HTTP(S) servers: what counts as up, why a
request failed, the certificate's expiry (trustme CA), and the results it keeps."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme

from activities.errors import Unavailable
from activities.uptime import UptimeActivities
from tests.fakes.target import Target
from workflows.check_models import Check, ProbeRequest, ProbeResult


def check(url: str, **fields: Any) -> Check:
    return Check.model_validate({"url": url, "team": "delivery", **fields})


class Kept:
    """CheckResults in memory; ``fail`` makes every write fail."""

    def __init__(self, fail: bool = False) -> None:
        self.results: list[ProbeResult] = []
        self.fail = fail

    async def record_check_result(self, result: ProbeResult) -> None:
        if self.fail:
            raise Unavailable("database is down")
        self.results.append(result)

    async def list_check_results(self, since: datetime) -> list[ProbeResult]:
        return [r for r in self.results if r.at >= since]


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    server = Target()
    await server.start()
    yield server
    await server.stop()


class TestHttp:
    """Status, body and latency of a plain HTTP target."""

    async def test_expected_status_is_up(self, target: Target) -> None:
        kept = Kept()
        probe = UptimeActivities(kept, {})
        result = await probe.probe_check(ProbeRequest(check="api", spec=check(target.url())))
        assert result.ok
        assert result.status == 200
        assert result.error is None
        assert result.latency_ms is not None
        assert result.latency_ms > 0
        assert result.certificate_expires is None
        assert kept.results == [result]

    async def test_status_outside_the_expected_is_down(self, target: Target) -> None:
        target.status = 503
        result = await UptimeActivities(None, {}).probe("api", check(target.url()))
        assert not result.ok
        assert result.status == 503
        assert result.error == "status 503 (expected 200-399)"

    async def test_listed_statuses_and_ranges(self, target: Target) -> None:
        target.status = 418
        spec = check(target.url(), expected_status=[204, "410-420"])
        assert (await UptimeActivities(None, {}).probe("api", spec)).ok
        target.status = 200
        result = await UptimeActivities(None, {}).probe("api", spec)
        assert result.error == "status 200 (expected 204, 410-420)"

    async def test_body_must_match_the_regex(self, target: Target) -> None:
        target.body = '{"db": "down"}'
        spec = check(target.url(), body_regex='"db": "up"')
        result = await UptimeActivities(None, {}).probe("api", spec)
        assert not result.ok
        assert result.status == 200
        assert result.error == 'body does not match /"db": "up"/'
        target.body = '{"db": "up"}'
        assert (await UptimeActivities(None, {}).probe("api", spec)).ok

    async def test_slow_answer_times_out(self, target: Target) -> None:
        target.delay = 0.8
        spec = check(target.url(), timeout=timedelta(seconds=0.2), interval="5s")
        result = await UptimeActivities(None, {}).probe("api", spec)
        assert not result.ok
        assert result.status is None
        assert result.error == "timed out after 0.2s"

    async def test_refused_connection(self, closed_port: int) -> None:
        spec = check(f"http://127.0.0.1:{closed_port}/health")
        result = await UptimeActivities(None, {}).probe("api", spec)
        assert not result.ok
        assert result.error == "connection refused"

    async def test_headers_expand_environment_references(self, target: Target) -> None:
        spec = check(target.url(), method="POST", headers={"Authorization": "Bearer ${TOKEN}"})
        result = await UptimeActivities(None, {"TOKEN": "s3cr3t"}).probe("api", spec)
        assert result.ok
        assert target.seen_headers[-1]["Authorization"] == "Bearer s3cr3t"
        assert "s3cr3t" not in result.model_dump_json()

    async def test_missing_environment_variable_fails_the_probe(self, target: Target) -> None:
        spec = check(target.url(), headers={"Authorization": "Bearer ${TOKEN}"})
        result = await UptimeActivities(None, {}).probe("api", spec)
        assert not result.ok
        assert result.error == "headers: environment variable TOKEN is not set"
        assert target.seen_headers == []

    async def test_a_failing_store_does_not_lose_the_result(self, target: Target) -> None:
        probe = UptimeActivities(Kept(fail=True), {})
        result = await probe.probe_check(ProbeRequest(check="api", spec=check(target.url())))
        assert result.ok


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def tls_target(ca: trustme.CA, expires: datetime) -> Target:
    cert = ca.issue_cert("127.0.0.1", not_after=expires)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = Target(tls=context)
    await server.start()
    return server


class TestTls:
    """Real TLS: the certificate is verified and its notAfter reported."""

    async def test_certificate_expiry_is_reported(self, ca: trustme.CA) -> None:
        expires = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
        server = await tls_target(ca, expires)
        trust = ssl.create_default_context()
        ca.configure_trust(trust)
        try:
            result = await UptimeActivities(None, {}, verify=trust).probe(
                "api", check(server.url())
            )
        finally:
            await server.stop()
        assert result.ok
        assert result.status == 200
        assert result.certificate_expires == expires

    async def test_untrusted_certificate_is_down(self, ca: trustme.CA) -> None:
        server = await tls_target(ca, datetime.now(UTC) + timedelta(days=90))
        try:
            result = await UptimeActivities(None, {}).probe("api", check(server.url()))
        finally:
            await server.stop()
        assert not result.ok
        assert result.status is None
        assert result.error is not None
        assert result.error.startswith("TLS: ")
        assert "certificate" in result.error
