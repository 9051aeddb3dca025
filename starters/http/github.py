"""``POST /webhooks/github``: follow-up issues closed or reopened on GitHub.

GitHub signs each delivery with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body
with the webhook's secret, ``GITHUB_WEBHOOK_SECRET``). The body is the event's JSON
(content type ``application/json``) or a form with the JSON in its ``payload`` field
(``application/x-www-form-urlencoded``, see :mod:`starters.http.github_form`); either way
the signature is checked over the body as sent. Only ``issues`` events with action
``closed`` or ``reopened`` matter. They go to every incident the issue follows up: those
its ``INC-<n>`` labels name, and those that linked it by URL (the store's index of linked
issues, by repository and number, which still finds them when the label was never added
or has been removed). Each incident's workflow gets an ``issue_changed`` signal; one that
is not running does not keep the others from theirs. Anything else is answered 202
"ignored" with the reason (GitHub shows it in the delivery log), never an error: an event
about an issue Tocsin does not track is not a failure.

A delivery GitHub sends again (a redelivery keeps its ``X-GitHub-Delivery`` id) is answered
200 "duplicate" and not signalled twice: the app's store remembers the ids of delivered
events for a week (see ``activities.adapters.sql_store.DELIVERY_WINDOW``). Without a store,
or without the header, every delivery is processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from activities.errors import AdapterError
from activities.ports import DeliveryLog, FollowupIssues
from starters.api import TocsinClient
from starters.errors import IncidentNotFound
from starters.http.github_form import FORM, FORM_SCHEMA, FormProblem, form_payload, is_form
from starters.http.guard import json_problem
from starters.http.problems import json_body, refusals
from workflows.followup_issues import incidents_from_labels
from workflows.incident_models import IssueEvent

log = structlog.get_logger("tocsin.webhooks.github")

NOT_CONFIGURED = (
    "GitHub webhooks are not configured: set GITHUB_WEBHOOK_SECRET to the webhook's secret"
)
SOURCE = "github"
# The store keeps up to 128 characters; GitHub's ids are 36-character GUIDs.
MAX_DELIVERY_ID = 128
DELIVERIES_UNAVAILABLE = "the record of processed deliveries is unavailable: redeliver later"
LINKS_UNAVAILABLE = "the record of issues linked to follow-ups is unavailable: redeliver later"
_STATES = {"closed": "closed", "reopened": "open"}


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class GithubAnswer(BaseModel):
    """What became of a delivery (GitHub shows it in the webhook's delivery log)."""

    status: Literal["delivered", "duplicate", "ignored", "pong"]
    # The first incident signalled (an issue usually follows up one).
    incident: str | None = None
    # Every incident signalled, and those the issue names that are not running.
    incidents: list[str] | None = None
    not_running: list[str] | None = None
    delivery: str | None = None
    reason: str | None = None


class GithubIssue(BaseModel):
    number: int
    labels: list[dict[str, Any]] = []
    html_url: str | None = None


class GithubIssuesEvent(BaseModel):
    """The parts of GitHub's ``issues`` event Tocsin reads."""

    action: str
    issue: GithubIssue
    repository: dict[str, Any]
    sender: dict[str, Any] | None = None


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


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _refused_body(reason: str) -> JSONResponse:
    log.info("webhook refused", path="/webhooks/github", status=400, reason=reason)
    return JSONResponse({"detail": reason}, status_code=400)


def _issue_change(
    event: str, content_type: str | None, body: bytes, delivery: str | None
) -> tuple[list[str], IssueEvent] | JSONResponse:
    """The incidents an ``issues`` event's labels name and the change it carries, or the
    answer to give."""
    if event != "issues":
        return _ignored(f"{event or 'unnamed'} events are not used", delivery=delivery)
    if is_form(content_type):
        try:
            body = form_payload(body)
        except FormProblem as wrong:
            return _refused_body(str(wrong))
    if (problem := json_problem(body)) is not None:
        return _refused_body(problem)
    try:
        payload = json.loads(body)
        action = _text(payload["action"])
        issue = payload["issue"]
        labels = [_text(label["name"]) for label in issue.get("labels") or []]
        repo = _text(payload["repository"]["full_name"])
        number = int(issue["number"])
        change = IssueEvent(
            repo=repo,
            number=number,
            state="closed" if _STATES.get(action) == "closed" else "open",
            url=str(issue.get("html_url") or ""),
            by=(payload.get("sender") or {}).get("login"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        # Anything not shaped like GitHub's issues event; the reason names the part.
        log.info(
            "webhook refused",
            path="/webhooks/github",
            status=400,
            reason=f"{type(err).__name__}: {err}"[:200],
        )
        return JSONResponse({"detail": "not a GitHub issues event"}, status_code=400)
    if action not in _STATES:
        return _ignored(f"action {action!r} does not change a follow-up", delivery=delivery)
    return incidents_from_labels(labels), change


async def _incidents(
    request: Request, labelled: list[str], change: IssueEvent
) -> list[str] | JSONResponse:
    """Every incident the issue follows up: its labels' and those that linked it by URL
    (none of those without a store that keeps links); or the answer to give."""
    links = getattr(request.app.state, "store", None)
    linked: list[str] = []
    if isinstance(links, FollowupIssues):
        try:
            linked = await links.incidents_for_issue(change.repo, change.number)
        except AdapterError:
            # Refused rather than delivered to the labels' incidents only: GitHub shows
            # the failure, and the delivery can be sent again once the store is back.
            return JSONResponse({"detail": LINKS_UNAVAILABLE}, status_code=503)
    incidents = list(dict.fromkeys([*labelled, *linked]))
    if not incidents:
        return _ignored(
            "the issue has no INC-<n> label and no incident linked it as a follow-up",
            repo=change.repo,
            number=change.number,
        )
    return incidents


def _not_running(incidents: list[str]) -> str:
    if len(incidents) == 1:
        return f"{incidents[0]} is not a running incident"
    return f"{', '.join(incidents)} are not running incidents"


@dataclass(frozen=True)
class _Claim:
    """A delivery id recorded before its signal is sent, released when it is not sent."""

    deliveries: DeliveryLog
    delivery: str

    async def release(self) -> None:
        try:
            await self.deliveries.forget_delivery(SOURCE, self.delivery)
        except AdapterError:
            # The store logged why. The id stays recorded, so a redelivery will be answered
            # "duplicate": the incident's periodic issue check then brings the change in.
            log.warning("github delivery still recorded as processed", delivery=self.delivery)


async def _claim(request: Request, delivery: str | None) -> _Claim | JSONResponse | None:
    """Record the delivery id; the answer instead when it was recorded before (or cannot
    be); None when there is nothing to record (no header, or an app without a store)."""
    deliveries = getattr(request.app.state, "store", None)
    if not delivery or not isinstance(deliveries, DeliveryLog):
        return None
    if len(delivery) > MAX_DELIVERY_ID:
        reason = "X-GitHub-Delivery too long"
        log.info("webhook refused", path="/webhooks/github", status=400, reason=reason)
        return JSONResponse(
            {"detail": f"X-GitHub-Delivery is longer than {MAX_DELIVERY_ID} characters"},
            status_code=400,
        )
    try:
        new = await deliveries.remember_delivery(SOURCE, delivery, datetime.now(UTC))
    except AdapterError:
        # Refused rather than processed unchecked: GitHub shows the failure, and the
        # delivery can be sent again once the store is back.
        return JSONResponse({"detail": DELIVERIES_UNAVAILABLE}, status_code=503)
    if not new:
        log.info("github delivery already processed", delivery=delivery)
        return JSONResponse({"status": "duplicate", "delivery": delivery})
    return _Claim(deliveries, delivery)


async def _deliver(
    request: Request, incidents: list[str], issue_event: IssueEvent, delivery: str | None
) -> JSONResponse:
    """Signal each incident's workflow, once per delivery id."""
    # The id is recorded *before* the signals and released if none is sent. Recording it
    # only after a successful signal would let two identical deliveries arriving together
    # both signal; this way the store's unique key picks one. And a failed signal (Temporal
    # unavailable: the route answers 5xx, GitHub shows the delivery as failed) leaves the
    # id free, so its redelivery is processed, not dropped as a duplicate; incidents
    # signalled before the failure are signalled again then, which changes nothing (an
    # issue already closed closes nothing more). Only a crash between recording and
    # signalling loses the event; the incident's periodic issue check is the safety net
    # for that, as for any missed webhook.
    tocsin: TocsinClient = request.app.state.tocsin
    claim = await _claim(request, delivery)
    if isinstance(claim, JSONResponse):
        return claim
    signalled: list[str] = []
    stopped: list[str] = []
    try:
        for incident in incidents:
            try:
                await tocsin.issue_changed(incident, issue_event)
            except IncidentNotFound:
                stopped.append(incident)
                continue
            signalled.append(incident)
            log.info(
                "github issue event delivered",
                incident=incident,
                repo=issue_event.repo,
                number=issue_event.number,
                state=issue_event.state,
                delivery=delivery,
            )
    except BaseException:
        if claim is not None:
            await claim.release()
        raise
    if not signalled:
        if claim is not None:
            await claim.release()
        return _ignored(_not_running(stopped), delivery=delivery)
    answer = GithubAnswer(
        status="delivered",
        incident=signalled[0],
        incidents=signalled,
        not_running=stopped or None,
    )
    return JSONResponse(answer.model_dump(exclude_none=True))


def _body() -> dict[str, Any]:
    """The request body: the event as JSON, or GitHub's form with the JSON in ``payload``."""
    described = json_body(
        GithubIssuesEvent,
        "A GitHub ``issues`` event, signed by GitHub: the JSON itself, or (the webhook's "
        "content type set to form) a form whose ``payload`` field holds it.",
    )
    described["requestBody"]["content"][FORM] = {"schema": FORM_SCHEMA}
    return described


def router(secret: str | None) -> APIRouter:
    """The GitHub webhook route; without ``secret`` it answers 503."""
    routes = APIRouter(tags=["webhooks"])

    @routes.post(
        "/webhooks/github",
        response_model=GithubAnswer,
        responses={
            202: {"model": GithubAnswer, "description": "Not an event Tocsin acts on: why"},
            **refusals(400, 401, 413, 503),
        },
        openapi_extra={
            **_body(),
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": required,
                    "description": text,
                    "schema": {"type": "string"},
                }
                for name, required, text in (
                    ("X-Hub-Signature-256", True, "sha256= HMAC of the body"),
                    ("X-GitHub-Event", True, "the event's name (issues, ping)"),
                    ("X-GitHub-Delivery", False, "the delivery's id"),
                )
            ],
        },
    )
    async def github_webhook(request: Request) -> JSONResponse:
        """GitHub ``issues`` events: a closed or reopened follow-up reaches its incidents."""
        if not secret:
            return JSONResponse({"detail": NOT_CONFIGURED}, status_code=503)
        body = await request.body()
        if (refused := _refused(secret, request, body)) is not None:
            return refused
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery")
        if event == "ping":
            return JSONResponse({"status": "pong"})
        change = _issue_change(event, request.headers.get("content-type"), body, delivery)
        if isinstance(change, JSONResponse):
            return change
        labelled, issue_event = change
        incidents = await _incidents(request, labelled, issue_event)
        if isinstance(incidents, JSONResponse):
            return incidents
        return await _deliver(request, incidents, issue_event, delivery)

    return routes
