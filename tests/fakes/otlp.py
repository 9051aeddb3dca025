"""A loopback OTLP/HTTP trace receiver (a real socket, real HTTP, the collector's protobuf).

It answers ``POST /v1/traces`` as an OpenTelemetry collector does: it decodes the body as
an ``ExportTraceServiceRequest`` (with ``opentelemetry-proto``, the package the exporter
itself encodes with), keeps its spans and the raw bodies, and answers with an empty
``ExportTraceServiceResponse``.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

Attribute = str | bool | int | float | list[Any] | None


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector saw it."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Attribute]


@dataclass
class OtlpReceiver:
    """Keeps every span posted to ``/v1/traces``; any other path is a 404."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    # Every request body as it arrived (decompressed): what left the exporter, byte for byte.
    bodies: list[bytes] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def endpoint(self) -> str:
        """The base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporter adds ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.port}"

    def named(self, name: str) -> list[ReceivedSpan]:
        return [span for span in self.spans if span.name == name]

    async def wait_for(self, predicate: Any, within: float = 15.0) -> list[ReceivedSpan]:
        """Wait until ``predicate(spans)`` is true; return the spans."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: predicate(self.spans)), within)
        return self.spans

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the exporter closed its keep-alive connection
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (h.partition(":") for h in header_lines if h)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        method, path, _ = request_line.split(" ", 2)
        if method != "POST" or path != "/v1/traces":
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return True
        body = _decompressed(body, headers.get("content-encoding", ""))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        async with self._arrived:
            self.bodies.append(body)
            self.spans.extend(_spans(request))
            self._arrived.notify_all()
        answer = ExportTraceServiceResponse().SerializeToString()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
            + f"Content-Length: {len(answer)}\r\n\r\n".encode()
            + answer
        )
        await writer.drain()
        return True


def _decompressed(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _spans(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    found: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            found.extend(
                ReceivedSpan(
                    service=service,
                    name=span.name,
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    attributes=_attributes(span.attributes),
                )
                for span in scope_spans.spans
            )
    return found


def _attributes(pairs: Any) -> dict[str, Attribute]:
    items: list[KeyValue] = list(pairs)
    return {pair.key: _value(pair.value) for pair in items}


def _value(value: AnyValue) -> Attribute:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind is None:
        return None
    found: Attribute = getattr(value, kind)
    return found
