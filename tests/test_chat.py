import json
import time

import httpx
import openai
import pytest

from accounts.models import AccessGrant
from models_registry.models import Model
from tests.conftest import bearer, connect

HELLO = [{"role": "user", "content": "hello there"}]


def sse_events(response) -> list:
    return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def test_ollama_non_stream_is_converted(api, admin, ollama):
    connect(ollama)
    response = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hello there"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == 7 and body["usage"]["completion_tokens"] == 3
    assert float(response.headers["X-Gateway-Overhead-Ms"]) >= 0
    assert ollama.last("/api/chat")["stream"] is False


def test_ollama_stream_becomes_openai_chunks(api, admin, ollama):
    connect(ollama)
    with api.stream("POST", "/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Echo: hello there"
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    assert chunks[-1]["usage"]["total_tokens"] == 10


def test_openai_non_stream_is_relayed_unchanged(api, admin, openai_upstream):
    connect(openai_upstream, api_key="sk-upstream-secret")
    response = api.post("/api/chat/completions", json={"model": "gpt-4o", "messages": HELLO, "temperature": 0.3, "seed": 4},
                        headers=bearer(admin["token"]))
    body = response.json()
    assert body["id"] == "chatcmpl-upstream" and body["system_fingerprint"] == "fp_fake"
    sent = openai_upstream.last("/v1/chat/completions")
    assert sent["temperature"] == 0.3 and sent["seed"] == 4 and "stream_options" not in sent


def test_openai_stream_is_relayed(api, admin, openai_upstream):
    connect(openai_upstream)
    with api.stream("POST", "/api/chat/completions",
                    json={"model": "gpt-4o", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}},
                    headers=bearer(admin["token"])) as response:
        events = sse_events(response)
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "Echo: hello there"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_preset_applies_system_prompt_params_and_base_model(api, admin, ollama):
    connect(ollama)
    Model.objects.create(id="pirate", base_model_id="llama3.1:8b", name="Pirate", user_id=admin["id"],
                         params={"system": "Talk like a pirate to {{USER_NAME}}.", "temperature": 0.1, "max_tokens": 50})
    api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "pirate", "params": {"temperature": 0.9},
        "messages": [{"role": "system", "content": "Be brief."}, *HELLO]})
    sent = ollama.last("/api/chat")
    assert sent["model"] == "llama3.1:8b"
    assert sent["messages"][0] == {"role": "system", "content": "Talk like a pirate to Admin.\nBe brief."}
    assert sent["options"] == {"temperature": 0.9, "num_predict": 50}


def test_openai_conversions_to_ollama(api, admin, ollama):
    connect(ollama)
    api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "max_tokens": 20, "stop": "END", "tools": [{"type": "function", "function": {"name": "f"}}],
        "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "what is this"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
        ]})
    sent = ollama.last("/api/chat")
    assert sent["messages"][0] == {"role": "user", "content": "what is this", "images": ["AAAA"]}
    assert sent["messages"][1]["tool_calls"] == [{"function": {"name": "f", "arguments": {"x": 1}}}]
    assert sent["options"] == {"num_predict": 20, "stop": ["END"]}
    assert sent["format"] == {"type": "object"} and sent["tools"][0]["function"]["name"] == "f"


def test_unknown_and_forbidden_models_are_400(api, admin, user, ollama):
    connect(ollama)
    for token in (admin["token"], user["token"]):
        model = "nope" if token == admin["token"] else "llama3.1:8b"
        response = api.post("/api/chat/completions", json={"model": model, "messages": HELLO}, headers=bearer(token))
        assert response.status_code == 400
        assert response.json() == {"detail": "Model not found"}


def test_shared_model_is_usable_by_users(api, admin, user, ollama):
    connect(ollama)
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    AccessGrant.objects.create(resource_type="model", resource_id="llama3.1:8b", principal_id=user["id"], permission="read")
    response = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(user["token"]))
    assert response.status_code == 200


@pytest.mark.parametrize("body", [
    {"messages": HELLO}, {"model": "llama3.1:8b"}, {"model": "llama3.1:8b", "messages": []},
    {"model": "llama3.1:8b", "messages": ["hi"]}, [], {"model": 3, "messages": HELLO},
])
def test_malformed_bodies_are_400(api, admin, body):
    response = api.post("/api/chat/completions", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)


def test_invalid_json_is_400(api, admin):
    response = api.post("/api/chat/completions", content=b"{", headers={**bearer(admin["token"]), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_chat_requires_a_verified_user(api, ollama):
    assert api.post("/api/chat/completions", json={"model": "x", "messages": HELLO}).status_code == 401
    assert api.get("/api/chat/completions").status_code in (401, 405)


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_upstream_4xx_keeps_its_status_with_detail(api, admin, ollama, openai_upstream, kind):
    upstream = ollama if kind == "ollama" else openai_upstream
    connect(upstream)
    model = "llama3.1:8b" if kind == "ollama" else "gpt-4o"
    api.get("/api/models", headers=bearer(admin["token"]))
    upstream.fail_status, upstream.fail_message = 429, "slow down"
    for stream in (False, True):
        response = api.post("/api/chat/completions", json={"model": model, "messages": HELLO, "stream": stream},
                            headers=bearer(admin["token"]))
        assert response.status_code == 429
        assert response.json() == {"detail": "slow down"}


def test_upstream_5xx_is_502(api, admin, ollama):
    connect(ollama)
    api.get("/api/models", headers=bearer(admin["token"]))
    ollama.fail_status = 500
    response = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 502
    assert response.json() == {"detail": "upstream exploded"}


def test_upstream_refused_is_502(api, admin, ollama):
    connect(ollama)
    api.get("/api/models", headers=bearer(admin["token"]))
    ollama.stop()
    response = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 502
    assert "unreachable" in response.json()["detail"]


def test_upstream_timeout_is_504(api, admin, openai_upstream):
    connect(openai_upstream, timeout=0.5)
    api.get("/api/models", headers=bearer(admin["token"]))
    openai_upstream.latency = 3
    started = time.monotonic()
    response = api.post("/api/chat/completions", json={"model": "gpt-4o", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 504
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_mid_stream_drop_ends_with_an_error_event_and_done(api, admin, ollama, openai_upstream, kind):
    upstream = ollama if kind == "ollama" else openai_upstream
    connect(upstream)
    upstream.tokens, upstream.drop_after = 10, 3
    model = "llama3.1:8b" if kind == "ollama" else "gpt-4o"
    with api.stream("POST", "/api/chat/completions", json={"model": model, "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        assert response.status_code == 200
        events = sse_events(response)
    assert events[-2:] == [json.dumps({"error": {"message": "Chat completion stream failed"}}), "[DONE]"]
    assert len(events) == 5


def test_client_disconnect_cancels_the_upstream_request(gateway, admin, ollama):
    connect(ollama)
    ollama.tokens, ollama.token_delay = 200, 0.05
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        with client.stream("POST", "/api/chat/completions", headers=bearer(admin["token"]),
                           json={"model": "llama3.1:8b", "messages": HELLO, "stream": True}) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: ")
    assert ollama.disconnected.wait(5), "the upstream never saw the connection close"


def test_openai_sdk_sync_and_async(gateway, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    client = openai.OpenAI(base_url=f"{gateway.url}/api", api_key=admin["token"])
    reply = client.chat.completions.create(model="llama3.1:8b", messages=HELLO)
    assert reply.choices[0].message.content == "Echo: hello there"
    stream = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hello there"

    async def run():
        aclient = openai.AsyncOpenAI(base_url=f"{gateway.url}/api", api_key=admin["token"])
        reply = await aclient.chat.completions.create(model="gpt-4o", messages=HELLO)
        parts = []
        async for chunk in await aclient.chat.completions.create(model="llama3.1:8b", messages=HELLO, stream=True):
            parts.append(chunk.choices[0].delta.content or "")
        return reply.choices[0].message.content, "".join(parts)

    import asyncio

    assert asyncio.run(run()) == ("Echo: hello there", "Echo: hello there")


def test_openai_sdk_sees_upstream_errors(gateway, admin, ollama):
    connect(ollama)
    client = openai.OpenAI(base_url=f"{gateway.url}/api", api_key=admin["token"], max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="missing", messages=HELLO)


def test_api_key_works_for_chat(api, user, admin, ollama):
    connect(ollama)
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    AccessGrant.objects.create(resource_type="model", resource_id="llama3.1:8b", principal_id="*", permission="read")
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    response = api.post("/api/v1/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(key))
    assert response.status_code == 200
