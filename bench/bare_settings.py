"""The production settings without request ids and metrics, only for bench.observability's "off"
side: RequestIdMiddleware left out and the metrics primitives of the request path made no-ops
(everything else, the database, caches and provider clients, is the same)."""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE, SITE_MIDDLEWARE

MIDDLEWARE = [m for m in MIDDLEWARE if not m.endswith("RequestIdMiddleware")]
SITE_MIDDLEWARE = [m for m in SITE_MIDDLEWARE if not m.endswith("RequestIdMiddleware")]


def _switch_metrics_off() -> None:
    from config.common import metrics

    class Nothing:
        def labels(self, *args):
            return self

        def inc(self, *args):
            pass

        dec = observe = inc

    for name in ("REQUESTS", "OVERHEAD", "TTFT", "DURATION", "TOKENS", "UPSTREAM_ERRORS", "STREAMS_IN_FLIGHT"):
        setattr(metrics, name, Nothing())

    def ignore(*args):
        pass

    metrics.count_upstream_error = metrics.observe_overhead = metrics.observe_usage = ignore

    async def untimed(events, model, conn, opened):
        async for payload in events:
            yield payload

    metrics.timed_stream = untimed


_switch_metrics_off()
