"""One-click links (``/a/{token}``): GET confirms, POST acts, as the person of the link.

The signed token in the path is the whole credential (:mod:`starters.links`): these
routes take no bearer token and set no cookie. So there is nothing ambient for another
site to borrow (no cross-site request forgery), and the confirmation's form needs no
field of its own: it posts back to the very URL it came from, token included.

- A GET never changes anything: mail scanners and link previews fetch links before
  anyone clicks. It shows the page, what the action will do and one button.
- The POST verifies the link again, then acts through the typed client with
  ``by=<the link's person>``; the workflow's validators decide as for any other caller
  (a second acknowledgement is refused with who acknowledged first).
- A link that is cut, altered or signed with another key is 400, an expired one 410, a
  page that has moved on 409 with the workflow's reason, an unknown page 404; nothing
  changes. Every answer is a small HTML page that nobody may cache or frame.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse
from starlette.convertors import Convertor, register_url_convertor
from temporalio.service import RPCError

from activities.cli_hint import tocsin_command
from starters.api import TocsinClient
from starters.errors import IncidentNotFound, PageNotFound, Rejected
from starters.http.link_pages import (
    DONE,
    Html,
    confirm,
    done,
    incident_view,
    moved_on,
    page_view,
    refused,
)
from starters.http.pages import Tocsin
from starters.links import ExpiredLink, InvalidLink, LinkGrant, SignedLinks
from workflows.models import PageActionInput

# How timelines name an action taken through a signed link (mailed to the link's person).
LINK_VIA = "signed link"

log = structlog.get_logger("tocsin.links")

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    # No script, no external asset, no framing (a one-click button must not be
    # clickjacked), and the form posts only back to this origin.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
LINKS_OFF = (
    "This Tocsin has no TOCSIN_LINK_KEY, so it neither makes nor accepts one-click links. "
    f"Use the CLI ({tocsin_command()} page ack ID) or the API instead."
)
UNAVAILABLE = "Tocsin cannot reach Temporal right now. Try again in a moment."


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


AUTH_NOTE = (
    "Authenticated by the link itself: an HMAC-SHA256 signature under TOCSIN_LINK_KEY over "
    "the subject, the action, the person and the expiry, made by the worker for the "
    "notified person. No bearer token is read and no cookie is set."
)
ROUTE: dict[str, Any] = {
    "description": AUTH_NOTE,
    "response_class": HTMLResponse,
    # Declared as needing no bearer token: the signature in the path is the credential.
    "openapi_extra": {"security": []},
    "responses": {
        200: _html("The confirmation (GET), the outcome (POST), or the page's state (open)"),
        400: _html("Not a link this Tocsin signed: cut, altered, or signed with another key"),
        404: _html("One-click links are off (no TOCSIN_LINK_KEY), or no such page or incident"),
        409: _html("The page moved on (already acknowledged or resolved): the reason is shown"),
        410: _html("The link has expired (TOCSIN_LINK_TTL after its notification)"),
        503: _html("Temporal does not answer: try again"),
    },
}
Token = Annotated[str, Path(description="The signed link token (l1.<grant>.<signature>)")]


class AnyText(Convertor[str]):
    """The rest of the path, whatever it holds. Starlette's ``path`` stops at a newline, and
    a link a mail client mangled must still get this route's answer, not a bare 404."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("link", AnyText())


def router(links: SignedLinks | None) -> APIRouter:
    """``GET`` and ``POST /a/{token}``, verified with ``links`` (None: links are off, and
    every link answers 404 saying so)."""
    routes = APIRouter(tags=["one-click links"])

    @routes.get("/a/{token:link}", summary="Confirm a one-click action", **ROUTE)
    async def confirm_link(token: Token, client: Tocsin) -> HTMLResponse:
        """Show what the link will do and a button that POSTs; never acts."""
        return _respond(await _answer(links, client, token, act=False))

    @routes.post("/a/{token:link}", summary="Perform a one-click action", **ROUTE)
    async def act_on_link(token: Token, client: Tocsin) -> HTMLResponse:
        """Verify the link again and act as its person (``open`` links only show the state)."""
        return _respond(await _answer(links, client, token, act=True))

    return routes


def _respond(page: Html) -> HTMLResponse:
    return HTMLResponse(page.body, page.status, headers=HEADERS)


async def _answer(
    links: SignedLinks | None, client: TocsinClient, token: str, *, act: bool
) -> Html:
    if links is None:
        return refused(404, "One-click links are off", LINKS_OFF)
    try:
        grant = links.check(token)
    except ExpiredLink as err:
        # The token itself is never logged: it is a credential until it expires.
        _log_refusal(err.grant, 410, str(err))
        return refused(
            410,
            "This link has expired",
            f"{err}. Use a newer notification, or the CLI: "
            f"{tocsin_command()} page ack {err.grant.subject}",
        )
    except InvalidLink as err:
        log.info("link refused", status=400, reason=str(err))
        return refused(400, "This link is not valid", str(err))
    try:
        return await _serve(client, grant, act=act)
    except (PageNotFound, IncidentNotFound) as err:
        _log_refusal(grant, 404, str(err))
        return refused(404, "Not found", str(err))
    except RPCError as err:
        log.warning("temporal call failed", subject=grant.subject, error=str(err))
        return refused(503, "Try again", UNAVAILABLE)


async def _serve(client: TocsinClient, grant: LinkGrant, *, act: bool) -> Html:
    if grant.kind == "incident":
        return incident_view(await client.get_incident(grant.subject))
    if grant.action == "open":
        return page_view(await client.get_page(grant.subject))
    if act:
        return await _act(client, grant)
    page = await client.get_page(grant.subject)
    reason = moved_on(page)
    if reason is not None:
        return refused(409, "Nothing to do", reason, page)
    person = client.config.current().people.get(grant.person)
    return confirm(grant, page, person.name if person is not None else grant.person)


async def _act(client: TocsinClient, grant: LinkGrant) -> Html:
    """Acknowledge or escalate as the link's person; the workflow decides."""
    action = client.acknowledge if grant.action == "acknowledge" else client.escalate
    try:
        page = await action(grant.subject, PageActionInput(by=grant.person, via=LINK_VIA))
    except Rejected as err:
        _log_refusal(grant, 409, str(err))
        return refused(409, f"Not {DONE[grant.action].lower()}", str(err))
    log.info("one-click action", page_id=grant.subject, action=grant.action, person=grant.person)
    return done(grant, page)


def _log_refusal(grant: LinkGrant, status: int, reason: str) -> None:
    log.info(
        "link refused",
        status=status,
        subject=grant.subject,
        action=grant.action,
        person=grant.person,
        reason=reason,
    )
