"""Forces an exception in every adapter that holds a secret and finds no planted secret in
the captured output of either log format.

Each adapter fails for real (a closed loopback port, a server that answers 500 and echoes
the credentials it was sent, an SMTP server that refuses the login, a command run in a
directory that is a file), with its secret in the local variables of the frames the
exception passes through. The failure is then logged the ways Tocsin's processes log one:
the Temporal worker's "Completing activity as failed" record, ``log.exception`` in the
handler, and an event that carries the secret-bearing objects as fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
import structlog
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from pydantic import SecretStr

from activities.adapters.apprise import AppriseNotifier, expand
from activities.adapters.github_tracker import GithubTracker
from activities.adapters.rollback_command import CommandRunner
from activities.adapters.rollback_github import GithubRunner
from activities.adapters.rollback_webhook import WebhookRunner
from activities.adapters.slack_chat import SlackChat, slack_client
from activities.adapters.slack_notify import SlackNotifier
from activities.adapters.smtp import SmtpNotifier
from activities.adapters.smtp_mail import SmtpMailer
from activities.adapters.sql_store import SqlStore
from activities.ports import Message
from tests.unit.test_adapters import LoopbackController
from worker.logging import configure_logging, flush_logs
from worker.mail import smtp_settings
from worker.redaction import REDACTED
from worker.settings import Settings, database_url, secret_values
from workflows.config import Person
from workflows.incident_config import CommandRollback, GithubRollback, WebhookRollback
from workflows.incident_models import IssueSpec, LogQuery
from workflows.models import RollbackRequest, RollbackResult

Format = Literal["console", "json"]

ALICE = Person(
    name="Alice Example", email="alice@example.com", slack="U0ALICE", contact=["slack", "email"]
)
MESSAGE = Message(
    subject="[Tocsin] PAGE [delivery] Database is down (step 1/3)",
    body="Alice Example, you are paged for team delivery.\n\nPage:    db-down\n",
    page_id="db-down",
    ack_command="tocsin page ack db-down --as alice",
    ack_url="http://127.0.0.1:8080/api/pages/db-down/ack",
)
REQUEST = RollbackRequest(incident_id="inc-42", service="shop", by="alice", choice="revert")
# A guard against a hang: each failure takes well under a second (closed ports, servers
# that answer at once), and every client is given a 2 s timeout besides.
FAIL_WITHIN = 5.0
TRACEBACK = "Traceback (most recent call last)"


def _random(n: int = 24) -> str:
    return secrets.token_urlsafe(n)


@dataclasses.dataclass(frozen=True)
class Planted:
    """Secrets shaped like the real ones, fresh for each test so that none is already known
    to the process-wide redactor from an earlier test: each must be discovered again."""

    slack_token: str
    github_token: str
    ntfy_token: str
    rollback_secret: str
    deploy_token: str
    smtp_password: str
    api_token: str
    db_password: str

    @classmethod
    def fresh(cls) -> Planted:
        digits = "".join(secrets.choice("0123456789") for _ in range(12))
        return cls(
            slack_token=f"xoxb-{digits}-{digits[::-1]}-{_random(18)}",
            github_token=f"ghp_{secrets.token_hex(18)}",
            ntfy_token=f"tk_{_random()}",
            rollback_secret=f"whsec_{_random()}",
            deploy_token=f"dpl_{_random()}",
            smtp_password=f"smtp-{_random()}",
            api_token=f"tcn_{_random()}",
            db_password=f"pg-{_random()}",
        )

    def values(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Echo:
    """A loopback HTTP server that fails every request with a 500 whose JSON body repeats
    the request's headers, credentials included: a broken proxy in front of a vendor."""

    seen: list[dict[str, str]] = dataclasses.field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            _, *lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)}
            length = next((v for k, v in headers.items() if k.lower() == "content-length"), "0")
            await reader.readexactly(int(length))
            self.seen.append(headers)
            body = json.dumps(
                {"ok": False, "error": "internal_error", "proxy_saw": headers}
            ).encode()
            writer.write(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class RefuseLogin:
    """An aiosmtpd handler and authenticator: every login is refused, no mail is taken."""

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        return AuthResult(success=False, handled=False)


@dataclasses.dataclass
class Attempt:
    """One adapter call that must fail, and the fields a careless handler would log with it."""

    adapter: str
    call: Callable[[], Awaitable[object]]
    fields: dict[str, object]


@dataclasses.dataclass(frozen=True)
class Scene:
    """Where the adapters are pointed, and the settings, environment and config they read."""

    planted: Planted
    closed: int
    echo: Echo
    smtpd_port: int
    workdir: Path

    @property
    def environ(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLACK_BOT_TOKEN": self.planted.slack_token,
            "SLACK_API_URL": f"http://127.0.0.1:{self.closed}/api",
            "GITHUB_TOKEN": self.planted.github_token,
            "PLANTED_NTFY_TOKEN": self.planted.ntfy_token,
            "PLANTED_ROLLBACK_SECRET": self.planted.rollback_secret,
            "DEPLOY_API_TOKEN": self.planted.deploy_token,
        }

    @property
    def apprise_address(self) -> str:
        return f"json://127.0.0.1:{self.closed}/hook?token=${{PLANTED_NTFY_TOKEN}}"

    @property
    def config_text(self) -> str:
        """The parts of a ``tocsin.yaml`` that name secrets only by reference."""
        return (
            "people:\n"
            "  alice:\n"
            "    name: Alice Example\n"
            f"    contact: ['{self.apprise_address}']\n"
            "services:\n"
            "  shop:\n"
            "    rollback:\n"
            "      kind: webhook\n"
            f"      url: http://127.0.0.1:{self.closed}/rollback\n"
            "      secret_env: PLANTED_ROLLBACK_SECRET\n"
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            api_token=SecretStr(self.planted.api_token),
            smtp_host="127.0.0.1",
            smtp_port=self.closed,
            smtp_user="tocsin",
            smtp_password=SecretStr(self.planted.smtp_password),
            smtp_timeout=2.0,
            database_url=SecretStr(
                f"postgresql+asyncpg://tocsin:{self.planted.db_password}"
                f"@127.0.0.1:{self.closed}/tocsin"
            ),
        )

    def secrets(self) -> list[str]:
        """What a process hides, found as the processes find it."""
        return secret_values(self.settings, environ=self.environ, config_text=self.config_text)


def attempts(scene: Scene) -> list[Attempt]:
    """One failing call per adapter; secrets sit in the locals of the frames that raise."""
    planted, env, settings = scene.planted, scene.environ, scene.settings

    # Slack, closed port: aiohttp cannot connect.
    async def slack_notify() -> object:
        client = slack_client(env["SLACK_BOT_TOKEN"], env["SLACK_API_URL"])
        assert client is not None
        bot_token = client.token
        return await SlackNotifier(client).send(ALICE, f"slack with {bot_token}", MESSAGE)

    # Slack behind a proxy that answers 500 and repeats the bearer token in its body.
    slack_env = {"SLACK_BOT_TOKEN": planted.slack_token, "SLACK_API_URL": f"{scene.echo.url}/api"}

    async def slack_chat() -> object:
        client = slack_client(slack_env["SLACK_BOT_TOKEN"], slack_env["SLACK_API_URL"])
        assert client is not None
        return await SlackChat(client).create_channel("inc-42 checkout is down", private=False)

    # SMTP, closed port (the page notifier), with the settings the worker builds.
    smtp = smtp_settings(settings)
    assert smtp is not None

    async def smtp_notify() -> object:
        password = smtp.password
        assert password is not None
        return await SmtpNotifier(smtp).send(ALICE, "email", MESSAGE)

    # An SMTP server that refuses the login (the postmortem mailer).
    refused = dataclasses.replace(smtp, port=scene.smtpd_port)

    async def smtp_mail() -> object:
        login = (refused.user, refused.password)
        assert all(login)
        await SmtpMailer(refused).send_mail(["team@example.com"], "Postmortem", "Text.")
        return None

    # Apprise json://, closed port, the token expanded from the environment at send time.
    expanded_url = expand(scene.apprise_address, env)

    async def apprise() -> object:
        expanded = expand(scene.apprise_address, env)
        assert planted.ntfy_token in expanded
        return await AppriseNotifier(env).send(ALICE, scene.apprise_address, MESSAGE)

    # GitHub issues, closed port.
    issue = IssueSpec(
        key="inc-42/1", repo="acme/shop", title="Add a replica", body="Why.", labels=["INC-42"]
    )

    async def github_tracker() -> object:
        github_token = env["GITHUB_TOKEN"]
        tracker = GithubTracker(
            github_token, base_url=f"http://127.0.0.1:{scene.closed}", timeout=2
        )
        return await tracker.create_issue(issue)

    # GitHub Actions behind the echoing proxy: the 500's body, which carries the token, is
    # in the GithubException that the runner's error is raised from.
    dispatch = GithubRollback(kind="github", repo="acme/shop", workflow="rollback.yml")

    async def rollback_github() -> object:
        github_token = env["GITHUB_TOKEN"]
        runner = GithubRunner(github_token, base_url=scene.echo.url, timeout=2)
        return await runner.run(dispatch, REQUEST)

    # A signed webhook, closed port; the signing secret comes from the environment.
    hook = WebhookRollback(
        kind="webhook",
        url=f"http://127.0.0.1:{scene.closed}/rollback",
        secret_env="PLANTED_ROLLBACK_SECRET",
        timeout=timedelta(seconds=2),
    )

    async def rollback_webhook() -> object:
        shared = env[hook.secret_env or ""]
        assert shared
        return await WebhookRunner(env).run(hook, REQUEST)

    # A command that fails and prints the secret it was given (a failed result whose output
    # carries it), then a rollback the command runner cannot run: that one raises.
    command_fields: dict[str, object] = {}
    fails = CommandRollback(
        kind="command",
        argv=["/bin/sh", "-c", 'echo "deploy refused for $DEPLOY_API_TOKEN" >&2; exit 3'],
        timeout=timedelta(seconds=5),
    )

    async def rollback_command() -> object:
        runner = CommandRunner(env)
        result = await runner.run(fails, REQUEST)
        command_fields["result"] = result
        token = env["DEPLOY_API_TOKEN"]
        assert token
        return await runner.run(hook, REQUEST)

    # PostgreSQL, closed port; the URL carries the password.
    raw_url = database_url(settings)
    store = SqlStore(raw_url)

    async def sql_store() -> object:
        dsn = raw_url
        try:
            return await store.list_incidents(LogQuery(limit=1))
        finally:
            await store.close()
            assert dsn

    return [
        Attempt(
            "slack_notify",
            slack_notify,
            {"request_headers": {"Authorization": f"Bearer {planted.slack_token}"}},
        ),
        Attempt("slack_chat", slack_chat, {"environ": slack_env}),
        Attempt("smtp_notify", smtp_notify, {"settings": smtp}),
        Attempt(
            "smtp_mail", smtp_mail, {"settings": refused, "login": (refused.user, refused.password)}
        ),
        Attempt("apprise", apprise, {"url": expanded_url, "address": scene.apprise_address}),
        Attempt(
            "github_tracker",
            github_tracker,
            {"sent": f"token {planted.github_token}", "token": planted.github_token},
        ),
        Attempt(
            "rollback_github",
            rollback_github,
            {"spec": dispatch, "auth": f"token {planted.github_token}"},
        ),
        Attempt(
            "rollback_webhook",
            rollback_webhook,
            {"spec": hook, "signing_with": planted.rollback_secret, "environ": env},
        ),
        Attempt("rollback_command", rollback_command, command_fields),
        Attempt(
            "sql_store",
            sql_store,
            {
                "settings": settings,
                "url": raw_url,
                "store": store,
                "engine_url": store.engine.url,
                "dsn": store.engine.url.render_as_string(hide_password=False),
            },
        ),
    ]


async def provoke(attempt: Attempt, planted: Planted) -> BaseException:
    """Run the call, which must raise, and log the error the three ways the processes do."""
    _every_secret_in_this_frame = planted.values()  # the old renderer printed it
    try:
        async with asyncio.timeout(FAIL_WITHIN) as deadline:
            await attempt.call()
    except Exception as err:
        if deadline.expired():
            pytest.fail(f"{attempt.adapter} hung instead of failing fast")
        # What the Temporal worker logs when an activity raises.
        logging.getLogger("temporalio.activity").warning(
            f"Completing activity as failed ({{'activity_type': '{attempt.adapter}', 'attempt': 1}})",
            exc_info=err,
        )
        log = structlog.get_logger("tocsin.test")
        log.exception("adapter failed", adapter=attempt.adapter)
        log.error("adapter failed", adapter=attempt.adapter, error=str(err), **attempt.fields)
        return err
    pytest.fail(f"{attempt.adapter} did not fail")


def _leaks(text: str, planted: Planted) -> list[str]:
    """Each planted secret that appears in ``text``, with the text around it."""
    shown: list[str] = []
    for name, value in planted.values().items():
        at = text.find(value)
        while at != -1:
            around = text[max(at - 160, 0) : at + len(value) + 40]
            shown.append(f"{name} ({value}) leaked in: ...{around}...")
            at = text.find(value, at + 1)
    return shown


def _chain(err: BaseException) -> list[str]:
    """The type names of ``err`` and of the exceptions it was raised from or during."""
    names: list[str] = []
    seen: BaseException | None = err
    while seen is not None and type(seen).__name__ not in names:
        names.append(type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return names


def _names_one(text: str, err: BaseException) -> bool:
    return any(name in text for name in _chain(err))


def _assert_reported(chunk: str, fmt: Format, adapter: str, err: BaseException) -> None:
    """The adapter's three events are all there, each exception with its traceback."""
    assert f"Completing activity as failed ({{'activity_type': '{adapter}'" in chunk, chunk
    assert chunk.count(TRACEBACK) >= 2, chunk
    assert _names_one(chunk, err), chunk
    assert REDACTED in chunk, chunk  # the secret-bearing fields were there and were hidden
    if fmt == "console":
        assert chunk.count(f"adapter={adapter}") == 2, chunk
        return
    events = [json.loads(line) for line in chunk.splitlines() if line.strip()]
    temporal = [e for e in events if e.get("logger") == "temporalio.activity"]
    ours = [e for e in events if e.get("adapter") == adapter]
    assert len(temporal) == 1, chunk
    assert TRACEBACK in temporal[0]["exception"]
    assert [e["event"] for e in ours] == ["adapter failed", "adapter failed"], chunk
    assert TRACEBACK in ours[0]["exception"]
    assert ours[1]["error"]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Back to the default console logging afterwards (other tests use capture_logs)."""
    yield
    configure_logging("console", "info")


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    """The echoing proxy, recording what each request carried."""
    server = Echo()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def smtpd_port() -> Iterator[int]:
    """An SMTP server on loopback that offers AUTH without TLS and refuses every login."""
    refuse = RefuseLogin()
    controller = LoopbackController(
        refuse, hostname="127.0.0.1", port=0, authenticator=refuse, auth_require_tls=False
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def scene(closed_port: int, echo: Echo, smtpd_port: int, tmp_path: Path) -> Scene:
    return Scene(Planted.fresh(), closed_port, echo, smtpd_port, tmp_path)


class TestSecretDiscovery:
    """The processes' secret discovery finds every value this module plants."""

    def test_every_planted_value_found(self, scene: Scene) -> None:
        """Settings, vendor variables, secret-named variables and ``${NAME}``/``secret_env``
        references together name every planted secret (the password inside its URL)."""
        found = scene.secrets()
        planted = scene.planted.values()
        db_password = planted.pop("db_password")

        assert set(planted.values()) <= set(found)
        assert any(db_password in value for value in found)


class TestAdapterFailureLogs:
    """A failing adapter, logged every way Tocsin logs a failure, shows none of its secrets."""

    @pytest.mark.parametrize("background", [False, True], ids=["inline", "background"])
    @pytest.mark.parametrize("fmt", ["console", "json"])
    async def test_no_planted_secret_in_output(
        self, scene: Scene, fmt: Format, background: bool
    ) -> None:
        """Every adapter fails and is logged; the output names each failure, never a secret."""
        out = io.StringIO()
        configure_logging(fmt, "debug", secrets=scene.secrets(), background=background, stream=out)

        runs = attempts(scene)
        failures: list[tuple[str, BaseException, str]] = []
        for attempt in runs:
            start = len(out.getvalue())
            err = await provoke(attempt, scene.planted)
            flush_logs()
            failures.append((attempt.adapter, err, out.getvalue()[start:]))
        text = out.getvalue()

        leaks = _leaks(text, scene.planted)
        assert not leaks, "\n".join(leaks)
        for adapter, err, chunk in failures:
            _assert_reported(chunk, fmt, adapter, err)
        # The secrets really were in play: sent to the echoing proxy, printed by the command.
        sent = [h.get("Authorization", h.get("authorization", "")) for h in scene.echo.seen]
        assert f"Bearer {scene.planted.slack_token}" in sent
        assert f"token {scene.planted.github_token}" in sent
        [command] = [a for a in runs if a.adapter == "rollback_command"]
        result = command.fields["result"]
        assert isinstance(result, RollbackResult)
        assert not result.ok
        assert scene.planted.deploy_token in result.output
