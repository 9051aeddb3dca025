"""``POST /webhooks/github``: follow-up issues closed or reopened on GitHub.

GitHub signs each delivery with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body
with the webhook's secret, ``GITHUB_WEBHOOK_SECRET``). Only ``issues`` events with action
``closed`` or ``reopened`` matter; the issue's ``INC-<n>`` label names the incident, whose
workflow gets an ``issue_changed`` signal. Anything else is answered 202 "ignored" with
the reason (GitHub shows it in the delivery log), never an error: an event about an
issue Tocsin does not track is not a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError, RPCStatusCode

from starters.api import TocsinClient
from workflows.followup_issues import incident_from_labels
from workflows.incident import incident_workflow_id
from workflows.incident_models import IssueEvent

log = structlog.get_logger("tocsin.webhooks.github")

NOT_CONFIGURED = (
    "GitHub webhooks are not configured: set GITHUB_WEBHOOK_SECRET to the webhook's secret"
)
SIGNAL = "issue_changed"
_STATES = {"closed": "closed", "reopened": "open"}


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _ignored(reason: str, **context: Any) -> JSONResponse:
    log.info("github event ignored", reason=reason, **context)
    return JSONResponse({"status": "ignored", "reason": reason}, status_code=202)


def _refused(secret: str, request: Request, body: bytes) -> JSONResponse | None:
    """401 unless the body carries the secret's signature (compared in constant time)."""
    given = request.headers.get("x-hub-signature-256", "")
    if hmac.compare_digest(given.encode(), signature(secret, body).encode()):
        return None
    reason = "bad signature" if given else "missing X-Hub-Signature-256"
    log.info("webhook refused", path=request.url.path, status=401, reason=reason)
    return JSONResponse(
        {"detail": f"{reason}: sign the body with the webhook's secret"}, status_code=401
    )


def _issue_change(
    event: str, body: bytes, delivery: str | None
) -> tuple[str, IssueEvent] | JSONResponse:
    """The incident and the change an ``issues`` event carries, or the answer to give."""
    if event != "issues":
        return _ignored(f"{event or 'unnamed'} events are not used", delivery=delivery)
    try:
        payload = json.loads(body)
        action = payload["action"]
        issue = payload["issue"]
        labels = [label["name"] for label in issue.get("labels") or []]
        repo = payload["repository"]["full_name"]
        number = int(issue["number"])
    except (ValueError, KeyError, TypeError) as err:
        log.info("webhook refused", path="/webhooks/github", status=400, reason=str(err))
        return JSONResponse({"detail": "not a GitHub issues event"}, status_code=400)
    if action not in _STATES:
        return _ignored(f"action {action!r} does not change a follow-up", delivery=delivery)
    incident = incident_from_labels(labels)
    if incident is None:
        return _ignored("the issue has no INC-<n> label", repo=repo, number=number)
    return incident, IssueEvent(
        repo=repo,
        number=number,
        state="closed" if _STATES[action] == "closed" else "open",
        url=str(issue.get("html_url") or ""),
        by=(payload.get("sender") or {}).get("login"),
    )


def router(secret: str | None) -> APIRouter:
    """The GitHub webhook route; without ``secret`` it answers 503."""
    routes = APIRouter(tags=["webhooks"])

    @routes.post("/webhooks/github")
    async def github_webhook(request: Request) -> JSONResponse:
        """GitHub ``issues`` events: a closed or reopened follow-up reaches its incident."""
        if not secret:
            return JSONResponse({"detail": NOT_CONFIGURED}, status_code=503)
        body = await request.body()
        if (refused := _refused(secret, request, body)) is not None:
            return refused
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery")
        if event == "ping":
            return JSONResponse({"status": "pong"})
        change = _issue_change(event, body, delivery)
        if isinstance(change, JSONResponse):
            return change
        incident, issue_event = change
        tocsin: TocsinClient = request.app.state.tocsin
        handle = tocsin.temporal.get_workflow_handle(incident_workflow_id(incident))
        try:
            await handle.signal(SIGNAL, issue_event)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return _ignored(f"{incident} is not a running incident", delivery=delivery)
        log.info(
            "github issue event delivered",
            incident=incident,
            repo=issue_event.repo,
            number=issue_event.number,
            state=issue_event.state,
        )
        return JSONResponse({"status": "delivered", "incident": incident})

    return routes
