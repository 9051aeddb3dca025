"""Traces over OTLP/HTTP: one trace from a webhook's request to the notification it sends.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is
set, and off when ``OTEL_SDK_DISABLED=true``. Off costs nothing: no tracer provider is
installed, the Temporal client gets no interceptor and the API no middleware.

On, ``temporalio.contrib.opentelemetry``'s :class:`TracingInterceptor` records the client's
calls (``SignalWithStartWorkflow:PageWorkflow``), the workflow's (``RunWorkflow``,
``HandleSignal``, ``StartActivity``) and the activities' (``RunActivity:notify``), and
carries the context through Temporal's headers; the OpenTelemetry FastAPI instrumentation
records the API's server spans, so the webhook's request is the trace's root. The exporter
reads the standard ``OTEL_EXPORTER_OTLP_*`` variables itself (endpoint, headers, timeout).

No secret reaches a span: a server span's URL attributes are its route template (signed
links are paths, ``/a/{token}``; calendar tokens are queries, ``?token=``), and request
headers captured by ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST`` are
redacted when they name a credential.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from opentelemetry import trace
from temporalio.client import Interceptor

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

# Request headers that are redacted if an operator captures them (regexes, searched
# case-insensitively in the header's name): bearer tokens, cookies, webhook signatures,
# integration keys.
SECRET_HEADERS = ("authorization", "cookie", "signature", "token", "secret", "key")

# Probes and scrapes, every few seconds: not worth a trace each (regexes on the URL
# without its query).
UNTRACED_URLS = ("/healthz$", "/metrics$")

# The URL attributes a server span may carry (old and new HTTP semantic conventions).
_PATH_ATTRIBUTES = ("http.target", "url.path")
_FULL_URL_ATTRIBUTES = ("http.url", "url.full")
_QUERY_ATTRIBUTE = "url.query"
_REDACTED = "[REDACTED]"


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether traces are on: an OTLP endpoint is set and the SDK is not disabled."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def tracer_provider(service_name: str) -> TracerProvider:
    """A provider that exports its spans in batches over OTLP/HTTP.

    The resource's ``service.name`` is ``OTEL_SERVICE_NAME`` when set, else
    ``service_name``; ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_BSP_*`` apply as usual.
    """
    # Imported here: with traces off, the SDK and the exporter are never loaded.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    # Resource.create reads OTEL_SERVICE_NAME itself; an attribute given here would win.
    named = {} if os.environ.get("OTEL_SERVICE_NAME", "").strip() else {SERVICE_NAME: service_name}
    # The provider is shut down (and flushed) by setup_tracing's caller: the CLI ends
    # with os._exit, so an atexit hook would never run.
    provider = TracerProvider(resource=Resource.create(named), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def setup_tracing(service_name: str) -> Callable[[], None]:
    """Install the global tracer provider when traces are on.

    Args:
        service_name: ``tocsin-api``, ``tocsin-worker`` or ``tocsin-dev``.

    Returns:
        What to call on the way out: it exports the spans still buffered and stops the
        exporter (does nothing when traces are off).
    """
    if not tracing_enabled():
        return _nothing
    provider = tracer_provider(service_name)
    trace.set_tracer_provider(provider)
    return provider.shutdown


@contextmanager
def traced(service_name: str) -> Iterator[None]:
    """:func:`setup_tracing` for the length of a ``with`` block (a process's life)."""
    stop = setup_tracing(service_name)
    try:
        yield
    finally:
        stop()


def tracing_interceptors(provider: trace.TracerProvider | None = None) -> list[Interceptor]:
    """The Temporal client's interceptors: the tracing one when traces are on, else none.

    Workers built from the client use it too (the SDK prepends a client's interceptors
    that are also worker interceptors): it must not be given to the worker again.

    Args:
        provider: Record into this provider instead of the global one.
    """
    if not tracing_enabled():
        return []
    # Imported here: with traces off the contrib module (and its propagators) stay unloaded.
    from temporalio.contrib.opentelemetry import TracingInterceptor  # noqa: PLC0415

    return [TracingInterceptor(trace.get_tracer(__name__, tracer_provider=provider))]


def instrument_app(app: FastAPI, provider: trace.TracerProvider | None = None) -> None:
    """Give ``app`` a server span per request when traces are on (named by its route).

    ``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS`` adds to :data:`UNTRACED_URLS`;
    ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS`` adds to
    :data:`SECRET_HEADERS`.

    Args:
        app: The API as it will be served.
        provider: Record into this provider instead of the global one.
    """
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: PLC0415

    excluded = [*UNTRACED_URLS, *_listed("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS")]
    sanitized = [
        *SECRET_HEADERS,
        *_listed("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"),
    ]
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        server_request_hook=route_only,
        excluded_urls=",".join(excluded),
        http_capture_headers_sanitize_fields=sanitized,
        # One server span per request, not one more per ASGI message of its body.
        exclude_spans=["receive", "send"],
    )


def route_only(span: trace.Span, scope: Mapping[str, Any]) -> None:
    """Replace a server span's URL attributes by its route template, before it ends.

    The path of a signed link is its credential (``/a/{token}``), and a calendar's query
    holds one (``?token=``): neither may reach the exporter. A request no route matched
    has no template and keeps no path.
    """
    del scope  # the span already holds what is needed
    from opentelemetry.sdk.trace import ReadableSpan  # noqa: PLC0415 - loaded once traces are on

    if not isinstance(span, ReadableSpan) or span.attributes is None:
        return  # not recorded
    attributes = span.attributes
    route = attributes.get("http.route")
    template = str(route) if route else ""
    for key in _PATH_ATTRIBUTES:
        if key in attributes:
            span.set_attribute(key, template)
    for key in _FULL_URL_ATTRIBUTES:
        if key in attributes:
            parts = urlsplit(str(attributes[key]))
            span.set_attribute(key, f"{parts.scheme}://{parts.netloc}{template}")
    if attributes.get(_QUERY_ATTRIBUTE):
        span.set_attribute(_QUERY_ATTRIBUTE, _REDACTED)


def _listed(variable: str) -> list[str]:
    return [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]


def _nothing() -> None:
    """Nothing to flush: traces are off."""
