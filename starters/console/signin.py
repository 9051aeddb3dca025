"""Signing in to the console: with a person's token, or with a link mailed to them.

The sign-in forms carry a form token tied to a random cookie set with the form (no
session exists yet). A mailed link, like a one-click link, only shows a button on GET
(mail scanners open links); the button signs in. Answers never tell whether an address
or a person id is known.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from activities.adapters.smtp_mail import SmtpMailer
from activities.credential_models import Kind
from activities.errors import AdapterError
from starters.console.auth import FormSession, current_session, keys
from starters.console.render import page, secured
from starters.console.sessions import COOKIE, PRESESSION_COOKIE, SESSION_TTL, BadToken
from starters.credentials import Authenticator

log = structlog.get_logger("tocsin.console")

MAILED = (
    "If that is a person Tocsin knows with an e-mail address, a sign-in link is on its way "
    "to them. It works for 15 minutes."
)


@dataclass(frozen=True)
class Mail:
    """How the console mails sign-in links: the SMTP relay and Tocsin's public URL."""

    mailer: SmtpMailer
    public_url: str


def local_path(target: str | None) -> str:
    """``target`` when it is a path on this site (never another site: ``//x``, ``/\\x``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def signed_in_response(request: Request, cookie: str, target: str) -> Response:
    response = RedirectResponse(local_path(target), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/signin")
    return secured(response)


def _presession(request: Request) -> str:
    """The nonce a sign-in form's token is tied to (this browser's, or a new one)."""
    return request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(16)


def _with_presession(response: Response, nonce: str) -> Response:
    response.set_cookie(PRESESSION_COOKIE, nonce, httponly=True, samesite="strict", path="/signin")
    return response


def _link_refused(request: Request, token: str, error: str) -> Response:
    """A mailed link that signs nobody in, and why (400)."""
    return page(
        request, "signin_link.html", None, status=400, error=error, token=token, person=None
    )


def _signin_page(request: Request, error: str | None = None, code: int = 200) -> Response:
    nonce = _presession(request)
    mail: Mail | None = request.app.state.console_mail
    response = page(
        request,
        "signin.html",
        None,
        status=code,
        form_token=keys(request).form_token(nonce),
        next=local_path(request.query_params.get("next")),
        error=error,
        mail=mail is not None,
    )
    return _with_presession(response, nonce)


def _check_form(request: Request, supplied: str) -> None:
    nonce = request.cookies.get(PRESESSION_COOKIE)
    if nonce is None or not keys(request).form_token_matches(nonce, supplied):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this sign-in form has expired or did not come from Tocsin: reload it",
        )


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/signin")
    async def signin_form(request: Request) -> Response:
        if await current_session(request) is not None:
            return RedirectResponse(local_path(request.query_params.get("next")), 303)
        return _signin_page(request)

    @routes.post("/signin")
    async def signin_with_token(
        request: Request,
        token: Annotated[str, Form(max_length=200)],
        csrf: Annotated[str, Form(max_length=200)],
        next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/",
    ) -> Response:
        _check_form(request, csrf)
        authenticator: Authenticator = request.app.state.authenticator
        try:
            principal = await authenticator.authenticate(token)
        except AdapterError:
            return _signin_page(request, "The token store is unavailable: try again.", 503)
        if principal is None:
            log.info("console sign-in refused", reason="invalid token")
            return _signin_page(
                request, "That token is not valid (unknown, revoked or mistyped).", 401
            )
        if principal.kind is not Kind.person or principal.person is None:
            return _signin_page(
                request,
                f"Sign in with a person's token: this is an {principal.kind} token.",
                403,
            )
        cookie = keys(request).session(
            principal.person, f"token {principal.token_name}", principal.token_id, _now()
        )
        log.info("console sign-in", person=principal.person, credential=principal.token_name)
        return signed_in_response(request, cookie, next_path)

    @routes.post("/signin/mail")
    async def signin_by_mail(
        request: Request,
        who: Annotated[str, Form(min_length=1, max_length=200)],
        csrf: Annotated[str, Form(max_length=200)],
    ) -> Response:
        _check_form(request, csrf)
        mail: Mail | None = request.app.state.console_mail
        if mail is None:
            return _signin_page(request, "Sign-in links need TOCSIN_SMTP_HOST: use a token.", 503)
        people = request.app.state.tocsin.config.current().people
        wanted = who.strip().lower()
        found = next(
            (
                (pid, p)
                for pid, p in people.items()
                if p.email and wanted in (pid.lower(), p.email.lower())
            ),
            None,
        )
        if found is not None:
            person_id, person = found
            url = f"{mail.public_url.rstrip('/')}/signin/m/{keys(request).signin_link(person_id, _now())}"
            body = (
                f"Hello {person.name},\n\nopen this link to sign in to Tocsin (it works for 15 "
                f"minutes, once you press the button it shows):\n\n{url}\n\nIf you did not ask "
                "for it, ignore this mail: nothing happens until the button is pressed.\n"
            )
            try:
                await mail.mailer.send_mail([person.email], "Sign in to Tocsin", body)
            except (AdapterError, OSError) as err:
                log.warning("sign-in link not sent", person=person_id, error=type(err).__name__)
            else:
                log.info("sign-in link sent", person=person_id)
        return page(request, "signin_sent.html", None, message=MAILED)

    @routes.get("/signin/m/{token}")
    async def mailed_link(request: Request, token: str) -> Response:
        try:
            person = keys(request).open_signin_link(token, _now())
        except BadToken as err:
            return _link_refused(request, token, _why(err))
        nonce = _presession(request)
        response = page(
            request,
            "signin_link.html",
            None,
            error=None,
            token=token,
            person=person,
            form_token=keys(request).form_token(nonce),
        )
        return _with_presession(response, nonce)

    @routes.post("/signin/m/{token}")
    async def use_mailed_link(
        request: Request, token: str, csrf: Annotated[str, Form(max_length=200)]
    ) -> Response:
        _check_form(request, csrf)
        try:
            person = keys(request).open_signin_link(token, _now())
        except BadToken as err:
            return _link_refused(request, token, _why(err))
        if person not in request.app.state.tocsin.config.current().people:
            return _link_refused(request, token, "This person is no longer in Tocsin's config.")
        cookie = keys(request).session(person, "mailed link", None, _now())
        log.info("console sign-in", person=person, credential="mailed link")
        return signed_in_response(request, cookie, "/")

    @routes.post("/signout")
    async def signout(request: Request, session: FormSession) -> Response:
        response = RedirectResponse("/signin", status_code=status.HTTP_303_SEE_OTHER)
        response.delete_cookie(COOKIE, path="/")
        log.info("console sign-out", person=session.person)
        return secured(response)

    return routes


def _now() -> datetime:
    return datetime.now(UTC)


def _why(err: BadToken) -> str:
    if str(err) == "expired":
        return "This sign-in link has expired (they work for 15 minutes): ask for a new one."
    return "This sign-in link is not valid: it was cut or altered, or not made by this Tocsin."


def signin_redirect(next_path: str) -> str:
    return f"/signin?next={quote(next_path, safe='/')}"
