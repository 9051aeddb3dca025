"""Rollback runners against real processes and loopback servers, and the rollback activity."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.rollback_command import OUTPUT_CHARS, CommandRunner
from activities.adapters.rollback_github import GithubRunner
from activities.adapters.rollback_webhook import WebhookRunner, retry_after_seconds
from activities.errors import AdapterError, NotConfigured, RateLimited, Unavailable
from activities.ports import RollbackRunner
from activities.rollback import RollbackActivities
from tests.fakes.github import FakeGithub, FakeWorkflow
from tests.fakes.signed_receiver import SignedReceiver
from worker.build import build_rollback_runners
from worker.settings import Settings
from workflows.config import TocsinConfig
from workflows.incident_config import (
    CommandRollback,
    GithubRollback,
    Rollback,
    WebhookRollback,
)
from workflows.models import RollbackRequest, RollbackResult

REQUEST = RollbackRequest(incident_id="inc-42", service="shop", by="alice", choice="revert")
SECRET = "whsec-0123456789abcdef"
SECRET_VAR = "ROLLBACK_SECRET"
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def command(script: str, timeout: float = 10.0, cwd: str | None = None) -> CommandRollback:
    """A command rollback running ``script`` with ``/bin/sh -c``."""
    return CommandRollback(
        kind="command",
        argv=["/bin/sh", "-c", script],
        timeout=timedelta(seconds=timeout),
        cwd=cwd,
    )


def webhook(url: str, secret_env: str | None = SECRET_VAR, timeout: float = 5.0) -> WebhookRollback:
    return WebhookRollback(
        kind="webhook", url=url, secret_env=secret_env, timeout=timedelta(seconds=timeout)
    )


def github(workflow: str = "rollback.yml", ref: str = "release", **inputs: str) -> GithubRollback:
    return GithubRollback(
        kind="github", repo="acme/shop", workflow=workflow, ref=ref, inputs=inputs
    )


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


async def process_gone(pid: int, within: float = 1.0) -> bool:
    """The process stops running (reaped, or a zombie) within ``within`` seconds.

    SIGKILL is delivered asynchronously: the process may close its files (and so our
    pipe) a moment before it is marked dead.
    """
    for _ in range(int(within / 0.01)):
        if not _running(pid):
            return True
        await asyncio.sleep(0.01)
    return not _running(pid)


@pytest.fixture
async def receiver() -> AsyncIterator[SignedReceiver]:
    r = SignedReceiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture(scope="module")
async def github_server() -> AsyncIterator[FakeGithub]:
    """One fake GitHub for the module: uvicorn takes a fifth of a second to stop."""
    fake = FakeGithub()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake_github(github_server: FakeGithub) -> FakeGithub:
    """The fake GitHub, healthy and with no requests recorded."""
    github_server.reset()
    return github_server


class TestCommandRunner:
    async def test_success_captures_stdout_and_stderr(self) -> None:
        """Exit 0 is ok; stdout and stderr come back merged, in the order written."""
        result = await CommandRunner(BASE_ENV).run(
            command("echo rolling back; echo 'warning: cache cold' >&2; echo done"), REQUEST
        )

        assert result.ok
        assert result.runner == "command"
        assert result.summary == "/bin/sh exited 0"
        assert result.output == "rolling back\nwarning: cache cold\ndone\n"

    async def test_rollback_described_in_environment(self) -> None:
        """The command sees the incident, service, who asked and the choice, plus the worker's env."""
        script = (
            'echo "$TOCSIN_INCIDENT|$TOCSIN_SERVICE|$TOCSIN_ROLLBACK_BY|'
            '$TOCSIN_ROLLBACK_CHOICE|$DEPLOY_ENV"'
        )

        result = await CommandRunner({**BASE_ENV, "DEPLOY_ENV": "prod"}).run(
            command(script), REQUEST
        )

        assert result.output == "inc-42|shop|alice|revert|prod\n"

    async def test_runs_in_cwd(self, tmp_path: Path) -> None:
        """The command runs in the configured working directory."""
        result = await CommandRunner(BASE_ENV).run(command("pwd", cwd=str(tmp_path)), REQUEST)

        assert result.output.strip() == str(tmp_path)

    async def test_nonzero_exit_fails_with_code(self) -> None:
        """A non-zero exit is a failed rollback naming the code, with the output kept."""
        result = await CommandRunner(BASE_ENV).run(
            command("echo 'deploy 1234 not found'; exit 3"), REQUEST
        )

        assert not result.ok
        assert result.summary == "/bin/sh exited 3"
        assert result.output == "deploy 1234 not found\n"

    async def test_timeout_kills_process_group(self) -> None:
        """On timeout the command and its children are killed; the output so far is kept."""
        started = time.monotonic()

        result = await CommandRunner(BASE_ENV).run(
            command("sleep 30 & echo child=$!; wait", timeout=1), REQUEST
        )

        assert time.monotonic() - started < 3
        assert not result.ok
        assert result.summary == "/bin/sh timed out after 1s"
        assert result.output.startswith("child=")
        child = int(result.output.strip().removeprefix("child="))
        assert await process_gone(child)

    async def test_cancel_kills_process_group(self, tmp_path: Path) -> None:
        """Cancelling the rollback (activity cancelled) kills the command and its children."""
        pid_file = tmp_path / "child.pid"
        spec = command("sleep 30 & echo $! > child.pid; wait", cwd=str(tmp_path))
        task = asyncio.create_task(CommandRunner(BASE_ENV).run(spec, REQUEST))
        for _ in range(200):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            await asyncio.sleep(0.01)

        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        assert await process_gone(int(pid_file.read_text()))

    async def test_straggler_holding_output_killed_after_exit(self) -> None:
        """A background child still holding the output after the command exits is killed."""
        started = time.monotonic()

        result = await CommandRunner(BASE_ENV).run(
            command("sleep 30 & echo child=$!; exit 0"), REQUEST
        )

        assert result.ok
        assert time.monotonic() - started < 3
        assert await process_gone(int(result.output.strip().removeprefix("child=")))

    async def test_missing_executable_is_a_result(self) -> None:
        """An executable that does not exist is a failed result, not an exception."""
        spec = CommandRollback(kind="command", argv=["/nonexistent/rollback-tool", "--now"])

        result = await CommandRunner(BASE_ENV).run(spec, REQUEST)

        assert not result.ok
        assert result.summary == "command /nonexistent/rollback-tool not found"

    async def test_missing_cwd_named(self, tmp_path: Path) -> None:
        """A working directory that does not exist is named as such."""
        missing = str(tmp_path / "gone")

        result = await CommandRunner(BASE_ENV).run(command("true", cwd=missing), REQUEST)

        assert not result.ok
        assert result.summary == f"directory {missing} not found"

    async def test_cwd_that_is_a_file_is_a_result(self, tmp_path: Path) -> None:
        """A working directory that is a file fails the rollback with the reason, no exception."""
        a_file = tmp_path / "deploy.sh"
        a_file.write_text("#!/bin/sh\n")

        result = await CommandRunner(BASE_ENV).run(command("true", cwd=str(a_file)), REQUEST)

        assert not result.ok
        assert result.summary == "/bin/sh could not be run: Not a directory"

    async def test_long_output_keeps_the_end(self) -> None:
        """Output beyond 4,000 characters keeps its last part, where errors usually are."""
        script = "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo FINAL"

        result = await CommandRunner(BASE_ENV).run(command(script), REQUEST)

        assert len(result.output) == OUTPUT_CHARS
        assert result.output.startswith("…")
        assert result.output.endswith("line-1999\nFINAL\n")


class TestWebhookRunner:
    async def test_signed_over_exact_body(self, receiver: SignedReceiver) -> None:
        """The body is compact sorted JSON and the signature is the HMAC of its exact bytes."""
        result = await WebhookRunner({"ROLLBACK_SECRET": SECRET}).run(
            webhook(receiver.url()), REQUEST
        )

        [got] = receiver.received
        expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(got.headers["x-tocsin-signature-256"], expected)
        assert got.headers["x-tocsin-event"] == "rollback"
        assert got.headers["content-type"] == "application/json"
        payload = json.loads(got.body)
        assert got.body == json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        assert {k: v for k, v in payload.items() if k != "at"} == {
            "incident": "inc-42",
            "service": "shop",
            "by": "alice",
            "choice": "revert",
        }
        assert abs(datetime.fromisoformat(payload["at"]) - datetime.now(UTC)) < timedelta(seconds=5)
        assert result == RollbackResult(
            ok=True,
            runner="webhook",
            summary=f"rollback webhook 127.0.0.1:{receiver.port} accepted (200)",
            output="rollback started",
        )

    async def test_unsigned_without_secret_env(self, receiver: SignedReceiver) -> None:
        """With no ``secret_env`` the request goes out without a signature header."""
        result = await WebhookRunner({}).run(webhook(receiver.url(), secret_env=None), REQUEST)

        assert result.ok
        assert "x-tocsin-signature-256" not in receiver.received[0].headers

    async def test_unset_secret_not_configured(self, receiver: SignedReceiver) -> None:
        """A named but unset secret variable is NotConfigured and nothing is sent."""
        with pytest.raises(NotConfigured, match="ROLLBACK_SECRET"):
            await WebhookRunner({}).run(webhook(receiver.url()), REQUEST)

        assert receiver.received == []

    async def test_client_error_is_refused_result(self, receiver: SignedReceiver) -> None:
        """A 4xx is a failed rollback naming the status, with the receiver's answer."""
        receiver.status, receiver.body = 403, "signature mismatch"

        result = await WebhookRunner({"ROLLBACK_SECRET": SECRET}).run(
            webhook(receiver.url()), REQUEST
        )

        assert not result.ok
        assert "403" in result.summary
        assert result.output == "signature mismatch"

    async def test_server_error_unavailable_without_secrets(self, receiver: SignedReceiver) -> None:
        """A 5xx is Unavailable; the message names host and port, never the path or secret."""
        receiver.status = 503

        with pytest.raises(Unavailable) as caught:
            await WebhookRunner({"ROLLBACK_SECRET": SECRET}).run(
                webhook(receiver.url("hooks/T0K3N")), REQUEST
            )

        assert str(caught.value) == f"rollback webhook 127.0.0.1:{receiver.port} answered 503"

    async def test_rate_limited_with_retry_after(self, receiver: SignedReceiver) -> None:
        """A 429 with ``Retry-After`` is RateLimited for that many seconds."""
        receiver.status, receiver.headers = 429, {"Retry-After": "7"}

        with pytest.raises(RateLimited) as caught:
            await WebhookRunner({}).run(webhook(receiver.url(), secret_env=None), REQUEST)

        assert caught.value.retry_after == 7.0

    def test_retry_after_as_http_date(self) -> None:
        """``Retry-After`` may be an HTTP date; the wait is the time until then."""
        now = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)

        assert retry_after_seconds("Wed, 01 May 2024 09:00:30 GMT", now) == 30.0

    async def test_timeout_unavailable(self, receiver: SignedReceiver) -> None:
        """A receiver slower than ``timeout`` is Unavailable, so Temporal tries again."""
        receiver.delay = 2.0

        with pytest.raises(Unavailable, match="timed out"):
            await WebhookRunner({}).run(
                webhook(receiver.url(), secret_env=None, timeout=0.2), REQUEST
            )

    async def test_connection_refused_unavailable(self, closed_port: int) -> None:
        """Nobody listening is Unavailable."""
        with pytest.raises(Unavailable, match="unreachable"):
            await WebhookRunner({}).run(
                webhook(f"http://127.0.0.1:{closed_port}/rollback", secret_env=None), REQUEST
            )

    async def test_secret_never_returned(self, receiver: SignedReceiver) -> None:
        """A receiver echoing the secret does not get it into the result."""
        receiver.body = f"debug: key={SECRET}"

        result = await WebhookRunner({"ROLLBACK_SECRET": SECRET}).run(
            webhook(receiver.url()), REQUEST
        )

        assert SECRET not in result.model_dump_json()
        assert result.output == "debug: key=***"


class TestGithubRunner:
    async def test_dispatch_with_inputs_and_token(self, fake_github: FakeGithub) -> None:
        """The workflow is dispatched on the ref with config and incident inputs, token in auth."""
        runner = GithubRunner(fake_github.token, base_url=fake_github.api_url)

        result = await runner.run(github(environment="prod"), REQUEST)

        assert result == RollbackResult(
            ok=True,
            runner="github",
            summary="dispatched Roll back on acme/shop@release",
            url="https://github.com/acme/shop/actions/workflows/rollback.yml",
        )
        assert [(r.method, r.path) for r in fake_github.requests] == [
            ("GET", "/repos/acme/shop"),
            ("GET", "/repos/acme/shop/actions/workflows/rollback.yml"),
            ("POST", "/repos/acme/shop/actions/workflows/161335/dispatches"),
        ]
        [dispatch] = fake_github.dispatches
        assert dispatch.authorization == f"token {fake_github.token}"
        assert dispatch.body == {
            "ref": "release",
            "inputs": {
                "environment": "prod",
                "incident": "inc-42",
                "service": "shop",
                "by": "alice",
                "choice": "revert",
            },
        }

    async def test_enterprise_link_from_repository(self, fake_github: FakeGithub) -> None:
        """On GitHub Enterprise the link uses the server's own web address."""
        runner = GithubRunner(fake_github.token, base_url=fake_github.enterprise_api_url)

        result = await runner.run(github(workflow="161335"), REQUEST)

        assert result.ok
        assert (
            result.url
            == f"http://127.0.0.1:{fake_github.port}/acme/shop/actions/workflows/rollback.yml"
        )
        assert all(r.path.startswith("/api/v3/repos/acme/shop") for r in fake_github.requests)

    async def test_unknown_workflow_not_found(self, fake_github: FakeGithub) -> None:
        """A workflow the repository does not have is a failed result and nothing is dispatched."""
        result = await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
            github(workflow="deploy.yml"), REQUEST
        )

        assert not result.ok
        assert result.summary.startswith("workflow deploy.yml in acme/shop not found")
        assert fake_github.dispatches == []

    async def test_unknown_repository_not_found(self, fake_github: FakeGithub) -> None:
        """A repository the token cannot see is a failed result naming the repository."""
        fake_github.repo = "acme/other"

        result = await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
            github(), REQUEST
        )

        assert not result.ok
        assert result.summary.startswith("repository acme/shop not found")

    async def test_bad_token_refused(self, fake_github: FakeGithub) -> None:
        """A token GitHub rejects is a failed result (401), not retried."""
        result = await GithubRunner("ghp_revoked", base_url=fake_github.api_url).run(
            github(), REQUEST
        )

        assert not result.ok
        assert "401" in result.summary
        assert "Bad credentials" in result.summary
        assert len(fake_github.requests) == 1

    async def test_forbidden_refused(self, fake_github: FakeGithub) -> None:
        """A 403 that is not a rate limit is a failed result with GitHub's reason."""
        fake_github.fail(403, "Resource not accessible by personal access token")

        result = await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
            github(), REQUEST
        )

        assert not result.ok
        assert "403" in result.summary
        assert "Resource not accessible by personal access token" in result.summary

    async def test_undeclared_inputs_explained(self, fake_github: FakeGithub) -> None:
        """A workflow without Tocsin's inputs is refused (422) with what it must declare."""
        fake_github.workflows = [
            FakeWorkflow(id=7, name="Roll back", file="rollback.yml", inputs=frozenset())
        ]

        result = await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
            github(), REQUEST
        )

        assert not result.ok
        assert "422" in result.summary
        assert "Unexpected inputs provided" in result.summary
        assert "declare inputs incident, service, by, choice" in result.summary

    async def test_unknown_ref_refused(self, fake_github: FakeGithub) -> None:
        """A ref that does not exist is a failed result with GitHub's message."""
        result = await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
            github(ref="hotfix"), REQUEST
        )

        assert not result.ok
        assert "No ref found for: hotfix" in result.summary

    async def test_server_error_unavailable_once(self, fake_github: FakeGithub) -> None:
        """A 500 is Unavailable after one request: PyGithub does not retry, Temporal does."""
        fake_github.fail(500)

        with pytest.raises(Unavailable, match="500"):
            await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
                github(), REQUEST
            )

        assert len(fake_github.requests) == 1

    async def test_primary_rate_limit_waits_for_reset(self, fake_github: FakeGithub) -> None:
        """A spent quota is RateLimited until ``x-ratelimit-reset``, without waiting inside."""
        fake_github.rate_limit_primary(reset_in=120)
        started = time.monotonic()

        with pytest.raises(RateLimited) as caught:
            await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
                github(), REQUEST
            )

        assert 100 < caught.value.retry_after <= 121
        assert time.monotonic() - started < 2
        assert len(fake_github.requests) == 1

    @pytest.mark.parametrize("status", [403, 429])
    async def test_secondary_rate_limit_retry_after(
        self, fake_github: FakeGithub, status: int
    ) -> None:
        """A secondary limit (403 or 429) is RateLimited for ``Retry-After`` seconds."""
        fake_github.rate_limit_secondary(retry_after=7, status=status)

        with pytest.raises(RateLimited) as caught:
            await GithubRunner(fake_github.token, base_url=fake_github.api_url).run(
                github(), REQUEST
            )

        assert caught.value.retry_after == 7.0
        assert len(fake_github.requests) == 1

    async def test_no_token_not_configured(self, fake_github: FakeGithub) -> None:
        """Without a token the runner says GITHUB_TOKEN is not set and calls nothing."""
        with pytest.raises(NotConfigured, match="GITHUB_TOKEN is not set"):
            await GithubRunner(None, base_url=fake_github.api_url).run(github(), REQUEST)

        assert fake_github.requests == []

    async def test_unreachable_unavailable(self, closed_port: int) -> None:
        """GitHub not answering at all is Unavailable."""
        runner = GithubRunner("ghp_x", base_url=f"http://127.0.0.1:{closed_port}")

        with pytest.raises(Unavailable, match="unreachable"):
            await runner.run(github(), REQUEST)


@dataclass
class RecordingRunner:
    """A rollback runner that records its calls and answers ``ok`` or raises ``error``."""

    kind: str
    error: AdapterError | None = None
    calls: list[Rollback] = field(default_factory=list)

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult:
        self.calls.append(spec)
        if self.error is not None:
            raise self.error
        return RollbackResult(ok=True, runner=self.kind, summary=f"{self.kind} ran")


def config_with(**rollbacks: dict[str, Any] | None) -> TocsinConfig:
    """A config whose services (one per keyword) have the given rollbacks."""
    return TocsinConfig.model_validate(
        {
            "people": {"alice": {"name": "Alice Example", "contact": ["console"]}},
            "teams": {"delivery": {"members": ["alice"], "escalation_policy": "delivery"}},
            "escalation_policies": {
                "delivery": {"steps": [{"targets": ["team:delivery"], "ack_timeout": "10m"}]}
            },
            "services": {
                name: {"team": "delivery", "rollback": rollback}
                for name, rollback in rollbacks.items()
            },
        }
    )


@dataclass
class StaticConfig:
    config: TocsinConfig

    def current(self) -> TocsinConfig:
        return self.config


async def run_activity(
    config: TocsinConfig, runners: dict[str, RollbackRunner], service: str = "shop"
) -> RollbackResult:
    acts = RollbackActivities(StaticConfig(config), runners)
    request = REQUEST.model_copy(update={"service": service})
    result: RollbackResult = await ActivityEnvironment().run(acts.run_rollback, request)
    return result


class TestRollbackActivity:
    async def test_dispatches_by_kind(self) -> None:
        """Each service's rollback goes to the runner for its kind."""
        config = config_with(
            shop={"kind": "webhook", "url": "https://hooks.example.com/rollback"},
            api={"kind": "command", "argv": ["kubectl", "rollout", "undo", "deploy/api"]},
        )
        runners = {k: RecordingRunner(k) for k in ("github", "webhook", "command")}

        shop = await run_activity(config, dict(runners), "shop")
        api = await run_activity(config, dict(runners), "api")

        assert (shop.runner, api.runner) == ("webhook", "command")
        assert runners["webhook"].calls == [config.services["shop"].rollback]
        assert runners["command"].calls == [config.services["api"].rollback]
        assert runners["github"].calls == []

    async def test_no_rollback_configured(self) -> None:
        """A service without a rollback is a failed result saying so."""
        result = await run_activity(config_with(shop=None), {})

        assert not result.ok
        assert result.summary == "no rollback is configured for service 'shop'"

    async def test_unknown_service(self) -> None:
        """A service the config no longer knows is a failed result saying so."""
        result = await run_activity(config_with(shop=None), {}, service="billing")

        assert not result.ok
        assert result.summary == "unknown service 'billing'"

    @pytest.mark.parametrize(
        ("error", "retryable"),
        [
            (Unavailable("GitHub answered 502"), True),
            (NotConfigured("GITHUB_TOKEN is not set"), False),
        ],
    )
    async def test_adapter_errors_become_application_errors(
        self, error: AdapterError, retryable: bool
    ) -> None:
        """Unavailable is retried by Temporal; NotConfigured is not."""
        config = config_with(shop={"kind": "github", "repo": "acme/shop", "workflow": "r.yml"})

        with pytest.raises(ApplicationError) as caught:
            await run_activity(config, {"github": RecordingRunner("github", error=error)})

        assert caught.value.type == type(error).__name__
        assert caught.value.non_retryable is not retryable
        assert str(error) in str(caught.value)

    async def test_rate_limit_sets_next_retry_delay(self) -> None:
        """RateLimited asks Temporal to retry after the server's delay."""
        config = config_with(shop={"kind": "github", "repo": "acme/shop", "workflow": "r.yml"})
        runner = RecordingRunner("github", error=RateLimited("slow down", 42))

        with pytest.raises(ApplicationError) as caught:
            await run_activity(config, {"github": runner})

        assert caught.value.next_retry_delay == timedelta(seconds=42)
        assert not caught.value.non_retryable

    async def test_built_runners_use_environment(self, fake_github: FakeGithub) -> None:
        """``GITHUB_TOKEN`` and ``GITHUB_API_URL`` from the environment reach GitHub."""
        config = config_with(
            shop={"kind": "github", "repo": "acme/shop", "workflow": "rollback.yml"}
        )
        environ = {"GITHUB_TOKEN": fake_github.token, "GITHUB_API_URL": fake_github.api_url}

        runners = build_rollback_runners(Settings.from_env(environ=environ), environ)

        result = await run_activity(config, runners)

        assert result.ok
        assert [d.authorization for d in fake_github.dispatches] == [f"token {fake_github.token}"]

    async def test_built_runners_without_token(self) -> None:
        """Without ``GITHUB_TOKEN`` a GitHub rollback fails for good, naming the variable."""
        config = config_with(
            shop={"kind": "github", "repo": "acme/shop", "workflow": "rollback.yml"}
        )

        with pytest.raises(ApplicationError, match="GITHUB_TOKEN is not set") as caught:
            await run_activity(config, build_rollback_runners(Settings(), {}))

        assert caught.value.non_retryable

    async def test_command_end_to_end(self) -> None:
        """A command rollback runs for real through the activity with the built runners."""
        config = config_with(
            shop={"kind": "command", "argv": ["/bin/sh", "-c", "echo undo $TOCSIN_SERVICE"]}
        )

        result = await run_activity(config, build_rollback_runners(Settings(), BASE_ENV))

        assert result == RollbackResult(
            ok=True, runner="command", summary="/bin/sh exited 0", output="undo shop\n"
        )
