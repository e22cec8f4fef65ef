"""Requests over a connection's pooled client, within its deadlines: a non-streamed answer must be
complete within the connection's timeout (else UPSTREAM_TIMEOUT); a stream may be silent that long
at most (else UPSTREAM_STREAM_IDLE_TIMEOUT) and last UPSTREAM_STREAM_MAX_SECONDS in all; connecting
gets UPSTREAM_CONNECT_TIMEOUT. Failures are UpstreamError."""

import asyncio
from collections.abc import AsyncIterator

import httpx
from django.conf import settings

from config.common import metrics, requestlog
from models_registry.providers import pools
from models_registry.providers.errors import UpstreamError, json_object, status_error, transport_error


def _transport_failed(conn, exc: BaseException) -> UpstreamError:
    """The error for a transport failure, counted by kind (timeout, refused: any other)."""
    timed_out = isinstance(exc, (httpx.TimeoutException, TimeoutError))
    metrics.count_upstream_error(conn, "timeout" if timed_out else "refused")
    return transport_error(exc)


def _status_failed(conn, status: int, body: bytes, headers) -> UpstreamError:
    if status >= 500:
        metrics.count_upstream_error(conn, "5xx")
    return status_error(status, body, headers)


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, settings.UPSTREAM_CONNECT_TIMEOUT))


async def open_request(conn, method: str, path: str, *, json_body=None, params=None,
                       timeout: float | None = None) -> httpx.Response:
    """Send a request and return the response with its body still unread (for streaming: reads
    wait `timeout`, else the connection's idle timeout). Raises UpstreamError for transport
    failures and error statuses. Close the response when done."""
    pool = pools.pool_for(conn)
    url, request_id = pool.url(path), requestlog.upstream_headers()  # None outside a request
    request = httpx.Request(method, url.copy_merge_params(params) if params else url, json=json_body,
                            headers={**pool.headers, **request_id} if request_id else pool.headers,
                            extensions={"timeout": (_timeout(timeout) if timeout else pool.timeout).as_dict()})
    pool.busy += 1
    try:
        response = await pool.transport.handle_async_request(request)
    except httpx.HTTPError as exc:
        pools.release(pool)
        raise _transport_failed(conn, exc) from exc
    except BaseException:
        pools.release(pool)
        raise
    assert isinstance(response.stream, httpx.AsyncByteStream)  # an async transport's responses
    response.stream = pools.Releasing(response.stream, pool)
    if response.status_code >= 400:
        raise _status_failed(conn, response.status_code, await read_all(response), response.headers)
    return response


async def read_all(response: httpx.Response) -> bytes:
    """The whole body of an opened response, which is then closed."""
    try:
        return await response.aread()
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    finally:
        await response.aclose()


async def fetch(conn, method: str, path: str, *, json_body=None,
                timeout: float | None = None) -> tuple[httpx.Response, bytes]:
    """A whole non-streamed answer (the response, closed, and its body) within `timeout` seconds
    in all, else the connection's deadline: a trickling upstream gets 504 too."""
    seconds = timeout or pools.deadline(conn)
    try:
        async with asyncio.timeout(seconds):
            response = await open_request(conn, method, path, json_body=json_body, timeout=seconds)
            return response, await read_all(response)
    except TimeoutError:
        metrics.count_upstream_error(conn, "timeout")
        raise UpstreamError(504, "Upstream timed out") from None


async def fetch_json(conn, method: str, path: str, *, json_body=None, timeout: float | None = None) -> dict:
    return json_object((await fetch(conn, method, path, json_body=json_body, timeout=timeout))[1])


def post_json_sync(conn, path: str, body: dict, *, timeout: float) -> dict:
    """A JSON answer for a synchronous caller (the ingestion worker, sync views), on the pooled
    sync client."""
    try:
        with pools.sync_client(conn) as client:
            response = client.post(path, json=body, headers=requestlog.upstream_headers(), timeout=_timeout(timeout))
    except httpx.HTTPError as exc:
        raise _transport_failed(conn, exc) from exc
    if response.status_code >= 400:
        raise _status_failed(conn, response.status_code, response.content, response.headers)
    return json_object(response.content)


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
