"""Opt-in tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, a completion's spans reach an OTLP/HTTP
collector (here a local one decoding the protobuf) carrying the request id; unset, nothing of
OpenTelemetry is even imported."""

import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import bearer, connect
from tests.server import ROOT, LiveServer


class Collector:
    """POST /v1/traces (OTLP/HTTP protobuf): every span received, as (name, kind, trace, span, parent, attributes)."""

    def __init__(self):
        self.spans: queue.Queue = queue.Queue()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                request = ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
                            owner.spans.put((span.name, span.kind, span.trace_id, span.span_id, span.parent_span_id,
                                             attributes))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def until(self, found, timeout=15) -> list:
        spans, deadline = [], time.monotonic() + timeout
        while not found(spans) and time.monotonic() < deadline:
            try:
                spans.append(self.spans.get(timeout=0.2))
            except queue.Empty:
                pass
        return spans

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    made = Collector()
    yield made
    made.stop()


SERVER, CLIENT = 2, 3  # OTLP span kinds


def test_a_completion_is_traced_with_its_request_id_when_an_endpoint_is_set(database_url, tmp_path, collector, admin,
                                                                             ollama):
    connect(ollama, list_timeout=30)  # a loaded machine must not make the first model list time out
    server = LiveServer(database_url=database_url, data_dir=tmp_path,
                        env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"})
    try:
        response = server_post(server, admin["token"])
        assert response.status_code == 200, response.text

        def complete(spans):
            return any(s[1] == SERVER and s[5].get("gateway.request_id") == "trace-me-1" for s in spans) and \
                any(s[1] == CLIENT and s[0] == "POST" and s[5].get("gateway.request_id") == "trace-me-1" for s in spans)

        spans = collector.until(complete)
    finally:
        server.stop()
    request = next(s for s in spans if s[1] == SERVER and s[5].get("gateway.request_id") == "trace-me-1")
    upstream = next(s for s in spans if s[1] == CLIENT and s[0] == "POST" and s[5].get("gateway.request_id") == "trace-me-1")
    assert request[0] == "POST api/chat/completions"
    assert upstream[2] == request[2], "the upstream call (the generation) is in the request's trace"
    assert not any(s[0].startswith("GET /health") for s in spans), "probes are not traced"


def server_post(server, token):
    import httpx

    httpx.get(f"{server.url}/health")
    return httpx.post(f"{server.url}/api/chat/completions", headers={**bearer(token), "X-Request-ID": "trace-me-1"},
                      json={"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)


def test_without_an_endpoint_opentelemetry_is_not_even_imported():
    code = ("import os, sys; os.environ.pop('OTEL_EXPORTER_OTLP_ENDPOINT', None); import config.asgi; "
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('opentelemetry.')}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
