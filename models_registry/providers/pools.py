"""Pooled HTTP transports: one per connection (or ad-hoc endpoint) on its event loop, replaced when
the URL, key or timeout change and closed once the requests it serves are done, so a changed or
removed connection keeps no sockets open. Synchronous callers (the ingestion worker, sync views) get
a pooled sync client per endpoint.

Async requests go straight to the transport (httpx's interface over aiohttp: transport.py), not
through an `httpx.AsyncClient`: the client's URL merging, cookie jar, redirect and auth layers were a
third of a chat request's own time in the event loop (py-spy, 200 simultaneous streams), for nothing
an upstream call uses (no cookies, no redirects followed, one fixed key)."""

import asyncio
import functools
import ssl
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from django.conf import settings

from config import tracing
from models_registry.providers.errors import check_key
from models_registry.providers.transport import AiohttpTransport

URLS_KEPT = 64  # parsed URLs a pool keeps, by path (a provider calls a handful of paths)


@dataclass(eq=False)
class Pool:
    """A connection's transport and what every request on it carries, the requests it is serving,
    and whether it has been replaced."""

    key: tuple
    transport: httpx.AsyncBaseTransport
    base_url: str  # without its trailing slash
    headers: dict[str, str]
    timeout: httpx.Timeout  # for a request that names none
    loop: asyncio.AbstractEventLoop
    busy: int = 0
    retired: bool = False
    closed: bool = False
    urls: dict[str, httpx.URL] = field(default_factory=dict)

    def url(self, path: str) -> httpx.URL:
        """The connection's base URL with `path` under it, as httpx would merge them."""
        url = self.urls.get(path)
        if url is None:
            url = httpx.URL(f"{self.base_url}/{path.lstrip('/')}")
            if len(self.urls) < URLS_KEPT:
                self.urls[path] = url
        return url

    async def aclose(self) -> None:
        self.closed = True
        await self.transport.aclose()


_pools: dict = {}  # connection pk (or ad-hoc endpoint name) → its current pool
_closing: set[asyncio.Task] = set()
_sync_pools: dict = {}  # pk or endpoint name → its current SyncPool
_sync_lock = threading.Lock()


def deadline(conn) -> float:
    """Seconds a whole non-streamed answer may take."""
    return conn.timeout or settings.UPSTREAM_TIMEOUT


def idle_timeout(conn) -> float:
    """Seconds a stream may stay silent."""
    return conn.timeout or settings.UPSTREAM_STREAM_IDLE_TIMEOUT


def settings_key(conn) -> tuple:
    return (conn.base_url, conn.api_key, conn.timeout)


def _client_options(conn) -> dict:
    check_key(conn.api_key)
    return {"base_url": conn.base_url.rstrip("/"),
            "headers": {"Authorization": f"Bearer {conn.api_key}"} if conn.api_key else {}}


def pool_for(conn) -> Pool:
    """The pooled transport of a connection (replaced when its URL, key or timeout change)."""
    key, loop = settings_key(conn), asyncio.get_running_loop()
    pool = _pools.get(conn.pk)
    if pool is not None and pool.key == key and pool.loop is loop and not pool.closed:
        return pool
    if pool is not None:
        _pools.pop(conn.pk, None)  # (another thread may have forgotten it already)
        _retire(pool)
    pool = _pools[conn.pk] = Pool(
        key, tracing.upstream_transport(AiohttpTransport(max_connections=2000)), **_client_options(conn),
        timeout=httpx.Timeout(idle_timeout(conn), connect=settings.UPSTREAM_CONNECT_TIMEOUT, write=30.0, pool=30.0),
        loop=loop)
    return pool


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The sync clients' TLS settings (httpx's defaults), made once per process: making them loads
    the CA bundle, 80 ms of a worker's first file while its embedding threads waited (py-spy)."""
    return httpx.create_ssl_context()


@dataclass(eq=False)
class SyncPool:
    key: tuple
    client: httpx.Client
    busy: int = 0
    retired: bool = False


@contextmanager
def sync_client(conn):
    """The pooled synchronous client of `conn`, for one request. A client replaced by a change of
    URL, key or timeout is closed once the requests other threads send on it are done."""
    key = settings_key(conn)
    with _sync_lock:
        pool = _sync_pools.get(conn.pk)
        if pool is None or pool.key != key:
            if pool is not None:
                _retire_sync(pool)
            pool = _sync_pools[conn.pk] = SyncPool(key, httpx.Client(**_client_options(conn), verify=tls_context()))
        pool.busy += 1
    try:
        yield pool.client
    finally:
        with _sync_lock:
            pool.busy -= 1
            if pool.retired:
                _retire_sync(pool)


def _retire_sync(pool: SyncPool) -> None:  # with _sync_lock held
    pool.retired = True
    if pool.busy == 0:
        pool.client.close()


def _retire(pool: Pool) -> None:
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
    if pool.busy == 0 and not pool.closed:
        task = pool.loop.create_task(pool.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


def release(pool: Pool) -> None:
    pool.busy -= 1
    if pool.retired and pool.busy == 0:
        _retire(pool)


def forget(pks) -> None:
    """Close the clients of these connections (removed or changed), gracefully."""
    for pk in pks:
        pool = _pools.pop(pk, None)
        if pool is not None:
            _retire(pool)
        with _sync_lock:
            sync_pool = _sync_pools.pop(pk, None)
            if sync_pool is not None:
                _retire_sync(sync_pool)


def release_stale(connections: list, *, among=None) -> None:
    """Close the clients of connections no longer in `connections` (fresh from the database) or
    changed since, looking only at the pks `among` when given: how removals and edits made in other
    processes reach this one. Ad-hoc endpoints (named by a string, not a pk) are not connections."""
    live = {c.pk: settings_key(c) for c in connections}
    forget([pk for pk, pool in list(_pools.items())
            if isinstance(pk, int) and (among is None or pk in among) and live.get(pk) != pool.key])


class Releasing(httpx.AsyncByteStream):
    """A response body that hands its pool slot back when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, pool: Pool):
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
                release(self.pool)
