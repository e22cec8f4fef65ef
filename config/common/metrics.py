"""Prometheus metrics: the hot-path primitives (counters, histograms, a gauge) and the rendering of
/metrics. Imports no app. Label values are bounded: routes by family (never the path), models by
their configured id (after the registry resolved them), connections by their configured name.

With several server processes, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by them
(`manage.py serve --workers N` makes a fresh one under DATA_DIR): each process writes its values
there and a scrape of any process adds them up. Without it, one plain in-process registry.
Scrape-time values (queue depth, files by status, DB pool...) come from collectors registered with
`add_collector` by the owning code (config/metrics_collectors.py)."""

import json
import os
import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds: from sub-millisecond (overhead) to long generations.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

REQUESTS = Counter("gateway_requests_total", "HTTP requests answered, by route family and status",
                   ["route", "status"])
OVERHEAD = Histogram("gateway_overhead_seconds", "Time spent in the gateway on a proxied request "
                     "(the X-Gateway-Overhead-Ms header)", ["model", "connection"], buckets=FAST_BUCKETS)
TTFT = Histogram("gateway_time_to_first_token_seconds", "From sending a streamed generation upstream to its "
                 "first chunk", ["model", "connection"], buckets=SLOW_BUCKETS)
DURATION = Histogram("gateway_generation_duration_seconds", "Whole duration of a generation (streamed: until "
                     "its last chunk)", ["model", "connection", "stream"], buckets=SLOW_BUCKETS)
TOKENS = Counter("gateway_tokens_total", "Tokens the upstream reported (chat completions; streams when it sends usage)",
                 ["model", "direction"])
UPSTREAM_ERRORS = Counter("gateway_upstream_errors_total", "Upstream failures by connection and kind "
                          "(refused, timeout, 5xx, dropped)", ["connection", "kind"])
STREAMS_IN_FLIGHT = Gauge("gateway_streams_in_flight", "Streamed generations being relayed now",
                          multiprocess_mode="livesum")

ROUTE_FAMILIES = (
    ("/api/chat/completions", "chat"), ("/api/v1/chat/completions", "chat"),
    ("/ollama/", "ollama"), ("/openai/", "openai"),
    ("/api/v1/files", "files"), ("/api/v1/knowledge", "knowledge"), ("/api/v1/retrieval", "retrieval"),
    ("/api/v1/auths", "auths"), ("/api/v1/users", "users"),
    ("/api/models", "models"), ("/api/v1/models", "models"),
    ("/health", "health"), ("/ready", "health"), ("/metrics", "metrics"),
    ("/admin/", "admin"), ("/static/", "static"), ("/api/", "api"),
)


def route_family(path: str) -> str:
    for prefix, family in ROUTE_FAMILIES:
        if path.startswith(prefix):
            return family
    return "other"


def connection_label(conn) -> str:
    """A connection's configured name, else `<kind>-<pk>` (an embedding endpoint: its pk)."""
    return getattr(conn, "name", "") or f"{getattr(conn, 'kind', 'upstream')}-{conn.pk}"


def count_upstream_error(conn, kind: str) -> None:
    UPSTREAM_ERRORS.labels(connection_label(conn), kind).inc()


def observe_overhead(model: str, conn, seconds: float) -> None:
    OVERHEAD.labels(model, connection_label(conn)).observe(seconds)


def observe_usage(model: str, usage) -> None:
    """Tokens in/out from an OpenAI-shaped `usage` object, when the upstream reported one."""
    if not isinstance(usage, dict):
        return
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and prompt >= 0:
        TOKENS.labels(model, "in").inc(prompt)
    if isinstance(completion, int) and completion >= 0:
        TOKENS.labels(model, "out").inc(completion)


def _stream_usage(model: str, payload: str) -> None:
    try:
        chunk = json.loads(payload)
    except ValueError:
        return
    if isinstance(chunk, dict):
        observe_usage(model, chunk.get("usage"))


async def timed_stream(events, model: str, conn, opened: float):
    """`events` relayed, recording time to first chunk, whole duration and the in-flight gauge;
    `opened`: perf_counter when the request was sent upstream."""
    labels = (model, connection_label(conn))
    first = True
    STREAMS_IN_FLIGHT.inc()
    try:
        async for payload in events:
            if first:
                TTFT.labels(*labels).observe(time.perf_counter() - opened)
                first = False
            if type(payload) is str and '"usage"' in payload:  # a chat chunk carrying usage (the last)
                _stream_usage(model, payload)
            yield payload
    finally:
        STREAMS_IN_FLIGHT.dec()
        DURATION.labels(*labels, "true").observe(time.perf_counter() - opened)
        await events.aclose()


_collectors: list[Callable[[], Iterable[Metric]]] = []


class _ScrapeTime:
    """Runs the registered collectors (they read the database: called on a pool thread)."""

    def collect(self) -> Iterable[Metric]:
        for collector in _collectors:
            yield from collector()


def add_collector(collector: Callable[[], Iterable[Metric]]) -> None:
    if collector not in _collectors:
        _collectors.append(collector)


def render() -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, all processes') values and the
    scrape-time ones. Blocking (reads files and the database): call it on a pool thread."""
    from prometheus_client import REGISTRY

    if MULTIPROCESS:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Default(REGISTRY))
    registry.register(_ScrapeTime())
    return generate_latest(registry)


class _Default:
    """The process-wide default registry (our metrics, the process and GC ones) inside a per-scrape one."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()
