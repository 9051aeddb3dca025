"""Rendering the console: one Jinja2 environment (autoescaped), the context every page
gets, and the headers every answer carries (no caching, a strict content security policy:
the console runs only scripts and styles Tocsin serves)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from starters.console.sessions import Session

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
FLASH_COOKIE = "tocsin_flash"

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# The main sections, in the order the navigation shows them: (path, label).
NAV = (
    ("/", "Now"),
    ("/pages", "Pages"),
    ("/incidents", "Incidents"),
    ("/schedules", "Schedules"),
    ("/reports", "Reports"),
    ("/silences", "Silences"),
    ("/watches", "Watches"),
)


UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def age(when: datetime | None, now: datetime | None = None) -> str:
    """``3m``, ``2h``, ``4d``: the largest whole unit (``<1m`` under a minute)."""
    if when is None:
        return "—"
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    for unit, size in UNITS:
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "<1m"


def until(when: datetime | None, now: datetime | None = None) -> str:
    """``3h`` until a moment to come (``<1m`` when it is here)."""
    if when is None:
        return "—"
    current = now or datetime.now(UTC)
    return age(current - (when - current), current) if when > current else "<1m"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``3m ago``; ``just now`` under a minute."""
    shown = age(when, now)
    return {"—": "—", "<1m": "just now"}.get(shown, f"{shown} ago")


def at(when: datetime | None) -> str:
    """``2026-11-30 14:05 UTC``."""
    return "—" if when is None else f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = ago
    env.filters["age"] = age
    env.filters["until"] = until
    env.filters["qs"] = lambda values: urlencode({k: v for k, v in values.items() if v})
    env.filters["at"] = at
    return env


ENV = environment()


def render_text(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def html(content: str, status: int = 200) -> HTMLResponse:
    return secured(HTMLResponse(content, status_code=status))  # type: ignore[return-value]


def page(
    request: Request,
    template: str,
    session: Session | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A whole page: the layout (navigation, who is signed in, the message of the last
    action) around ``template``."""
    keys = request.app.state.console_keys
    people = request.app.state.tocsin.config.current().people
    me = None
    if session is not None:
        known = people.get(session.person)
        me = {"id": session.person, "name": known.name if known else session.person}
    content = render_text(
        template,
        request=request,
        path=request.url.path,
        nav=NAV,
        me=me,
        csrf=keys.form_token(session.nonce) if session is not None else "",
        flash=read_flash(request),
        now=datetime.now(UTC),
        **context,
    )
    response = html(content, status)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def read_flash(request: Request) -> dict[str, Any] | None:
    """The message of the last action (``{"ok": bool, "text": str}``), shown once."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        ok, text = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, TypeError):
        return None
    return {"ok": bool(ok), "text": str(text)[:2000]}


def done(target: str, text: str, *, ok: bool = True) -> Response:
    """After a form: back to ``target`` (303), which shows ``text`` once."""
    response = RedirectResponse(target, status_code=303)
    value = base64.urlsafe_b64encode(json.dumps([ok, text[:1500]]).encode()).decode()
    response.set_cookie(
        FLASH_COOKIE, value.rstrip("="), max_age=60, httponly=True, samesite="lax", path="/"
    )
    return secured(response)


def fragment(request: Request, template: str, session: Session, **context: Any) -> Response:
    """A part of a page that refreshes itself (``hx-get`` every few seconds): 204 when it
    reads as it did (``?v=`` is the version it showed), so nothing moves under the reader."""
    keys = request.app.state.console_keys
    base = {
        "request": request,
        "csrf": keys.form_token(session.nonce),
        "now": datetime.now(UTC),
        "me": {"id": session.person},
    }
    # The version is of the fragment as shown (ages included, so they move each minute).
    content = render_text(template, **base, version="", **context)
    version = hashlib.sha256(content.encode()).hexdigest()[:16]
    if request.query_params.get("v") == version:
        return secured(Response(status_code=204))
    return html(render_text(template, **base, version=version, **context))
