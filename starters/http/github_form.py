"""GitHub's form-encoded webhook deliveries: the event as JSON in a ``payload`` field.

A webhook whose content type is ``application/x-www-form-urlencoded`` (GitHub's ``form``,
which is also what a webhook created through the REST API gets unless told otherwise)
posts ``payload=<the event's JSON, URL-encoded>``. Its signature covers that body as sent,
so the route checks it before anything here decodes the form.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

FORM = "application/x-www-form-urlencoded"
# GitHub sends one field; a few more are tolerated, a flood of them is not parsed.
MAX_FIELDS = 16
FORM_SCHEMA = {
    "type": "object",
    "required": ["payload"],
    "properties": {
        "payload": {
            "type": "string",
            "description": "The event as JSON (the webhook's content type set to form).",
        }
    },
}


class FormProblem(ValueError):
    """A form body that does not carry one event; the message says what is wrong."""


def is_form(content_type: str | None) -> bool:
    """Whether the delivery's ``Content-Type`` is the form encoding (parameters ignored)."""
    return (content_type or "").split(";", 1)[0].strip().lower() == FORM


def form_payload(body: bytes) -> bytes:
    """The event's JSON from a form-encoded body.

    Raises:
        FormProblem: the body is not URL-encoded text, or has no single non-empty
            ``payload`` field.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormProblem("form body is not UTF-8 text: GitHub sends it URL-encoded") from None
    if text.count("&") + 1 > MAX_FIELDS:
        raise FormProblem(f"form body has more than {MAX_FIELDS} fields: GitHub sends payload only")
    try:
        fields = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
        )
    except UnicodeDecodeError:
        raise FormProblem("form body's payload is not percent-encoded UTF-8") from None
    except ValueError as err:
        raise FormProblem(f"form body is not URL-encoded name=value pairs ({err})") from None
    payloads = [value for name, value in fields if name == "payload"]
    if not payloads:
        raise FormProblem(
            "form body has no payload field: GitHub sends the event as payload=<JSON>"
        )
    if len(payloads) > 1:
        raise FormProblem(f"form body has {len(payloads)} payload fields: expected one")
    if not payloads[0].strip():
        raise FormProblem("form body's payload field is empty: expected the event as JSON")
    return payloads[0].encode()
