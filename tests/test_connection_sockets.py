"""A connection's pooled sockets close when it is removed or changed: in the process that makes
the change at once (after the requests it is serving), in the others when their state refreshes."""

import threading
import time

import httpx

from models_registry.models import Connection
from tests.conftest import bearer, connect

HELLO = [{"role": "user", "content": "hello there"}]


def _config(*urls: str, key: str = "") -> dict:
    return {"OPENAI_API_BASE_URLS": list(urls), "OPENAI_API_KEYS": [key] * len(urls), "OPENAI_API_CONFIGS": {}}


def _settles_at(upstream, count: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while upstream.open_connections() > count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_removed_connections_keep_no_sockets_open(api, admin, openai_upstream):
    headers = bearer(admin["token"])
    for _ in range(20):
        assert api.post("/openai/config/update", json=_config(openai_upstream.url), headers=headers).status_code == 200
        chat = api.post("/openai/chat/completions", json={"model": "gpt-4o", "messages": HELLO}, headers=headers)
        assert chat.status_code == 200
        assert api.post("/openai/config/update", json=_config(), headers=headers).status_code == 200
    assert _settles_at(openai_upstream, 0), f"{openai_upstream.open_connections()} sockets still open"


def test_a_connection_removed_by_another_process_is_closed_on_refresh(api, admin, openai_upstream):
    headers = bearer(admin["token"])
    connect(openai_upstream)
    assert api.post("/openai/chat/completions", json={"model": "gpt-4o", "messages": HELLO}, headers=headers).status_code == 200
    assert openai_upstream.open_connections() == 1
    Connection.objects.all().delete()  # this test process stands for another server process
    api.get("/api/models", headers=headers)
    assert _settles_at(openai_upstream, 0)


def test_a_stream_outlives_a_change_of_its_connection_then_its_socket_closes(gateway, api, admin, openai_upstream):
    headers = bearer(admin["token"])
    connect(openai_upstream, api_key="sk-old-key-0001")
    openai_upstream.tokens, openai_upstream.token_delay = 20, 0.1
    first_chunk, events = threading.Event(), []

    def stream():
        with httpx.Client(base_url=gateway.url, timeout=30) as client, client.stream(
                "POST", "/api/chat/completions", headers=headers,
                json={"model": "gpt-4o", "messages": HELLO, "stream": True}) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
                    first_chunk.set()

    reader = threading.Thread(target=stream)
    reader.start()
    assert first_chunk.wait(10)
    # meanwhile a whole answer leaves a second, idle socket in the pool
    assert api.post("/api/chat/completions", json={"model": "gpt-4o", "messages": HELLO}, headers=headers).status_code == 200
    assert openai_upstream.open_connections() == 2
    changed = api.post("/openai/config/update", json=_config(openai_upstream.url, key="sk-new-key-0002"), headers=headers)
    assert changed.status_code == 200
    reader.join(20)
    assert events[-1] == "[DONE]" and "error" not in events[-2]  # the change did not cut it
    assert len(events) == 20 + 3
    assert _settles_at(openai_upstream, 0)
