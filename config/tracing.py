"""Opt-in tracing with OpenTelemetry: on when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and then only; otherwise nothing of OpenTelemetry is
imported and the request path pays one boolean test.

When on: spans go by OTLP/HTTP (protobuf) to that endpoint in batches; a server span for every HTTP
request and WebSocket connection (the ASGI instrumentation in front of Django, named by Django's
route, carrying `gateway.request_id`), a client span for every upstream call (httpx; with the same
request id, which the upstream also gets as `X-Request-ID`) and for every query (psycopg). The
standard OTEL_* variables apply (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
OTEL_BSP_SCHEDULE_DELAY, ...)."""

import os

REQUEST_ID = "gateway.request_id"
EXCLUDED = "/health,/ready,/metrics$"  # probes and scrapes would drown the traces

enabled = False


def configured() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup() -> bool:
    """Install the exporter and the httpx and psycopg instrumentations (once, at process start)."""
    global enabled
    if enabled or not configured():
        return enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME", "llm-gateway")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(request_hook=_tag_upstream_call, async_request_hook=_atag_upstream_call)
    PsycopgInstrumentor().instrument(enable_commenter=False)
    enabled = True
    return True


def upstream_transport(transport):
    """An upstream client's transport, with a client span per call when tracing is on (the
    instrumentation's class-level patch reaches only httpx's own transports)."""
    if not enabled:
        return transport
    from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport

    return AsyncOpenTelemetryTransport(transport, request_hook=_atag_upstream_call)


def wrap(app):
    """The ASGI application with server spans (when tracing is on)."""
    if not enabled:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, excluded_urls=os.environ.get("OTEL_PYTHON_ASGI_EXCLUDED_URLS", EXCLUDED),
                                   exclude_spans=["receive", "send"])  # no span per streamed chunk


def note_request(request_id: str) -> None:
    """The current server span carries the request id (RequestIdMiddleware, when tracing is on)."""
    from opentelemetry import trace

    trace.get_current_span().set_attribute(REQUEST_ID, request_id)


def note_route(request) -> None:
    """Name the server span by Django's route (`POST api/chat/completions`), not the raw path."""
    from opentelemetry import trace

    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        span = trace.get_current_span()
        span.update_name(f"{request.method} {match.route}")
        span.set_attribute("http.route", match.route)


def _tag_upstream_call(span, request) -> None:
    request_id = request.headers.get("x-request-id")
    if request_id and span.is_recording():
        span.set_attribute(REQUEST_ID, request_id)


async def _atag_upstream_call(span, request) -> None:
    _tag_upstream_call(span, request)
