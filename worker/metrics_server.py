"""The worker's ``GET /metrics``: this process's series (``tocsin_*`` and the Temporal
SDK's) for Prometheus, behind the bearer token ``TOCSIN_METRICS_TOKEN``.

Without a token the worker serves nothing (a metrics endpoint, like every other, takes a
credential); it says so once at start. Any other path is 404.
"""

from __future__ import annotations

import asyncio
import hmac

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from starters.server import serve_api
from worker.settings import Settings, reveal

log = structlog.get_logger("tocsin.worker")

BEARER = "bearer "


def metrics_app(token: str) -> Starlette:
    """An app answering ``GET /metrics`` to ``Authorization: Bearer <token>`` only."""
    expected = token.encode()

    async def metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        if not given.lower().startswith(BEARER) or not hmac.compare_digest(
            given[len(BEARER) :].strip().encode(), expected
        ):
            return PlainTextResponse(
                "a bearer token (TOCSIN_METRICS_TOKEN) is required",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="tocsin-metrics"'},
            )
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])


async def serve_metrics(settings: Settings, stop: asyncio.Event) -> None:
    """Serve the worker's /metrics until ``stop`` is set (nothing without a token or with
    port 0; a port that cannot be bound is logged as an error, not raised)."""
    token = reveal(settings.metrics_token)
    if settings.worker_metrics_port == 0:
        return
    if token is None:
        log.info("worker metrics off: set TOCSIN_METRICS_TOKEN to serve /metrics")
        return
    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    log.info("worker metrics", url=f"http://{host}:{port}/metrics")
    try:
        await serve_api(metrics_app(token), host, port, stop)
    except OSError as err:
        # Pages matter more than their metrics: the worker goes on without them.
        log.error(
            "worker metrics not served: the worker runs on without them",
            error=str(err),
            fix="free the port or set TOCSIN_WORKER_METRICS_PORT",
        )
