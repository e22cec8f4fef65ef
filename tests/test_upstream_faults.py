"""Upstreams that break: cut bodies, invalid JSON, trickling bytes, endless streams, hangs and rate
limits must reach the client as complete JSON or a clean `{"detail"}` error (streams: an error
event), within the configured deadlines. A server of its own, with short deadlines."""

import json
import time

import pytest

from tests.conftest import bearer, connect
from tests.server import LiveServer

HELLO = [{"role": "user", "content": "hello there"}]
STREAM_FAILED = json.dumps({"error": {"message": "Chat completion stream failed"}})


@pytest.fixture(scope="module")
def gateway(database_url, tmp_path_factory):
    server = LiveServer(database_url=database_url, data_dir=tmp_path_factory.mktemp("faults-server"), env={
        "UPSTREAM_TIMEOUT": "2", "UPSTREAM_STREAM_MAX_SECONDS": "3", "MODELS_CACHE_TTL": "0.3"})
    yield server
    server.stop()


def _upstream(request, kind: str):
    return request.getfixturevalue("ollama" if kind == "ollama" else "openai_upstream")


def _model(kind: str) -> str:
    return "llama3.1:8b" if kind == "ollama" else "gpt-4o"


# (upstream kind, path, extra body): every non-streamed generation route
NON_STREAM = [
    ("openai", "/api/chat/completions", {}),
    ("ollama", "/api/chat/completions", {}),
    ("openai", "/openai/chat/completions", {}),
    ("ollama", "/ollama/api/chat", {"stream": False}),
]


@pytest.mark.parametrize("fault", ["drop-body", "invalid-json"])
@pytest.mark.parametrize("kind,path,extra", NON_STREAM)
def test_a_broken_answer_is_502_never_a_200(request, api, admin, kind, path, extra, fault):
    upstream = _upstream(request, kind)
    connect(upstream)
    upstream.fault = fault
    response = api.post(path, json={"model": _model(kind), "messages": HELLO, **extra}, headers=bearer(admin["token"]))
    assert response.status_code == 502, response.text
    assert response.json() == {"detail": "Upstream returned invalid JSON" if fault == "invalid-json"
                               else "Upstream unreachable: RemoteProtocolError"}


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_an_invalid_stream_line_ends_the_stream_with_the_error_event(api, admin, request, kind):
    upstream = _upstream(request, kind)
    connect(upstream)
    upstream.fault = "invalid-json"
    with api.stream("POST", "/api/chat/completions", json={"model": _model(kind), "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        assert response.status_code == 200
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-2:] == [STREAM_FAILED, "[DONE]"]
    assert all(isinstance(json.loads(e), dict) for e in events[:-1])


@pytest.mark.parametrize("kind,path", [("ollama", "/ollama/api/chat"), ("openai", "/openai/chat/completions")])
def test_a_proxied_stream_cut_short_ends_with_an_error_in_its_own_format(api, admin, request, kind, path):
    upstream = _upstream(request, kind)
    connect(upstream)
    upstream.tokens, upstream.drop_after = 10, 3
    with api.stream("POST", path, json={"model": _model(kind), "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line]
    if kind == "openai":
        assert all(line.startswith("data: ") for line in lines)
        lines = [line[6:] for line in lines]
    payloads = [json.loads(line) for line in lines]  # every line whole and valid
    assert len(payloads) == 4
    error = payloads[-1]["error"]
    assert "unreachable" in (error if kind == "ollama" else error["message"])


@pytest.mark.parametrize("kind,path,extra", NON_STREAM)
def test_a_trickling_answer_meets_the_total_deadline(request, api, admin, kind, path, extra):
    upstream = _upstream(request, kind)
    connect(upstream)
    upstream.fault, upstream.trickle_delay = "trickle", 0.5  # never idle for long, never done
    started = time.monotonic()
    response = api.post(path, json={"model": _model(kind), "messages": HELLO, **extra}, headers=bearer(admin["token"]))
    assert response.status_code == 504
    assert response.json() == {"detail": "Upstream timed out"}
    assert time.monotonic() - started < 10


def test_a_hanging_upstream_meets_the_deadline_before_any_byte(api, admin, openai_upstream):
    connect(openai_upstream)
    api.get("/api/models", headers=bearer(admin["token"]))
    openai_upstream.latency = 60
    started = time.monotonic()
    response = api.post("/api/chat/completions", json={"model": "gpt-4o", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 504 and time.monotonic() - started < 10


@pytest.mark.parametrize("path", ["/api/chat/completions", "/ollama/api/chat"])
def test_a_stream_that_never_ends_is_cut_at_its_maximum_duration(api, admin, ollama, path):
    connect(ollama)
    ollama.tokens, ollama.token_delay = 1000, 0.1  # flowing (never idle), but for 100 s
    started = time.monotonic()
    with api.stream("POST", path, json={"model": "llama3.1:8b", "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        lines = [line for line in response.iter_lines() if line]
    assert time.monotonic() - started < 10
    if path == "/api/chat/completions":
        assert lines[-2:] == ["data: " + STREAM_FAILED, "data: [DONE]"]
    else:
        assert json.loads(lines[-1]) == {"error": "Upstream timed out"}


def test_the_model_list_never_waits_on_an_upstream_once_it_has_a_list(api, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream, list_timeout=5)
    headers = bearer(admin["token"])
    everything = ["gpt-4o-mini", "gpt-4o", "llama3.1:8b", "qwen3:4b"]
    assert [m["id"] for m in api.get("/api/models", headers=headers).json()["data"]] == everything
    openai_upstream.latency = 60  # hangs from now on (its lists are cached 0.3 s)
    asked = len(openai_upstream.requests)
    slowest = 0.0
    for _ in range(20):
        started = time.monotonic()
        response = api.get("/api/models", headers=headers)
        slowest = max(slowest, time.monotonic() - started)
        assert [m["id"] for m in response.json()["data"]] == everything  # the last good list
        time.sleep(0.2)
    assert slowest < 2.5
    assert len(openai_upstream.requests) > asked  # it was asked again, in the background


def test_model_entries_without_a_usable_id_are_skipped(api, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    ollama.models, openai_upstream.models = [5, "llama3.1:8b"], [{"a": 1}, None, "gpt-4o"]
    response = api.get("/api/models", headers=bearer(admin["token"]))
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["gpt-4o", "llama3.1:8b"]


@pytest.mark.parametrize("kind,path", [("openai", "/api/chat/completions"), ("ollama", "/api/chat/completions"),
                                       ("openai", "/openai/chat/completions"), ("ollama", "/ollama/api/chat")])
@pytest.mark.parametrize("stream", [False, True])
def test_rate_limits_keep_their_retry_after(request, api, admin, kind, path, stream):
    upstream = _upstream(request, kind)
    connect(upstream)
    api.get("/api/models", headers=bearer(admin["token"]))
    upstream.fail_status, upstream.fail_message, upstream.retry_after = 429, "slow down", "17"
    response = api.post(path, json={"model": _model(kind), "messages": HELLO, "stream": stream},
                        headers=bearer(admin["token"]))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"
    assert response.json() == {"detail": "slow down"}
