"""Process settings: everything that is not in ``tocsin.yaml``, read from ``TOCSIN_*`` env vars.

Secrets (the API token, the SMTP password) only ever come from here, never from the
config file, and are held as :class:`pydantic.SecretStr` so they do not leak into logs
or reprs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from workflows.durations import format_duration, parse_duration

ENV_PREFIX = "TOCSIN_"
# The incident log databases (activities/adapters/sql_store.py normalises the drivers).
DATABASE_SCHEME = re.compile(r"^(?:sqlite(?:\+aiosqlite)?|postgres|postgresql(?:\+asyncpg)?)://")
# One-click links (starters/links.py): a key long enough to resist guessing, and a life
# long enough to answer a page from the phone, short enough that an old mail is harmless.
LINK_KEY_MIN_CHARS = 32
LINK_TTL_MIN = timedelta(minutes=5)
LINK_TTL_MAX = timedelta(days=7)


# Settings that keep the names their vendors' tools use; every other field ``x`` is TOCSIN_X.
VENDOR_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_api_url": "SLACK_API_URL",
    "github_token": "GITHUB_TOKEN",
    "github_api_url": "GITHUB_API_URL",
    "github_webhook_secret": "GITHUB_WEBHOOK_SECRET",
}


def env_name(field: str) -> str:
    """The environment variable a settings field is read from."""
    return VENDOR_NAMES.get(field, ENV_PREFIX + field.upper())


def environment() -> Mapping[str, str]:
    """The process environment: for ``${NAME}`` in the config (contact URLs, integration
    keys), a rollback's ``secret_env`` and a rollback command's environment. The one place
    outside :class:`Settings` that reads it; the composition root passes it on."""
    return os.environ


class Settings(BaseModel):
    """Settings of a Tocsin process, read from the environment by :meth:`from_env`: each
    field ``x`` from ``TOCSIN_X``, the Slack and GitHub ones under their usual names."""

    model_config = ConfigDict(frozen=True)

    config: Path = Path("tocsin.yaml")
    data_dir: Path = Path(".tocsin")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "tocsin"
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    ui_port: int = Field(default=8233, ge=1, le=65535)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    api_token: SecretStr | None = None
    alertmanager_token: SecretStr | None = None
    alertmanager_username: str | None = None
    alertmanager_password: SecretStr | None = None
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    public_url: str | None = None
    # ``auto``: readable console lines on a terminal, JSON lines otherwise (files, journald).
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: str = "info"
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "tocsin@localhost"
    smtp_starttls: bool = False
    smtp_timeout: float = Field(default=10.0, gt=0)
    # Socket Mode for Slack (an app-level ``xapp-`` token): no public URL needed.
    slack_app_token: SecretStr | None = None
    # The incident log (SQLAlchemy URL); may hold a password. Unset: SQLite under data_dir.
    database_url: SecretStr | None = None
    # The person the CLI acts as when --as is not given.
    user: str | None = None
    # The Slack app (off without the bot token) and the Web API's base URL (a proxy, a fake).
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    # GitHub (follow-ups, postmortems, workflow_dispatch rollbacks) and its webhook.
    github_token: SecretStr | None = None
    github_api_url: str | None = None
    github_webhook_secret: SecretStr | None = None
    # Signs the one-click acknowledge/escalate/open links in notifications (the worker
    # signs, the API verifies: both need the same key). Unset: no links (``tocsin dev``
    # generates one into the data dir).
    link_key: SecretStr | None = None
    # How long a one-click link works after the notification that carries it.
    link_ttl: timedelta = timedelta(hours=24)
    # The worker's sticky cache: workflows kept in memory between their tasks (a waiting
    # page costs ~0.2 MB there; one evicted is replayed, ~50 ms, on its next task).
    worker_cache: int = Field(default=1000, ge=0, le=100_000)
    # Workflow tasks and activities one worker process runs at once.
    # Few: workflow code runs on one interpreter lock, so more at once only take turns
    # (bench/escalation_lateness.py, 1,000 due at once: 100 slots p50 17.7 s, 20 15.2 s,
    # 8 10.3 s); a task waiting on a local activity holds its slot for milliseconds.
    worker_workflow_slots: int = Field(default=8, ge=1, le=10_000)
    # Many: a notification waiting on a hanging channel holds its slot until the send
    # times out, and must not hold up anybody else's (bench --beside hanging, 200 slots:
    # the healthy person's notify queued p50 4.4 s, max 25.8 s).
    worker_activity_slots: int = Field(default=1000, ge=1, le=10_000)
    # How long a cached workflow's next task waits for this worker before the server hands
    # it to any worker, which replays it from its history. Temporal's 10 s is shorter than
    # a surge's backlog: then the busiest moment is when pages get replayed.
    worker_sticky_timeout: float = Field(default=30.0, ge=1.0, le=600.0)
    # Bearer token Prometheus sends to GET /metrics on the API and on the worker's metrics
    # port. Unset: the worker serves no metrics, and the API's /metrics takes only the
    # admin API token (``tocsin dev`` generates one into the data dir).
    metrics_token: SecretStr | None = None
    # Where ``tocsin worker`` serves its /metrics (0: nowhere). Loopback unless set.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # An outside dead-man's switch (healthchecks.io, Cronitor, an Opsgenie heartbeat...):
    # the worker requests this URL every ``watchdog_interval`` seconds, but only while it
    # polls its task queue and the Temporal server answers. May hold a secret. Unset: off.
    watchdog_url: SecretStr | None = None
    watchdog_interval: float = Field(default=60.0, ge=1.0, le=3600.0)

    @field_validator("link_key")
    @classmethod
    def _long_link_key(cls, value: SecretStr | None) -> SecretStr | None:
        # The message never repeats the value: it is a secret.
        if value is not None and len(value.get_secret_value()) < LINK_KEY_MIN_CHARS:
            raise ValueError(
                f"must be at least {LINK_KEY_MIN_CHARS} characters "
                "(make one with `openssl rand -base64 32`)"
            )
        return value

    @field_validator("link_ttl", mode="before")
    @classmethod
    def _bounded_link_ttl(cls, value: object) -> timedelta:
        ttl = parse_duration(value)
        if not LINK_TTL_MIN <= ttl <= LINK_TTL_MAX:
            raise ValueError(
                f"must be between {format_duration(LINK_TTL_MIN)} and "
                f"{format_duration(LINK_TTL_MAX)} (such as '24h')"
            )
        return ttl

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: SecretStr | None) -> SecretStr | None:
        # The message never repeats the value: it may hold a password.
        if value is not None and not DATABASE_SCHEME.match(value.get_secret_value()):
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/tocsin.db or "
                "postgresql+asyncpg://user:password@host:5432/database"
            )
        return value

    @classmethod
    def from_env(
        cls, overrides: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from ``TOCSIN_*`` variables; explicit overrides (CLI flags) win.

        Raises:
            SettingsError: a variable does not parse; the message names it.
        """
        env = environment() if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(env_name(name))
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{env_name(str(err['loc'][0])) if err['loc'] else 'settings'}: {err['msg']}"
                for err in exc.errors()
            )
            raise SettingsError(problems) from None

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)


class SettingsError(ValueError):
    """A ``TOCSIN_*`` environment variable has a value Tocsin cannot use."""


# Variables whose names say they hold a secret; their values never reach a log.
SECRET_VARIABLE = re.compile(
    r"(?i)token|secret|passw(?:or)?d|api_?key|credential|private_?key|(?:^|_)key(?:_|$)"
)
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def secret_values(
    settings: Settings, environ: Mapping[str, str] | None = None, config_text: str = ""
) -> list[str]:
    """Every value a log must never show.

    The settings' secrets, the vendor tokens, any variable whose name says it is secret,
    and every variable the config refers to as ``${NAME}`` (contact URLs, integration
    keys) or names in ``secret_env`` (rollback webhooks): ``config_text`` is the raw file.
    """
    env = environment() if environ is None else environ
    found = [
        value.get_secret_value()
        for name in Settings.model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    ]
    names = {name for name in env if SECRET_VARIABLE.search(name)}
    names |= set(_REFERENCE.findall(config_text))
    names |= set(re.findall(r"secret_env:\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)", config_text))
    found += [env[name] for name in sorted(names) if env.get(name)]
    # A URL's password is secret on its own too: a library may log the URL's parts.
    found += [part for value in found for part in _url_passwords(value)]
    return found


def _url_passwords(value: str) -> list[str]:
    """The password in ``scheme://user:password@host``, as written and percent-decoded."""
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*:([^/@]+)@", value)
    if match is None:
        return []
    written = match.group(1)
    return [written, unquote(written)]


def reveal(secret: SecretStr | None) -> str | None:
    """The value of a secret setting, None when unset or empty (for the adapter that needs it)."""
    return secret.get_secret_value() or None if secret is not None else None


def env_var_names() -> list[str]:
    """Names of every environment variable :class:`Settings` reads."""
    return [env_name(name) for name in Settings.model_fields]


def database_url(settings: Settings) -> str:
    """The incident log's SQLAlchemy URL: ``TOCSIN_DATABASE_URL``, else SQLite in the data dir.

    The result may hold a password: log ``SqlStore.url`` (masked) instead.
    """
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return f"sqlite+aiosqlite:///{settings.data_dir / 'tocsin.db'}"
