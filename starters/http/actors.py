"""The actor of an API request, from its credential (see :mod:`workflows.actors`).

A person token acts as its person: a body whose ``by`` names someone else is refused
(403) before anything is sent to a workflow. An admin token (or ``TOCSIN_API_TOKEN``)
acts for the person its ``by`` names, recorded as ``admin <token> for <person>``. Any
``via`` or ``admin`` a body carries is replaced.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

from activities.credential_models import Kind
from starters.credentials import Principal
from starters.http.auth import CurrentPrincipal
from workflows.actors import Acted

log = structlog.get_logger("tocsin.api")

A = TypeVar("A", bound=Acted)


def credential_via(principal: Principal) -> str:
    """How timelines name a credential: ``token laptop``, ``admin ops-bot``,
    ``admin TOCSIN_API_TOKEN``, ``integration ci``."""
    if principal.kind is Kind.person:
        return f"token {principal.token_name}"
    if principal.is_admin:
        return f"admin {principal.token_name}"
    return f"{principal.kind} {principal.token_name}"


def acting_person(request: Request, principal: Principal, by: str | None) -> str:
    """The person a request acts as.

    Raises:
        HTTPException: 403 when a person token names another person; 422 when an admin
            token names nobody; 403 for an integration token (it acts as no person).
    """
    if principal.kind is Kind.person and principal.person is not None:
        if by and by != principal.person:
            reason = (
                f"this token acts as {principal.person}: it may not act as {by} "
                "(omit 'by', or use that person's own token)"
            )
            log.info("request refused", path=request.url.path, status=403, reason=reason)
            raise HTTPException(status.HTTP_403_FORBIDDEN, reason)
        return principal.person
    if principal.is_admin:
        if not by:
            raise RequestValidationError(
                [
                    {
                        "type": "missing",
                        "loc": ("body", "by"),
                        "msg": "an admin token acts for a named person: give 'by'",
                        "input": None,
                    }
                ]
            )
        return by
    reason = f"this {principal.kind} token acts as no person: use a person or admin token"
    log.info("request refused", path=request.url.path, status=403, reason=reason)
    raise HTTPException(status.HTTP_403_FORBIDDEN, reason)


def stamp(request: Request, principal: Principal, body: A) -> A:
    """``body`` with its actor taken from ``principal`` (see the module's description)."""
    person = acting_person(request, principal, body.by or None)
    return body.model_copy(
        update={"by": person, "via": credential_via(principal), "admin": principal.is_admin}
    )


class Acting:
    """A route's way to stamp its body with the caller (a dependency: :data:`ActingAs`)."""

    def __init__(self, request: Request, principal: Principal) -> None:
        self.request = request
        self.principal = principal

    def __call__(self, body: A) -> A:
        return stamp(self.request, self.principal, body)


async def acting(request: Request, principal: CurrentPrincipal) -> Acting:
    return Acting(request, principal)


ActingAs = Annotated[Acting, Depends(acting)]
