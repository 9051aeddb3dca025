"""The FastAPI application: REST API and (later) webhooks, built by a factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.responses import Response
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.slack_chat import slack_client
from activities.adapters.smtp_mail import SmtpMailer
from activities.adapters.sql_silences import silences_of
from activities.adapters.sql_store import SqlStore
from activities.ports import Credentials, Store
from starters.alertmanager import AmWebhook
from starters.api import TocsinClient
from starters.console.app import ConsoleSettings, console_problem, is_console, mount_console
from starters.console.sessions import ConsoleKeys
from starters.console.signin import Mail
from starters.credentials import Authenticator
from starters.credentials.stores import credentials_of
from starters.errors import IncidentNotFound, InvalidRequest, PageNotFound, Rejected
from starters.events import Event
from starters.http import (
    alert_report,
    checks,
    heartbeats,
    incidents,
    metrics,
    oncall,
    opsgenie,
    page_archive,
    pagerduty,
    pages,
    reports,
    rotations,
    silences,
    webhooks,
)
from starters.http import github as github_webhook
from starters.http import log as incident_log
from starters.http.allow import AllowedMethods
from starters.http.github import GithubIssuesEvent
from starters.http.limits import BodyLimit
from starters.http.links import router as link_routes
from starters.http.problems import with_schemas
from starters.http.slack_checks import refuse_unsigned
from starters.http.tokens import router as token_routes
from starters.http.webhooks import WebhookCredentials
from starters.links import SignedLinks, link_signer
from starters.opsgenie import AlertAction, CreateAlert, RequestIds
from starters.slack.app import create_slack_app
from starters.slack.context import SlackContext
from worker.mail import smtp_settings
from worker.settings import Settings, database_url, reveal
from worker.tracing import instrument_app

log = structlog.get_logger("tocsin.api")

ClientFactory = Callable[[], Awaitable[TocsinClient]]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    temporal: bool


SLACK_NOT_CONFIGURED = (
    "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable /slack/events"
)
SOCKET_TIMEOUT = 10.0
SLACK_SOCKET_ONLY = (
    "Slack is served over Socket Mode (TOCSIN_SLACK_APP_TOKEN); set SLACK_SIGNING_SECRET "
    "to accept requests at /slack/events too"
)


@dataclass(frozen=True)
class SlackSettings:
    """What the Slack app needs beyond the Tocsin client: its Web API client and how
    Slack reaches it (signed HTTP requests, Socket Mode, or both)."""

    signing_secret: str | None
    client: AsyncWebClient
    # An app-level token (``xapp-…``, scope ``connections:write``) turns on Socket Mode.
    app_token: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackSettings | None:
        """From ``SLACK_BOT_TOKEN`` (and ``SLACK_API_URL``) plus ``SLACK_SIGNING_SECRET``
        and/or ``TOCSIN_SLACK_APP_TOKEN``; None without the bot token or either way in."""
        secret = reveal(settings.slack_signing_secret)
        app_token = reveal(settings.slack_app_token)
        client = slack_client(reveal(settings.slack_bot_token), settings.slack_api_url)
        if client is None or (secret is None and app_token is None):
            return None
        return cls(signing_secret=secret, client=client, app_token=app_token)


def create_app(
    token: str,
    client: TocsinClient | ClientFactory,
    *,
    webhook_credentials: WebhookCredentials | None = None,
    max_body_bytes: int = 1 << 20,
    slack: SlackSettings | None = None,
    store: Store | None = None,
    github_webhook_secret: str | None = None,
    credentials: Credentials | None = None,
    links: SignedLinks | None = None,
    console: ConsoleSettings | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """Build the app.

    Args:
        token: the bearer token every ``/api`` route requires.
        client: a ready client (tests), or a coroutine function that connects one at start-up.
        webhook_credentials: what Alertmanager presents (default: the API token).
        max_body_bytes: larger request bodies are refused with 413.
        slack: when given, Slack's events, commands and interactivity are served at
            ``POST /slack/events``; without it that route answers 503.
        store: the incident log behind ``/api/log`` and ``/api/report`` (503 without one),
            and the record of GitHub deliveries already processed when it keeps one
            (without it, a redelivery is processed again); closed when the app stops.
        github_webhook_secret: verifies ``POST /webhooks/github`` deliveries (503 without).
        credentials: the API tokens besides ``token`` (default: those in ``store``'s
            database when it has one; without any, only ``token`` is accepted).
        links: verifies one-click links at ``/a/{token}`` (without it they answer 404).
        console: the web console's keys and mail (without it ``/`` says the console is
            off; ``/docs`` and its files are served either way).
        metrics_token: what Prometheus presents at ``GET /metrics`` besides ``token``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tocsin = client if isinstance(client, TocsinClient) else await client()
        app.state.tocsin = tocsin
        app.state.intake = tocsin.intake
        app.state.slack = None
        app.state.store = store
        socket: AsyncSocketModeHandler | None = None
        if slack is not None:
            ctx = SlackContext(tocsin=tocsin, config=tocsin.config, silences=silences_of(store))
            if slack.signing_secret is not None:
                bolt = create_slack_app(
                    ctx, signing_secret=slack.signing_secret, client=slack.client
                )
                app.state.slack = AsyncSlackRequestHandler(bolt)
                app.state.slack_verifier = SignatureVerifier(slack.signing_secret)
            if slack.app_token is not None:
                socket = await connect_socket_mode(ctx, slack.client, slack.app_token)
        yield
        if socket is not None:
            # Shutdown must not hang on a socket that will not close.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(socket.close_async(), SOCKET_TIMEOUT)  # type: ignore[no-untyped-call]
        if isinstance(store, SqlStore):
            await store.close()

    app = FastAPI(
        title="Tocsin",
        summary="Durable incident response and on-call orchestration on Temporal",
        version="0.1.0",
        lifespan=lifespan,
        # Served by the console from Tocsin's own copy of Swagger UI (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    if not token:
        raise ValueError("the API token must not be empty")
    app.state.api_token = token
    app.state.metrics_tokens = metrics.metrics_tokens(token, metrics_token)
    app.state.open_counted = metrics.counted_never()
    app.state.opsgenie_requests = RequestIds(token)
    stored = credentials if credentials is not None else credentials_of(store)
    app.state.authenticator = Authenticator(token, stored)
    _add_routers(
        app, webhook_credentials or WebhookCredentials(token), github_webhook_secret, links
    )
    mount_console(app, console or ConsoleSettings(keys=None))
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, answer=_too_large)

    app.openapi = with_schemas(app, [AmWebhook, Event, GithubIssuesEvent, CreateAlert, AlertAction])  # type: ignore[method-assign]  # FastAPI's documented way to extend the description
    app.add_middleware(AllowedMethods, describe=app.openapi)

    _add_health(app)
    app.include_router(metrics.router)
    # Outermost: times and counts every answer, refusals by the middlewares above too.
    app.add_middleware(metrics.RequestMetrics)

    @app.post("/slack/events", tags=["slack"], include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Slack's events, slash commands and interactivity (signature checked by bolt)."""
        handler: AsyncSlackRequestHandler | None = getattr(request.app.state, "slack", None)
        if handler is None:
            socket_only = slack is not None and slack.app_token is not None
            detail = SLACK_SOCKET_ONLY if socket_only else SLACK_NOT_CONFIGURED
            return JSONResponse({"detail": detail}, status_code=503)
        # Bolt parses the body before it checks the signature, and raises on a body it
        # cannot parse: check the signature first, and answer what is still unparsable 400.
        if (
            refusal := await refuse_unsigned(request, request.app.state.slack_verifier)
        ) is not None:
            return refusal
        try:
            return await handler.handle(request)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            log.info("malformed slack request", error=type(err).__name__)
            return JSONResponse({"error": "malformed Slack request body"}, status_code=400)

    _add_error_handlers(app)
    return app


def _too_large(path: str, limit: int) -> tuple[int, dict[str, Any]] | None:
    """A body over the limit, answered in the sender's own format where it has one."""
    return pagerduty.too_large(path, limit) or opsgenie.too_large(path, limit)


def _add_health(app: FastAPI) -> None:
    @app.get(
        "/healthz",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Health, "description": "Temporal does not answer"}},
    )
    async def healthz(request: Request) -> JSONResponse:
        """Liveness plus whether Temporal answers (no auth: for load balancers)."""
        tocsin: TocsinClient = request.app.state.tocsin
        try:
            ok = await tocsin.temporal.service_client.check_health()
        except RPCError:
            ok = False
        return JSONResponse(
            {"status": "ok" if ok else "degraded", "temporal": ok}, status_code=200 if ok else 503
        )


def app_from_settings(
    settings: Settings, token: str, client: TocsinClient | ClientFactory
) -> FastAPI:
    """The app as ``tocsin api`` and ``tocsin dev`` serve it, configured by ``settings``.

    Alertmanager authenticates with ``TOCSIN_ALERTMANAGER_TOKEN`` (default: the API token)
    or, when ``TOCSIN_ALERTMANAGER_USERNAME``/``_PASSWORD`` are set, HTTP basic auth.
    Slack is served at ``/slack/events`` when ``SLACK_BOT_TOKEN`` and
    ``SLACK_SIGNING_SECRET`` are set.
    """
    am_token = settings.alertmanager_token
    am_password = settings.alertmanager_password
    credentials = WebhookCredentials(
        token=am_token.get_secret_value() if am_token else token,
        username=settings.alertmanager_username,
        password=am_password.get_secret_value() if am_password else None,
    )
    app = create_app(
        token,
        client,
        webhook_credentials=credentials,
        max_body_bytes=settings.max_body_bytes,
        slack=SlackSettings.from_settings(settings),
        github_webhook_secret=reveal(settings.github_webhook_secret),
        # Opens nothing yet: the first /api/log request connects and migrates.
        store=SqlStore(database_url(settings)),
        # The API only verifies links (the worker makes their URLs): no base URL needed.
        links=link_signer(settings, settings.public_url or ""),
        console=console_settings(settings),
        metrics_token=reveal(settings.metrics_token),
    )
    # A server span per request when OTEL_EXPORTER_OTLP_ENDPOINT is set (worker/tracing.py).
    instrument_app(app)
    return app


def console_settings(settings: Settings) -> ConsoleSettings:
    """The console's keys from ``TOCSIN_LINK_KEY``; sign-in links by mail when
    ``TOCSIN_SMTP_HOST`` and ``TOCSIN_PUBLIC_URL`` are set."""
    key = reveal(settings.link_key)
    smtp = smtp_settings(settings)
    mail = None
    if smtp is not None and settings.public_url:
        mail = Mail(SmtpMailer(smtp), settings.public_url)
    return ConsoleSettings(keys=ConsoleKeys(key) if key else None, mail=mail)


async def connect_socket_mode(
    ctx: SlackContext, client: AsyncWebClient, app_token: str
) -> AsyncSocketModeHandler:
    """Serve the Slack app over Socket Mode: Tocsin dials out, no public URL needed.

    Slack authenticates the connection (the app token), so there is no request signature
    to check. A failed first connection is logged, not fatal: the HTTP API keeps serving,
    and the socket client reconnects on its own once connected.
    """
    bolt = create_slack_app(ctx, signing_secret=None, client=client)
    handler = AsyncSocketModeHandler(bolt, app_token, web_client=client)
    try:
        await asyncio.wait_for(handler.connect_async(), SOCKET_TIMEOUT)  # type: ignore[no-untyped-call]
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as err:
        log.warning("slack socket mode not connected", error=type(err).__name__)
    else:
        log.info("slack socket mode connected")
    return handler


def _add_routers(
    app: FastAPI,
    credentials: WebhookCredentials,
    github_secret: str | None,
    links: SignedLinks | None,
) -> None:
    """Every route but health and Slack: bearer auth on /api, each webhook its own auth,
    one-click links their signature."""
    app.include_router(pages.router)
    app.include_router(page_archive.router)
    app.include_router(incidents.router)
    app.include_router(oncall.router)
    app.include_router(incident_log.router)
    app.include_router(reports.router)
    app.include_router(checks.router)
    app.include_router(alert_report.router)
    app.include_router(silences.router)
    app.include_router(token_routes)
    app.include_router(link_routes(links))
    app.include_router(rotations.router())
    app.include_router(heartbeats.router())
    app.include_router(webhooks.router(credentials))
    app.include_router(opsgenie.router())
    app.include_router(github_webhook.router(github_secret))


def _add_error_handlers(app: FastAPI) -> None:
    def detail(code: int, heading: str) -> Callable[[Request, Exception], Awaitable[Response]]:
        """``{"detail": …}`` with ``code``; a console page says it under ``heading``."""

        async def handler(request: Request, exc: Exception) -> Response:
            log.info("request refused", path=request.url.path, status=code, reason=str(exc))
            if is_console(request):
                return await console_problem(request, code, str(exc), heading)
            return JSONResponse({"detail": str(exc)}, status_code=code)

        return handler

    app.add_exception_handler(InvalidRequest, detail(422, "Not possible"))
    app.add_exception_handler(PageNotFound, detail(404, "No such page"))
    app.add_exception_handler(IncidentNotFound, detail(404, "No such incident"))
    app.add_exception_handler(Rejected, detail(409, "Not done"))

    async def temporal_error(request: Request, exc: Exception) -> Response:
        code = exc.status if isinstance(exc, RPCError) else None
        log.error("temporal call failed", path=request.url.path, status=code, error=str(exc))
        unavailable = code in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
        text = "Temporal is unavailable, try again" if unavailable else "Temporal error"
        status = 503 if unavailable else 502
        if is_console(request):
            return await console_problem(request, status, text, retry=True)
        return JSONResponse({"detail": text}, status_code=status)

    app.add_exception_handler(RPCError, temporal_error)
