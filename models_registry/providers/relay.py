"""The passthrough routes' relay: upstream bytes as received, whole lines at a time."""

import json
from collections.abc import AsyncGenerator

import httpx

from config.common import metrics
from models_registry.providers.errors import transport_error
from models_registry.providers.http import within


async def relayed(upstream: httpx.Response, conn=None) -> AsyncGenerator[bytes]:
    """The stream's bytes, whole lines at a time, so that when the upstream fails mid-stream it can
    end with an error line in the stream's own format (SSE `data:` or Ollama's NDJSON)."""
    sse = upstream.headers.get("content-type", "").startswith("text/event-stream")
    pending = b""
    try:
        async for chunk in within(upstream.aiter_bytes()):
            cut = chunk.rfind(b"\n") + 1
            if cut:
                yield pending + chunk[:cut]
                pending = chunk[cut:]
            else:
                pending += chunk
        if pending:
            yield pending
    except (httpx.HTTPError, TimeoutError) as exc:
        if conn is not None:
            metrics.count_upstream_error(conn, "dropped")
        detail = transport_error(exc).detail
        yield (b"\ndata: " + json.dumps({"error": {"message": detail}}).encode() + b"\n\n" if sse
               else json.dumps({"error": detail}).encode() + b"\n")
    finally:
        await upstream.aclose()
