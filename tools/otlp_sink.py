"""A local OTLP/HTTP receiver that prints what the app sends: `python -m tools.otlp_sink`.

For looking at the app's telemetry offline, with no collector installed:

    python -m tools.otlp_sink --port 4318 &
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 make run

One line per span (trace id, name, status, the call's identifiers), per metric and per log record.
Any OpenTelemetry Collector (or Jaeger, Aspire dashboard…) on the same port works as well.
"""

from __future__ import annotations

import argparse
import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

HOST = "127.0.0.1"


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@dataclass(frozen=True)
class SpanSeen:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    status_code: int
    status_message: str
    attributes: dict[str, Any]


@dataclass
class Received:
    """What arrived, for tests; printing is separate."""

    spans: list[SpanSeen] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str, body: bytes) -> list[str]:
        lines: list[str] = []
        with self.lock:
            if path == "/v1/traces":
                traces = ExportTraceServiceRequest.FromString(body)
                for resource in traces.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            seen = SpanSeen(
                                span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                                span.name, span.status.code, span.status.message,
                                {a.key: _value(a.value) for a in span.attributes})
                            self.spans.append(seen)
                            lines.append(f"span  {seen.trace_id[:8]} {seen.name} {seen.attributes}")
            elif path == "/v1/metrics":
                request = ExportMetricsServiceRequest.FromString(body)
                for resource in request.resource_metrics:
                    for scope in resource.scope_metrics:
                        for metric in scope.metrics:
                            self.metrics.append(metric.name)
                            lines.append(f"metric {metric.name}")
            elif path == "/v1/logs":
                request = ExportLogsServiceRequest.FromString(body)
                for resource in request.resource_logs:
                    for scope in resource.scope_logs:
                        for record in scope.log_records:
                            text = str(_value(record.body))
                            self.logs.append(text)
                            lines.append(f"log   {record.severity_text} {text}")
        return lines


def serve(port: int, received: Received,
          echo: Callable[[str], None] | None = None) -> ThreadingHTTPServer:
    """Listen on 127.0.0.1:port (0 picks one) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            try:
                lines = received.take(self.path, body)
            except Exception:  # not OTLP protobuf: say so, keep serving
                self.send_response(400)
                self.end_headers()
                return
            for line in lines:
                if echo is not None:
                    echo(line)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the lines say it all
            pass

    server = ThreadingHTTPServer((HOST, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    server = serve(args.port, Received(), echo=lambda line: print(line, flush=True))
    print(f"OTLP/HTTP sink on http://{HOST}:{server.server_port} (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
