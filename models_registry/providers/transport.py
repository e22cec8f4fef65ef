"""httpx's API over aiohttp's connection pool and C HTTP parser, for the upstream clients.

The providers speak httpx (requests, streamed responses, its error classes); httpx's own async
transport (httpcore on anyio) was measured at about 40% of the event loop's time per chat request
(py-spy), aiohttp's at a fraction of it. `httpx-aiohttp` does the same but reports a refused or reset
connection as a connect *timeout* (504 instead of 502 here), so the mapping is ours: timeouts are
httpx timeouts, a refused connection `ConnectError`, a connection dropped mid-answer
`RemoteProtocolError`, anything else a `NetworkError`."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
    except aiohttp.ClientConnectorError as exc:  # refused, no route, DNS
        raise httpx.ConnectError(str(exc)) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise httpx.RemoteProtocolError(str(exc) or "peer closed the connection") from exc
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc
    except aiohttp.ClientError as exc:
        raise httpx.NetworkError(str(exc) or exc.__class__.__name__) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse):
        self.response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self.response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self.response.content.at_eof():
            self.response.release()  # read to the end: the connection goes back to the pool
        else:
            self.response.close()  # given up part way (a client gone): the upstream sees the socket close


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (made on first use, on the running loop) with up to `max_connections`."""

    def __init__(self, max_connections: int):
        self.max_connections = max_connections
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False)  # httpx decodes
        return self.session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        data: bytes | httpx.SyncByteStream | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # a streamed request body
            data = request.stream
            request.headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
        with _mapped():
            response = await self._session().request(
                request.method, str(request.url), headers=request.headers.multi_items(), data=data,
                allow_redirects=False, compress=None,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout.get("connect"),
                                              sock_read=timeout.get("read"), connect=timeout.get("pool")))
        return httpx.Response(response.status, headers=response.raw_headers, stream=_Body(response), request=request,
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()})

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
