"""Talking to upstreams: one pooled async HTTP client per connection, errors mapped to statuses.

We relay upstream bytes (OpenAI JSON and SSE are returned as received, Ollama NDJSON is converted
line by line), so a raw pooled HTTP client is used rather than the SDKs' typed objects, which would
parse every chunk into models and drop fields they do not know.
"""

import asyncio
import json
import logging

import httpx

from models_registry.models import Connection

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 300.0
_clients: dict[tuple, httpx.AsyncClient] = {}


class UpstreamError(Exception):
    """An upstream failure as the status and detail our API answers with."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def client_for(conn: Connection) -> httpx.AsyncClient:
    """The pooled client of a connection (rebuilt when its URL, key or timeout change)."""
    key = (conn.pk, conn.base_url, conn.api_key, conn.timeout)
    client = _clients.get(key)
    if client is None or client.is_closed:
        for stale in [k for k in _clients if k[0] == conn.pk]:
            _clients.pop(stale)  # the old client's connections close as they are garbage collected
        headers = {"Authorization": f"Bearer {conn.api_key}"} if conn.api_key else {}
        read = conn.timeout or DEFAULT_TIMEOUT
        client = httpx.AsyncClient(
            base_url=conn.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(connect=min(read, 10.0), read=read, write=30.0, pool=30.0),
            limits=httpx.Limits(max_connections=2000, max_keepalive_connections=200),
        )
        _clients[key] = client
    return client


def error_detail(body: bytes) -> str:
    """The message inside an upstream error body (OpenAI `{"error": {"message"}}`, Ollama
    `{"error": "..."}`, `{"detail": ...}`), or the text itself."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:1000] or "Upstream error"
    if isinstance(data, dict):
        error = data.get("error", data.get("detail"))
        if isinstance(error, dict):
            return str(error.get("message") or error)
        if error is not None:
            return str(error)
    return json.dumps(data)[:1000]


def status_for(upstream_status: int) -> int:
    """DECISIONS #12: 4xx keep their status; upstream 5xx become 502."""
    return upstream_status if upstream_status < 500 else 502


def transport_error(exc: Exception) -> UpstreamError:
    if isinstance(exc, (httpx.TimeoutException, asyncio.TimeoutError)):
        return UpstreamError(504, "Upstream timed out")
    return UpstreamError(502, f"Upstream unreachable: {exc.__class__.__name__}")


async def open_request(conn: Connection, method: str, path: str, *, json_body=None, params=None,
                       timeout: float | None = None) -> httpx.Response:
    """Send a request and return the response with its body still unread (for streaming).
    Raises UpstreamError for transport failures and error statuses. Close the response when done."""
    client = client_for(conn)
    request = client.build_request(method, path, json=json_body, params=params,
                                   timeout=timeout if timeout else httpx.USE_CLIENT_DEFAULT)
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    if response.status_code >= 400:
        raise UpstreamError(status_for(response.status_code), error_detail(await read_all(response)))
    return response


async def read_all(response: httpx.Response) -> bytes:
    """The whole body of an opened response, which is then closed."""
    try:
        return await response.aread()
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    finally:
        await response.aclose()


async def fetch_json(conn: Connection, method: str, path: str, *, json_body=None, timeout: float | None = None):
    body = await read_all(await open_request(conn, method, path, json_body=json_body, timeout=timeout))
    try:
        return json.loads(body)
    except ValueError:
        raise UpstreamError(502, "Upstream returned invalid JSON")


async def list_models(conn: Connection) -> list[dict]:
    """The upstream's raw model entries (OpenAI `/models` data, Ollama `/api/tags` models)."""
    path = "/api/tags" if conn.kind == Connection.Kind.OLLAMA else "/models"
    try:
        data = await asyncio.wait_for(fetch_json(conn, "GET", path, timeout=conn.list_timeout), conn.list_timeout)
    except TimeoutError:
        raise UpstreamError(504, "Upstream timed out")
    items = data.get("models" if conn.kind == Connection.Kind.OLLAMA else "data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UpstreamError(502, "Upstream returned an unexpected model list")
    return [m for m in items if isinstance(m, dict)]
