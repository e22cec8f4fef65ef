"""A request leaves no reference cycles behind: refcounting frees all of it, so the cycle collector
never has a request's objects to find, and its full collections (which stop the event loop for as
long as they take) can be made rare (config/heap.py). Measured in this process: the app served by
uvicorn on a thread, over real HTTP, to a fake upstream."""

import collections
import gc
import threading
import time

import httpx
import pytest
import uvicorn
from django.core.handlers.asgi import ASGIRequest
from django.http.response import HttpResponseBase

from config import asgi_handler
from models_registry.providers import pools
from tests.conftest import bearer, connect
from tests.server import free_port


@pytest.fixture
def in_process_gateway(django_db_blocker):
    """The gateway's ASGI handler under uvicorn on a thread of this process."""
    server = uvicorn.Server(uvicorn.Config(asgi_handler.application(), host="127.0.0.1", port=free_port(),
                                           lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    with django_db_blocker.unblock():
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the in-process server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{server.config.port}"
        server.should_exit = True
        thread.join(10)


def _left_in_cycles(run) -> collections.Counter:
    """The types of the objects `run` leaves that only the cycle collector would free."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return collections.Counter(type(o) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_chat_requests_leave_no_reference_cycles(in_process_gateway, admin, openai_upstream):
    connect(openai_upstream)
    headers = bearer(admin["token"])
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

    def chats():
        with httpx.Client(base_url=in_process_gateway, headers=headers, timeout=10) as client:
            for stream in (False, True) * 5:
                with client.stream("POST", "/api/chat/completions", json={**body, "stream": stream}) as r:
                    assert r.status_code == 200, r.read()
                    answer = r.read()
                assert (b"data: [DONE]" in answer) is stream
            time.sleep(0.2)  # the server's side of the last request ends after its last byte

    chats()  # first calls: caches, the upstream pool
    left = _left_in_cycles(chats)
    requests = sum(n for t, n in left.items() if issubclass(t, ASGIRequest | HttpResponseBase))
    upstream = sum(n for t, n in left.items() if t is pools.Releasing or t.__module__.startswith("aiohttp"))
    assert (requests, upstream) == (0, 0), left.most_common(20)
