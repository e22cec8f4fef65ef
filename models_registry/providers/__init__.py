"""Talking to upstreams: one pooled async HTTP client per connection, errors mapped to statuses.

We relay upstream bytes (OpenAI JSON and SSE are returned as received, Ollama NDJSON is converted
line by line), so a raw pooled HTTP client is used rather than the SDKs' typed objects, which would
parse every chunk into models and drop fields they do not know.

Deadlines: a non-streamed answer must be complete within the connection's timeout (else
UPSTREAM_TIMEOUT); a stream may be silent that long at most (else UPSTREAM_STREAM_IDLE_TIMEOUT) and
last UPSTREAM_STREAM_MAX_SECONDS in all; connecting gets UPSTREAM_CONNECT_TIMEOUT.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from django.conf import settings

from config.errors import ApplicationError
from models_registry.models import Connection

logger = logging.getLogger(__name__)


class UpstreamError(ApplicationError):
    """An upstream failure as the status, detail (and headers) our API answers with."""


def header_safe(value: str) -> bool:
    """Whether `value` can be sent in an HTTP header as it is (printable ASCII)."""
    return value == value.strip() and all(" " <= ch <= "~" for ch in value)


def deadline(conn: Connection) -> float:
    return conn.timeout or settings.UPSTREAM_TIMEOUT


def idle_timeout(conn: Connection) -> float:
    return conn.timeout or settings.UPSTREAM_STREAM_IDLE_TIMEOUT


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, settings.UPSTREAM_CONNECT_TIMEOUT))


# --- pooled clients ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Pool:
    """A connection's client, the requests it is serving, and whether it has been replaced (it is
    closed once replaced and idle, so a changed or removed connection keeps no sockets open)."""

    key: tuple
    client: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    busy: int = 0
    retired: bool = False


_pools: dict[int, _Pool] = {}  # connection pk → its current pool
_closing: set[asyncio.Task] = set()


def _settings_key(conn: Connection) -> tuple:
    return (conn.base_url, conn.api_key, conn.timeout)


def _pool_for(conn: Connection) -> _Pool:
    """The pooled client of a connection (replaced when its URL, key or timeout change)."""
    key, loop = _settings_key(conn), asyncio.get_running_loop()
    pool = _pools.get(conn.pk)
    if pool is not None and pool.key == key and pool.loop is loop and not pool.client.is_closed:
        return pool
    if pool is not None:
        _pools.pop(conn.pk, None)  # (another thread may have forgotten it already)
        _retire(pool)
    if not header_safe(conn.api_key):
        raise UpstreamError(502, "The connection's API key cannot be sent in an HTTP header; set it again.")
    client = httpx.AsyncClient(
        base_url=conn.base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {conn.api_key}"} if conn.api_key else {},
        timeout=httpx.Timeout(idle_timeout(conn), connect=settings.UPSTREAM_CONNECT_TIMEOUT, write=30.0, pool=30.0),
        limits=httpx.Limits(max_connections=2000, max_keepalive_connections=200),
    )
    pool = _pools[conn.pk] = _Pool(key, client, loop)
    return pool


def _retire(pool: _Pool) -> None:
    """Close `pool` once its requests are done. Runs on the pool's event loop (from other threads
    too: it is then scheduled there)."""
    if pool.loop.is_closed():
        return
    try:
        here = asyncio.get_running_loop() is pool.loop
    except RuntimeError:
        here = False
    if not here:
        pool.loop.call_soon_threadsafe(_retire, pool)
        return
    pool.retired = True
    if pool.busy == 0 and not pool.client.is_closed:
        task = pool.loop.create_task(pool.client.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


def _release(pool: _Pool) -> None:
    pool.busy -= 1
    if pool.retired and pool.busy == 0:
        _retire(pool)


def forget(pks) -> None:
    """Close the clients of these connections (removed or changed), gracefully."""
    for pk in pks:
        pool = _pools.pop(pk, None)
        if pool is not None:
            _retire(pool)


def release_stale(connections: list[Connection], *, among=None) -> None:
    """Close the clients of connections no longer in `connections` (fresh from the database) or
    changed since, looking only at the pks `among` when given: how removals and edits made in other
    processes reach this one."""
    live = {c.pk: _settings_key(c) for c in connections}
    forget([pk for pk, pool in list(_pools.items()) if (among is None or pk in among) and live.get(pk) != pool.key])


class _Releasing(httpx.AsyncByteStream):
    """A response body that hands its pool slot back when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, pool: _Pool):
        self.stream, self.pool, self.open = stream, pool, True

    async def __aiter__(self):
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.stream.aclose()
        finally:
            if self.open:
                self.open = False
                _release(self.pool)


# --- requests ------------------------------------------------------------------------------------


def error_detail(body: bytes) -> str:
    """The message inside an upstream error body (OpenAI `{"error": {"message"}}`, Ollama
    `{"error": "..."}`, `{"detail": ...}`), or the text itself."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
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
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return UpstreamError(504, "Upstream timed out")
    return UpstreamError(502, f"Upstream unreachable: {exc.__class__.__name__}")


async def open_request(conn: Connection, method: str, path: str, *, json_body=None, params=None,
                       timeout: float | None = None) -> httpx.Response:
    """Send a request and return the response with its body still unread (for streaming: reads
    wait `timeout`, else the connection's idle timeout). Raises UpstreamError for transport
    failures and error statuses. Close the response when done."""
    pool = _pool_for(conn)
    request = pool.client.build_request(method, path, json=json_body, params=params,
                                        timeout=_timeout(timeout) if timeout else httpx.USE_CLIENT_DEFAULT)
    pool.busy += 1
    try:
        response = await pool.client.send(request, stream=True)
    except httpx.HTTPError as exc:
        _release(pool)
        raise transport_error(exc) from exc
    except BaseException:
        _release(pool)
        raise
    assert isinstance(response.stream, httpx.AsyncByteStream)  # an AsyncClient's responses
    response.stream = _Releasing(response.stream, pool)
    if response.status_code >= 400:
        # a rate limit's Retry-After is the client's to honour
        headers = {"Retry-After": response.headers["retry-after"]} if (
            response.status_code == 429 and "retry-after" in response.headers) else None
        raise UpstreamError(status_for(response.status_code), error_detail(await read_all(response)), headers)
    return response


async def read_all(response: httpx.Response) -> bytes:
    """The whole body of an opened response, which is then closed."""
    try:
        return await response.aread()
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    finally:
        await response.aclose()


async def fetch(conn: Connection, method: str, path: str, *, json_body=None,
                timeout: float | None = None) -> tuple[httpx.Response, bytes]:
    """A whole non-streamed answer (the response, closed, and its body) within `timeout` seconds
    in all, else the connection's deadline: a trickling upstream gets 504 too."""
    seconds = timeout or deadline(conn)
    try:
        async with asyncio.timeout(seconds):
            response = await open_request(conn, method, path, json_body=json_body, timeout=seconds)
            return response, await read_all(response)
    except TimeoutError:
        raise UpstreamError(504, "Upstream timed out") from None


def json_object(body: bytes) -> dict:
    """An upstream answer's JSON object; a cut or invalid body is 502, never relayed."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise UpstreamError(502, "Upstream returned invalid JSON")
    return data


async def fetch_json(conn: Connection, method: str, path: str, *, json_body=None, timeout: float | None = None) -> dict:
    return json_object((await fetch(conn, method, path, json_body=json_body, timeout=timeout))[1])


def within(chunks: AsyncIterator, seconds: float | None = None) -> AsyncIterator:
    """`chunks` cut with TimeoutError after `seconds` in all (default UPSTREAM_STREAM_MAX_SECONDS;
    0: no limit). Silences are bounded by the read timeout already."""
    seconds = settings.UPSTREAM_STREAM_MAX_SECONDS if seconds is None else seconds
    return _within(chunks, seconds) if seconds else chunks


async def _within(chunks: AsyncIterator, seconds: float) -> AsyncIterator:
    end = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            async with asyncio.timeout_at(end):  # around the read only, never around the yield
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        yield chunk


async def list_models(conn: Connection) -> list[dict]:
    """The upstream's raw model entries (OpenAI `/models` data, Ollama `/api/tags` models)."""
    ollama = conn.kind == Connection.Kind.OLLAMA
    data = await fetch_json(conn, "GET", "/api/tags" if ollama else "/models", timeout=conn.list_timeout)
    items = data.get("models" if ollama else "data")
    if not isinstance(items, list):
        raise UpstreamError(502, "Upstream returned an unexpected model list")
    # entries without a usable id are skipped
    return [m for m in items if isinstance(m, dict) and isinstance((m.get("model") or m.get("name")) if ollama else m.get("id"), str)]
