"""The benchmarks' load generator, the same for every side (direct upstream, gateway, Open WebUI),
with two HTTP clients to choose from: `httpx` (the client issue 15's figures were measured with; its
own CPU per request is about the gateway's, so on two shared cores it bounds the direct upstream's
throughput) and `aiohttp` (a fraction of that: the figures then show more of the servers' capacity)."""

import time

import aiohttp
import httpx


class HttpxLoad:
    def __init__(self):
        limits = httpx.Limits(max_connections=3000, max_keepalive_connections=3000)
        self.client = httpx.AsyncClient(timeout=300, limits=limits)

    async def call(self, url: str, headers: dict, body: dict | None) -> None:
        response = await (self.client.post(url, json=body, headers=headers) if body is not None
                          else self.client.get(url, headers=headers))
        response.raise_for_status()

    async def stream(self, url: str, headers: dict, body: dict) -> tuple[float | None, float]:
        """(time to the first `data:` line, time to `data: [DONE]`) of one streamed request."""
        started, first = time.perf_counter(), None
        async with self.client.stream("POST", url, json=body, headers=headers) as r:
            if r.status_code != 200:
                raise RuntimeError(f"{r.status_code}: {(await r.aread())[:200]!r}")
            async for line in r.aiter_lines():
                if first is None and line.startswith("data:"):
                    first = time.perf_counter() - started
                if line.strip() == "data: [DONE]":
                    break
        return first, time.perf_counter() - started

    async def close(self) -> None:
        await self.client.aclose()


class AiohttpLoad:
    def __init__(self):
        self.client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=300))

    async def call(self, url: str, headers: dict, body: dict | None) -> None:
        request = self.client.post(url, json=body, headers=headers) if body is not None else self.client.get(url, headers=headers)
        async with request as r:
            r.raise_for_status()
            await r.read()

    async def stream(self, url: str, headers: dict, body: dict) -> tuple[float | None, float]:
        started, first = time.perf_counter(), None
        async with self.client.post(url, json=body, headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"{r.status}: {(await r.read())[:200]!r}")
            async for line in r.content:
                if first is None and line.startswith(b"data:"):
                    first = time.perf_counter() - started
                if line.strip() == b"data: [DONE]":
                    break
        return first, time.perf_counter() - started

    async def close(self) -> None:
        await self.client.close()


CLIENTS = {"httpx": HttpxLoad, "aiohttp": AiohttpLoad}
