"""The FastAPI application: REST API and (later) webhooks, built by a factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError, RPCStatusCode

from starters.api import (
    IncidentNotFound,
    InvalidRequest,
    PageNotFound,
    Rejected,
    TocsinClient,
)
from starters.http import incidents, oncall, pages, webhooks
from starters.http.auth import BearerAuth
from starters.http.limits import BodyLimit
from starters.http.webhooks import WebhookCredentials
from worker.settings import Settings

log = structlog.get_logger("tocsin.api")

ClientFactory = Callable[[], Awaitable[TocsinClient]]


def create_app(
    token: str,
    client: TocsinClient | ClientFactory,
    *,
    webhook_credentials: WebhookCredentials | None = None,
    max_body_bytes: int = 1 << 20,
) -> FastAPI:
    """Build the app.

    Args:
        token: the bearer token every ``/api`` route requires.
        client: a ready client (tests), or a coroutine function that connects one at start-up.
        webhook_credentials: what Alertmanager presents (default: the API token).
        max_body_bytes: larger request bodies are refused with 413.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tocsin = client if isinstance(client, TocsinClient) else await client()
        app.state.tocsin = tocsin
        app.state.intake = tocsin.intake
        yield

    app = FastAPI(
        title="Tocsin",
        summary="Durable incident response and on-call orchestration on Temporal",
        version="0.1.0",
        lifespan=lifespan,
    )
    auth = [Depends(BearerAuth(token))]
    app.include_router(pages.router, dependencies=auth)
    app.include_router(incidents.router, dependencies=auth)
    app.include_router(oncall.router, dependencies=auth)
    app.include_router(webhooks.router(webhook_credentials or WebhookCredentials(token)))
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.get("/healthz", tags=["health"])
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

    _add_error_handlers(app)
    return app


def app_from_settings(
    settings: Settings, token: str, client: TocsinClient | ClientFactory
) -> FastAPI:
    """The app as ``tocsin api`` and ``tocsin dev`` serve it, configured from the environment.

    Alertmanager authenticates with ``TOCSIN_ALERTMANAGER_TOKEN`` (default: the API token)
    or, when ``TOCSIN_ALERTMANAGER_USERNAME``/``_PASSWORD`` are set, HTTP basic auth.
    """
    am_token = settings.alertmanager_token
    am_password = settings.alertmanager_password
    credentials = WebhookCredentials(
        token=am_token.get_secret_value() if am_token else token,
        username=settings.alertmanager_username,
        password=am_password.get_secret_value() if am_password else None,
    )
    return create_app(
        token, client, webhook_credentials=credentials, max_body_bytes=settings.max_body_bytes
    )


def _add_error_handlers(app: FastAPI) -> None:
    def detail(code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handler(request: Request, exc: Exception) -> JSONResponse:
            log.info("request refused", path=request.url.path, status=code, reason=str(exc))
            return JSONResponse({"detail": str(exc)}, status_code=code)

        return handler

    app.add_exception_handler(InvalidRequest, detail(422))
    app.add_exception_handler(PageNotFound, detail(404))
    app.add_exception_handler(IncidentNotFound, detail(404))
    app.add_exception_handler(Rejected, detail(409))

    async def temporal_error(request: Request, exc: Exception) -> JSONResponse:
        code = exc.status if isinstance(exc, RPCError) else None
        log.error("temporal call failed", path=request.url.path, status=code, error=str(exc))
        unavailable = code in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
        return JSONResponse(
            {"detail": "Temporal is unavailable, try again" if unavailable else "Temporal error"},
            status_code=503 if unavailable else 502,
        )

    app.add_exception_handler(RPCError, temporal_error)
