"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright (never a
downloaded browser), screenshots under test-artifacts/, and a path-prefix reverse proxy."""

import os
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest
import uvicorn
from django.db import connections

from tests.server import ROOT, free_port
from tests.upstreams import read_body

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")  # Playwright's loop must be gone before other tests use asyncio.run
def chromium():
    if not CHROMIUM.exists():
        message = ("BROWSER TESTS SKIPPED: /usr/bin/chromium is missing and scripts/test could not install "
                   "Debian's chromium package")
        warnings.warn(message)
        print(f"\n{'!' * 20} {message} {'!' * 20}")
        pytest.skip(message)
    # Playwright's sync API keeps an event loop in this thread; the tests' own ORM calls are plain
    # synchronous set-up and clean-up, so Django's guard against async contexts does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a loaded CI machine is slower than a desk

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"])
        yield browser
        browser.close()
    connections.close_all()  # those opened while Playwright's loop ran in this thread


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = []  # Chromium reports what a Content-Security-Policy blocked on the console
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    yield page
    context.close()
    connections.close_all()
    assert not violations, f"the page broke its Content-Security-Policy: {violations}"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_until(check, timeout: float = 15, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


class PrefixProxy:
    """A reverse proxy serving the gateway under `/gw/` (strips the prefix, streams responses, relays
    WebSockets), as nginx would with `location /gw/ { proxy_pass http://gateway/; }`."""

    prefix = "/gw"

    def __init__(self, target: str):
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{self.prefix}/"
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="critical", interface="asgi3",
                                                     lifespan="off", timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self):
        self._thread.start()
        wait_until(lambda: self._server.started, 10, "the proxy")
        return self

    def __exit__(self, *exc):
        self._server.should_exit = True
        self._thread.join(5)

    async def app(self, scope, receive, send):
        if scope["type"] == "websocket" and scope["path"].startswith(self.prefix + "/"):
            return await self._websocket(scope, receive, send)
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix + "/"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not under the prefix"})
            return
        body = await read_body(receive)
        path = scope["path"][len(self.prefix):] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"host", b"content-length")]
        async with httpx.AsyncClient(base_url=self.target, timeout=60) as client:
            async with client.stream(scope["method"], path, headers=headers, content=body) as response:
                await send({"type": "http.response.start", "status": response.status_code,
                            "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in
                                        (b"content-length", b"transfer-encoding", b"content-encoding")]})
                async for chunk in response.aiter_bytes():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _websocket(self, scope, receive, send):
        import asyncio

        import websockets

        if (await receive())["type"] != "websocket.connect":
            return
        url = self.target.replace("http", "ws", 1) + scope["path"][len(self.prefix):]
        async with websockets.connect(url) as upstream:
            await send({"type": "websocket.accept"})

            async def downstream():
                async for message in upstream:
                    await send({"type": "websocket.send", "text": message})
                await send({"type": "websocket.close"})

            pump = asyncio.create_task(downstream())
            try:
                while True:
                    message = await receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    await upstream.send(message.get("text") or message.get("bytes"))
            finally:
                pump.cancel()
