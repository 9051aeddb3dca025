"""How refusals look, written down once for the OpenAPI description.

Every refusal is ``{"detail": …}``: a sentence for Tocsin's own checks, or FastAPI's list
of field errors when a body or parameter does not match its schema. Routes declare which
of these they can answer, so that a client generated from ``/openapi.json`` (and a schema
checker) knows every answer it can get.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class Problem(BaseModel):
    """What was wrong, in a sentence."""

    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidInput(BaseModel):
    """A value Tocsin cannot use: a sentence naming the field, or one entry per field."""

    detail: str | list[FieldProblem]


_TEXT = {
    400: "The body is not JSON Tocsin parses (not JSON, nested too deep, NaN), or not what "
    "the sender claims",
    401: "Missing or wrong credentials",
    403: "The token's kind or scopes do not allow this call; the detail names what is needed",
    404: "No such page, incident, rotation or person",
    409: "Refused by the workflow: the action does not apply in its current state",
    413: "The body is larger than TOCSIN_MAX_BODY_BYTES",
    422: "A value Tocsin cannot use; the detail names the field",
    503: "Temporal (or the incident log) is unavailable: try again",
}
_MODELS: dict[int, type[BaseModel]] = {422: InvalidInput}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router that may answer these codes."""
    return {
        code: {"model": _MODELS.get(code, Problem), "description": _TEXT[code]} for code in codes
    }


# What every authenticated JSON route may answer besides success.
API_REFUSALS = refusals(400, 401, 403, 404, 409, 413, 422, 503)


def json_body(model: type[BaseModel], description: str) -> dict[str, Any]:
    """``openapi_extra=`` describing the JSON body a route reads itself (webhooks do, to
    answer in their sender's own error format)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def with_schemas(app: FastAPI, models: list[type[BaseModel]]) -> Callable[[], dict[str, Any]]:
    """``app``'s own ``openapi`` with ``models`` (and what they use) added as components."""
    describe = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = describe()  # FastAPI keeps it as app.openapi_schema: extended in place, once
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        return spec

    return openapi
