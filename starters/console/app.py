"""The web console's wiring into the FastAPI app: its routes (sign-in and the views), its
static files (HTMX, the stylesheet, Swagger UI for ``/docs``: nothing from a CDN), and the
trip to the sign-in page when a session is missing."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from starters.console import (
    incidents_view,
    now_view,
    pages_view,
    reports_view,
    schedules_view,
    signin,
    silences_view,
    watches_view,
)
from starters.console.auth import SignInNeeded, current_session
from starters.console.render import STATIC, page, secured
from starters.console.sessions import ConsoleKeys
from starters.console.signin import Mail, signin_redirect

CONSOLE_OFF = (
    "The console needs TOCSIN_LINK_KEY (at least 32 characters; the same value for "
    "`tocsin api` and `tocsin worker`). `tocsin dev` makes one in its data directory."
)


@dataclass(frozen=True)
class ConsoleSettings:
    """What the console needs: its signing keys (from ``TOCSIN_LINK_KEY``), and the relay
    and public URL for mailed sign-in links (None: sign in with a token only)."""

    keys: ConsoleKeys | None
    mail: Mail | None = None


# Paths that are not the console's (they answer JSON, or are the one-click links).
NOT_CONSOLE = (
    "/api/",
    "/webhooks/",
    "/slack/",
    "/a/",
    "/healthz",
    "/openapi.json",
    "/docs",
    "/v2/",
)


def is_console(request: Request) -> bool:
    """Whether a request is for a console page (which answers HTML, even when it fails)."""
    return not request.url.path.startswith(NOT_CONSOLE)


async def console_problem(
    request: Request, status: int, text: str, heading: str = "Not now", *, retry: bool = False
) -> Response:
    """A failure of a console page as a page, with the navigation when signed in.
    ``retry``: a passing failure (Temporal), which a live fragment answers with nothing
    and asks again."""
    if retry and request.headers.get("HX-Request"):
        return secured(Response(status_code=204))
    try:
        session = await current_session(request)
    except HTTPException:
        session = None
    section = "/" + request.url.path.strip("/").split("/")[0]
    return page(
        request,
        "message.html",
        session,
        status=status,
        heading=heading,
        text=text,
        back=request.url.path if retry else section,
    )


def mount_console(app: FastAPI, settings: ConsoleSettings) -> None:
    """Serve the console under ``/`` and Swagger UI's files under ``/static``."""
    app.state.console_keys = settings.keys
    app.state.console_mail = settings.mail
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI from Tocsin's own copy (works offline)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Tocsin API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.exception_handler(SignInNeeded)
    async def to_signin(request: Request, exc: SignInNeeded) -> Response:
        target = signin_redirect(exc.next_path)
        if request.headers.get("HX-Request"):
            # A live fragment of an expired session: HTMX follows this to the sign-in page.
            return secured(Response(status_code=204, headers={"HX-Redirect": target}))
        return secured(RedirectResponse(target, status_code=303))

    if settings.keys is None:

        @app.get("/", include_in_schema=False)
        async def console_off(request: Request) -> Response:
            return page(
                request,
                "message.html",
                None,
                status=503,
                heading="Console off",
                text=CONSOLE_OFF,
                back=None,
            )

        return
    for module in (
        signin,
        now_view,
        pages_view,
        incidents_view,
        schedules_view,
        reports_view,
        silences_view,
        watches_view,
    ):
        app.include_router(module.router())
