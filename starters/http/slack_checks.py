"""What a request to ``POST /slack/events`` must be before the SDK looks at it.

Slack signs ``v0:<timestamp>:<body>`` with the app's signing secret; the SDK's verifier
turns the timestamp into an int and decodes the body as UTF-8, and raises on either.
A request that cannot be Slack's is answered 400 here instead of a 500 there. Once the
signature holds, the JSON inside (an events body, or an interaction's ``payload``
field) gets the same depth check as every other JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier

from starters.http.guard import json_problem

log = structlog.get_logger("tocsin.slack")


async def refuse_unsigned(request: Request, verifier: SignatureVerifier) -> JSONResponse | None:
    """The answer to a request that is not a well-formed signed Slack request, or None."""
    body = await request.body()
    if (problem := slack_request_problem(body, request.headers)) is None:
        if not verifier.is_valid_request(body, dict(request.headers)):
            return JSONResponse({"error": "invalid request signature"}, status_code=401)
        problem = slack_payload_problem(body)
    if problem is None:
        return None
    log.info("slack request refused", status=400, reason=problem)
    return JSONResponse({"error": problem}, status_code=400)


def slack_request_problem(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Why this cannot be a signed Slack request, or None (checked before the signature)."""
    timestamp = headers.get("x-slack-request-timestamp")
    if timestamp is not None and not (timestamp.isascii() and timestamp.isdigit()):
        return "X-Slack-Request-Timestamp must be a Unix time in seconds"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8 text"
    return None


def slack_payload_problem(body: bytes) -> str | None:
    """Why the JSON in a signed Slack body must not be parsed, or None."""
    if body.lstrip().startswith(b"{"):
        return json_problem(body)
    for value in parse_qs(body.decode("utf-8")).get("payload", []):
        if (problem := json_problem(value.encode())) is not None:
            return problem
    return None
