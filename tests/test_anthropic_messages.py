"""Anthropic's Messages API (/api/v1/messages, /api/message and count_tokens) on the chat completion
path, as the official anthropic SDK calls it with base_url=<server>/api."""

import json

import anthropic
import httpx
import pytest

from models_registry.models import Model
from tests import factories
from tests.conftest import bearer, connect

MODELS = {"ollama": "llama3.1:8b", "openai": "gpt-4o"}
HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def upstreams(ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    return {"ollama": ollama, "openai": openai_upstream}


def client(gateway, token, **options) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{gateway.url}/api", api_key=token, max_retries=0, **options)


def sse(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_sdk_messages_create(gateway, admin, upstreams, kind):
    message = client(gateway, admin["token"]).messages.create(
        model=MODELS[kind], max_tokens=64, system="Be brief.", messages=HELLO, stop_sequences=["END"],
        extra_body={"temperature": 0.3})
    assert message.type == "message" and message.role == "assistant" and message.model == MODELS[kind]
    assert [(b.type, b.text) for b in message.content] == [("text", "Echo: hello there")]
    assert message.stop_reason == "end_turn" and message.id.startswith("msg_")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)
    path = "/api/chat" if kind == "ollama" else "/v1/chat/completions"
    sent = upstreams[kind].last(path)
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    if kind == "openai":
        assert (sent["max_tokens"], sent["temperature"], sent["stop"]) == (64, 0.3, ["END"])
    else:
        assert sent["options"] == {"num_predict": 64, "temperature": 0.3, "stop": ["END"]}


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_sdk_messages_stream(gateway, admin, upstreams, kind):
    with client(gateway, admin["token"]).messages.stream(model=MODELS[kind], max_tokens=64, messages=HELLO) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(deltas) == "Echo: hello there" and len(deltas) == 3
    assert final.content[0].text == "Echo: hello there" and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 3)


def test_stream_events_follow_anthropics_order(api, admin, upstreams):
    with api.stream("POST", "/api/v1/messages", headers=bearer(admin["token"]),
                    json={"model": "gpt-4o", "max_tokens": 10, "messages": HELLO, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    assert all(name == data["type"] for name, data in events)
    assert events[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_x_api_key_and_bearer_both_authenticate(api, admin, upstreams):
    key = factories.api_key(factories.admin(name="Keyed"))[1]
    for headers in ({"x-api-key": key}, bearer(key), {"x-api-key": admin["token"]}):
        response = api.post("/api/message", headers={**headers, "anthropic-version": "2023-06-01"},
                            json={"model": "gpt-4o", "max_tokens": 5, "messages": HELLO})
        assert response.status_code == 200, response.text
    assert api.post("/api/v1/messages", json={"model": "gpt-4o", "messages": HELLO}).status_code == 401


def test_content_blocks_images_and_tools_are_converted(api, admin, upstreams):
    body = {"model": "gpt-4o", "max_tokens": 50, "system": [{"type": "text", "text": "Sys."}],
            "tools": [{"name": "weather", "description": "Weather now", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any"},
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Look:"},
                                             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}]}]}
    assert api.post("/api/v1/messages", headers=bearer(admin["token"]), json=body).status_code == 200
    sent = upstreams["openai"].last("/v1/chat/completions")
    assert sent["messages"] == [
        {"role": "system", "content": "Sys."},
        {"role": "user", "content": [{"type": "text", "text": "Look:"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny"}]
    assert sent["tools"] == [{"type": "function", "function": {"name": "weather", "description": "Weather now",
                                                               "parameters": {"type": "object"}}}]
    assert sent["tool_choice"] == "required"


def test_a_preset_applies_its_system_prompt_and_base_model(gateway, admin, upstreams):
    Model.objects.create(id="pirate", base_model_id="llama3.1:8b", name="Pirate", user_id=admin["id"],
                         params={"system": "Arr."})
    message = client(gateway, admin["token"]).messages.create(model="pirate", max_tokens=10, messages=HELLO)
    assert message.model == "pirate"
    sent = upstreams["ollama"].last("/api/chat")
    assert sent["model"] == "llama3.1:8b" and sent["messages"][0] == {"role": "system", "content": "Arr."}


def test_a_user_without_access_to_the_model_gets_model_not_found(gateway, api, admin, user, upstreams):
    with pytest.raises(anthropic.BadRequestError):
        client(gateway, user["token"]).messages.create(model="gpt-4o", max_tokens=5, messages=HELLO)
    for path in ("/api/v1/messages", "/api/v1/messages/count_tokens"):
        response = api.post(path, headers=bearer(user["token"]), json={"model": "gpt-4o", "messages": HELLO})
        assert (response.status_code, response.json()) == (400, {"detail": "Model not found"})
    assert not [p for _, p, _ in upstreams["openai"].requests if p == "/v1/chat/completions"]


@pytest.mark.parametrize("body, detail", [
    ({"messages": HELLO}, "model: a model id is required."),
    ({"model": "gpt-4o", "messages": []}, "messages: a non-empty list of message objects is required."),
    ({"model": "gpt-4o", "messages": [{"role": "system", "content": "x"}]}, 'messages[0].role must be "user" or "assistant".'),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
     "messages[0].content[0].text must be a string."),
    ({"model": "gpt-4o", "messages": HELLO, "max_tokens": "5"}, "max_tokens must be a positive integer."),
    ({"model": "gpt-4o", "messages": HELLO, "tools": [{"description": "no name"}]}, "tools[0].name must be a non-empty string."),
    (["not", "an", "object"], "The request body must be a JSON object."),
])
@pytest.mark.parametrize("path", ["/api/v1/messages", "/api/message/count_tokens"])
def test_bad_bodies_are_400_with_a_detail(api, admin, upstreams, body, detail, path):
    response = api.post(path, headers=bearer(admin["token"]), json=body)
    assert (response.status_code, response.json()) == (400, {"detail": detail})


def test_count_tokens_estimates_when_the_upstream_cannot_count(gateway, admin, upstreams):
    sdk = client(gateway, admin["token"])
    short = sdk.messages.count_tokens(model="llama3.1:8b", messages=HELLO).input_tokens
    long = sdk.messages.count_tokens(model="gpt-4o", messages=[{"role": "user", "content": "word " * 400}]).input_tokens
    assert 0 < short < 20 and 400 < long < 600


def test_count_tokens_asks_an_anthropic_compatible_upstream(api, admin, upstreams):
    upstreams["openai"].counted_tokens = 42
    response = api.post("/api/v1/messages/count_tokens", headers=bearer(admin["token"]), json={"model": "gpt-4o", "messages": HELLO})
    assert response.json() == {"input_tokens": 42}
    assert upstreams["openai"].last("/v1/messages/count_tokens") == {"model": "gpt-4o", "messages": HELLO}


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_upstream_failures_are_clean_errors(gateway, api, admin, upstreams, kind):
    upstream = upstreams[kind]
    api.get("/api/models", headers=bearer(admin["token"]))
    upstream.fail_status, upstream.fail_message = 500, "model crashed"
    with pytest.raises(anthropic.InternalServerError) as failure:
        client(gateway, admin["token"]).messages.create(model=MODELS[kind], max_tokens=5, messages=HELLO)
    assert failure.value.status_code == 502 and failure.value.body == {"detail": "model crashed"}
    upstream.stop()
    response = api.post("/api/v1/messages", headers=bearer(admin["token"]),
                        json={"model": MODELS[kind], "messages": HELLO, "stream": True})
    assert response.status_code == 502 and "unreachable" in response.json()["detail"]


def test_a_stream_cut_mid_way_ends_with_an_anthropic_error_event(gateway, api, admin, upstreams):
    upstreams["ollama"].tokens, upstreams["ollama"].drop_after = 10, 3
    with api.stream("POST", "/api/v1/messages", headers=bearer(admin["token"]),
                    json={"model": "llama3.1:8b", "messages": HELLO, "stream": True}) as response:
        events = sse(response)
    assert events[-1] == ("error", {"type": "error", "error": {"type": "api_error", "message": "Chat completion stream failed"}})
    assert "message_stop" not in [n for n, _ in events]
    with pytest.raises(anthropic.APIStatusError):
        with client(gateway, admin["token"]).messages.stream(model="llama3.1:8b", max_tokens=5, messages=HELLO) as stream:
            stream.until_done()


def test_client_disconnect_cancels_the_upstream(gateway, admin, upstreams):
    ollama = upstreams["ollama"]
    ollama.tokens, ollama.token_delay = 40, 0.05
    with httpx.Client(base_url=gateway.url, timeout=10) as http:
        with http.stream("POST", "/api/v1/messages", headers=bearer(admin["token"]),
                         json={"model": "llama3.1:8b", "messages": HELLO, "stream": True}) as response:
            assert next(response.iter_lines()).startswith("event: message_start")
    assert ollama.disconnected.wait(5), "the upstream never saw the connection close"


def _chunk(delta=None, finish=None, usage=None) -> str:
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta or {},
                                                                                   "finish_reason": finish}]}
    return json.dumps({**chunk, "usage": usage} if usage else chunk)


def test_streamed_tool_calls_become_tool_use_blocks():
    """The conversion alone, on the chunks an OpenAI upstream sends for a tool call."""
    import asyncio

    from chat import anthropic as convert

    payloads = [_chunk({"role": "assistant", "content": "Let me look."}),
                _chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                        "function": {"name": "weather", "arguments": ""}}]}),
                _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
                _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
                _chunk(finish="tool_calls", usage={"prompt_tokens": 11, "completion_tokens": 5}), "[DONE]"]

    async def run():
        async def source():
            for payload in payloads:
                yield payload
        return [part async for part in convert.stream(source(), "gpt-4o")]

    events = [(e.split("\n")[0][7:], json.loads(e.split("\n")[1][6:])) for e in b"".join(asyncio.run(run())).decode().split("\n\n") if e]
    blocks = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert blocks == [{"type": "text", "text": ""}, {"type": "tool_use", "id": "call_1", "name": "weather", "input": {}}]
    partial = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 1)
    assert json.loads(partial) == {"city": "Oslo"}
    assert events[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                             "usage": {"input_tokens": 11, "output_tokens": 5}}
    assert [n for n, _ in events].count("content_block_stop") == 2


def test_a_completion_with_tool_calls_becomes_a_message_with_tool_use():
    from chat import anthropic as convert

    message = convert.to_message({"choices": [{"finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "reasoning_content": "Hmm.",
        "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4}}, "gpt-4o")
    assert message["content"] == [{"type": "thinking", "thinking": "Hmm.", "signature": ""},
                                  {"type": "tool_use", "id": "call_9", "name": "weather", "input": {"city": "Oslo"}}]
    assert message["stop_reason"] == "tool_use" and message["usage"] == {"input_tokens": 3, "output_tokens": 4}
