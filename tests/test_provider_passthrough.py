"""The rest of Open WebUI's provider routes: /openai/responses, Ollama's OpenAI-compatible /ollama/v1/*,
the /{url_idx} variants, /verify, and the admins' Ollama model management."""

import json

import openai
import pytest

from models_registry.models import Model
from tests import factories
from tests.conftest import bearer, connect
from tests.upstreams import FakeUpstream, bag_of_words

HELLO = [{"role": "user", "content": "hello there"}]


def test_openai_sdk_responses_through_the_passthrough(gateway, admin, openai_upstream):
    connect(openai_upstream)
    client = openai.OpenAI(base_url=f"{gateway.url}/openai", api_key=admin["token"], max_retries=0)
    response = client.responses.create(model="gpt-4o", input="hello there")
    assert response.id == "resp_upstream" and response.output_text == "Echo: hello there"
    stream = client.responses.create(model="gpt-4o", input="hello there", stream=True)
    deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Echo: hello there"


def test_responses_resolve_presets_and_check_access(api, admin, user, openai_upstream):
    connect(openai_upstream)
    Model.objects.create(id="helper", base_model_id="gpt-4o", name="Helper", user_id=admin["id"])
    assert api.post("/openai/responses", headers=bearer(admin["token"]), json={"model": "helper", "input": "x"}).status_code == 200
    assert openai_upstream.last("/v1/responses")["model"] == "gpt-4o"
    response = api.post("/openai/responses", headers=bearer(user["token"]), json={"model": "gpt-4o", "input": "x"})
    assert (response.status_code, response.json()) == (403, {"detail": "Model not found"})
    assert api.post("/openai/responses", headers=bearer(admin["token"]), json={"input": "x"}).json() == {
        "detail": "model: a model id is required."}


def test_ollama_openai_compatible_api_with_the_openai_sdk(gateway, admin, ollama):
    connect(ollama)
    client = openai.OpenAI(base_url=f"{gateway.url}/ollama/v1", api_key=admin["token"], max_retries=0)
    assert [m.id for m in client.models.list().data] == ["llama3.1:8b", "qwen3:4b"]
    assert client.chat.completions.create(model="llama3.1:8b", messages=HELLO).choices[0].message.content == "Echo: hello there"
    stream = client.chat.completions.create(model="llama3.1:8b", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hello there"
    assert client.completions.create(model="llama3.1:8b", prompt="hi").choices[0].text == "Echo: hi"
    floats = client.embeddings.create(model="llama3.1:8b", input=["a"], encoding_format="float")
    assert floats.data[0].embedding == bag_of_words("a")
    assert client.responses.create(model="llama3.1:8b", input="yo").output_text == "Echo: yo"
    assert ollama.last("/v1/chat/completions")["model"] == "llama3.1:8b"


def test_ollama_v1_messages_is_relayed(api, admin, ollama):
    connect(ollama)
    response = api.post("/ollama/v1/messages", headers=bearer(admin["token"]),
                        json={"model": "llama3.1:8b", "max_tokens": 5, "messages": HELLO})
    assert response.json()["content"] == [{"type": "text", "text": "Echo: hello there"}]


def test_ollama_v1_chat_applies_a_presets_params_openai_style(api, admin, ollama):
    connect(ollama)
    Model.objects.create(id="pirate", base_model_id="llama3.1:8b", name="Pirate", user_id=admin["id"],
                         params={"system": "Arr.", "temperature": 0.2})
    api.post("/ollama/v1/chat/completions", headers=bearer(admin["token"]), json={"model": "pirate", "messages": HELLO})
    sent = ollama.last("/v1/chat/completions")
    assert sent["model"] == "llama3.1:8b" and sent["temperature"] == 0.2 and "options" not in sent
    assert sent["messages"][0] == {"role": "system", "content": "Arr."}


def test_url_idx_picks_the_enabled_connection_of_that_index(api, admin, ollama):
    second = FakeUpstream("ollama", models=["qwen3:4b"]).start()
    try:
        connect(ollama, position=0)
        connect(FakeUpstream("ollama"), position=1, enabled=False)  # disabled: not counted
        connect(second, position=2)
        body = {"model": "qwen3:4b", "messages": HELLO, "stream": False}
        for path in ("/ollama/api/chat/1", "/ollama/v1/chat/completions/1"):
            assert api.post(path, headers=bearer(admin["token"]), json=body).status_code == 200
        assert len(second.requests) >= 2 and not [r for r in ollama.requests if r[1] != "/api/tags"]
        assert [m["id"] for m in api.get("/ollama/v1/models/1", headers=bearer(admin["token"])).json()["data"]] == ["qwen3:4b"]
        assert api.get("/ollama/v1/models/5", headers=bearer(admin["token"])).status_code == 404
        response = api.post("/ollama/api/chat/0", headers=bearer(admin["token"]), json={**body, "model": "ghost"})
        assert response.status_code == 400
    finally:
        second.stop()


def test_url_idx_variants_are_refused_to_users_where_open_webui_refuses_them(api, admin, user, ollama):
    connect(ollama)
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    factories.share("model", "llama3.1:8b")
    assert api.get("/ollama/v1/models/0", headers=bearer(user["token"])).status_code == 401
    assert [m["id"] for m in api.get("/ollama/v1/models", headers=bearer(user["token"])).json()["data"]] == ["llama3.1:8b"]
    body = {"model": "llama3.1:8b", "messages": HELLO}
    assert api.post("/ollama/v1/chat/completions/0", headers=bearer(user["token"]), json=body).status_code == 200
    assert api.post("/ollama/v1/chat/completions/3", headers=bearer(user["token"]), json=body).status_code == 403
    response = api.post("/ollama/v1/chat/completions", headers=bearer(user["token"]), json={**body, "model": "qwen3:4b"})
    assert response.status_code == 403


@pytest.mark.parametrize("kind, answer", [("ollama", {"version": "0.12.6"}), ("openai", None)])
def test_verify_answers_what_the_upstream_answers(api, admin, ollama, openai_upstream, kind, answer):
    upstream = ollama if kind == "ollama" else openai_upstream
    response = api.post(f"/{kind}/verify", headers=bearer(admin["token"]), json={"url": upstream.url, "key": "sk-test"})
    assert response.status_code == 200
    if answer:
        assert response.json() == answer
    else:
        assert [m["id"] for m in response.json()["data"]] == ["gpt-4o-mini", "gpt-4o"]
    assert upstream.headers[-1]["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_verify_reports_upstream_failures(api, admin, ollama, openai_upstream, kind):
    upstream = ollama if kind == "ollama" else openai_upstream
    upstream.fail_status, upstream.fail_message = 401, "bad key"
    response = api.post(f"/{kind}/verify", headers=bearer(admin["token"]), json={"url": upstream.url, "key": "sk-x"})
    assert (response.status_code, response.json()) == (401, {"detail": "bad key"})
    upstream.stop()
    response = api.post(f"/{kind}/verify", headers=bearer(admin["token"]), json={"url": upstream.url})
    assert response.status_code == 502 and "unreachable" in response.json()["detail"]


@pytest.mark.parametrize("body, detail", [
    ({}, "url must be an http(s) URL."),
    ({"url": "ftp://x"}, "url must be an http(s) URL."),
    ({"url": "http://\u00bdx\u00d1\u00ac\u00d7"}, "url must be an http(s) URL."),  # found by the schema fuzz: was a 500
    ({"url": "http://[::1"}, "url must be an http(s) URL."),
    ({"url": "http://127.0.0.1:1", "key": "sk-\u00e9"}, "key must be printable ASCII (it is sent in an HTTP header)."),
])
def test_verify_bad_bodies_are_400(api, admin, body, detail):
    response = api.post("/openai/verify", headers=bearer(admin["token"]), json=body)
    assert (response.status_code, response.json()) == (400, {"detail": detail})


def test_ollama_model_management_is_relayed_for_admins(api, admin, ollama):
    connect(ollama)
    token = bearer(admin["token"])
    with api.stream("POST", "/ollama/api/pull", headers=token, json={"model": "phi3"}) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(line)["status"] for line in response.iter_lines() if line][-1] == "success"
    assert api.post("/ollama/api/pull/0", headers=token, json={"name": "phi3", "stream": False}).json() == {"status": "success"}
    assert api.post("/ollama/api/create", headers=token, json={"model": "mine", "from": "llama3.1:8b", "stream": False}).status_code == 200
    assert api.request("DELETE", "/ollama/api/push", headers=token, json={"model": "llama3.1:8b", "stream": False}).status_code == 200
    assert api.post("/ollama/api/copy", headers=token, json={"source": "llama3.1:8b", "destination": "copy:1"}).json() is True
    assert ollama.last("/api/copy") == {"source": "llama3.1:8b", "destination": "copy:1"}
    assert "copy:1" in [m["id"] for m in api.get("/api/models", headers=token).json()["data"]]  # the list was refreshed
    assert api.request("DELETE", "/ollama/api/delete", headers=token, json={"name": "copy:1"}).json() is True
    assert api.post("/ollama/api/unload", headers=token, json={"model": "llama3.1:8b"}).json() == {"status": True}
    assert ollama.last("/api/generate") == {"model": "llama3.1:8b", "keep_alive": 0, "prompt": "", "stream": False}


def test_ollama_model_management_errors(api, admin, ollama):
    connect(ollama)
    token = bearer(admin["token"])
    response = api.request("DELETE", "/ollama/api/delete", headers=token, json={"model": "ghost"})
    assert (response.status_code, response.json()) == (400, {"detail": "Model 'ghost' was not found"})
    response = api.request("DELETE", "/ollama/api/delete/0", headers=token, json={"model": "ghost"})
    assert (response.status_code, response.json()) == (404, {"detail": "model 'ghost' not found"})
    assert api.post("/ollama/api/pull/4", headers=token, json={"model": "x"}).status_code == 404
    assert api.post("/ollama/api/copy", headers=token, json={"source": "llama3.1:8b"}).json() == {
        "detail": "destination: a model name is required."}
    assert api.post("/ollama/models/download", headers=token, json={"url": "https://huggingface.co/x"}).status_code == 501


def test_admin_routes_refuse_non_admins(api, admin, user, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    token = bearer(user["token"])
    for method, path in [("POST", "/ollama/verify"), ("POST", "/openai/verify"), ("POST", "/ollama/api/pull"),
                         ("POST", "/ollama/api/pull/0"), ("DELETE", "/ollama/api/push"), ("POST", "/ollama/api/create"),
                         ("POST", "/ollama/api/copy"), ("DELETE", "/ollama/api/delete"), ("POST", "/ollama/api/unload"),
                         ("POST", "/ollama/models/upload"), ("GET", "/openai/models/0/catalog"), ("DELETE", "/openai/models/0"),
                         ("GET", "/openai/models/0")]:
        response = api.request(method, path, headers=token, json={"model": "llama3.1:8b", "url": ollama.url})
        assert response.status_code == 401, (method, path, response.text)
    assert not [p for _, p, _ in ollama.requests if p not in ("/api/tags",)]


def test_openai_model_management_answers_as_for_a_plain_connection(api, admin, openai_upstream):
    connect(openai_upstream)
    token = bearer(admin["token"])
    for method, path in [("GET", "/openai/models/0/catalog"), ("POST", "/openai/models/0/load"),
                         ("GET", "/openai/models/0/download/status/job-1"), ("DELETE", "/openai/models/0")]:
        response = api.request(method, path, headers=token, json={"model": "gpt-4o"})
        assert (response.status_code, response.json()) == (400, {"detail": 'Provider "default" does not support model management'})
    assert api.get("/openai/models/3/catalog", headers=token).status_code == 404
    assert [m["id"] for m in api.get("/openai/models/0", headers=token).json()["data"]] == ["gpt-4o-mini", "gpt-4o"]


def test_the_generic_openai_passthrough_is_off(api, user):
    response = api.post("/openai/files", headers=bearer(user["token"]), json={})
    assert response.status_code == 403 and "passthrough is disabled" in response.json()["detail"]


def test_upstream_failures_on_passthrough_routes_are_clean(api, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    api.get("/api/models", headers=bearer(admin["token"]))
    openai_upstream.fail_status = 503
    response = api.post("/openai/responses", headers=bearer(admin["token"]), json={"model": "gpt-4o", "input": "x"})
    assert (response.status_code, response.json()) == (502, {"detail": "upstream exploded"})
    ollama.stop()
    response = api.post("/ollama/v1/chat/completions", headers=bearer(admin["token"]), json={"model": "llama3.1:8b", "messages": HELLO})
    assert response.status_code == 502 and "unreachable" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/openai/responses", "/ollama/v1/chat/completions/0", "/ollama/v1/messages",
                                  "/ollama/v1/embeddings", "/ollama/api/pull", "/ollama/api/unload"])
def test_bodies_without_a_model_are_400(api, admin, ollama, path):
    connect(ollama)
    for body, detail in [({"input": "x"}, "model: a model id is required."), (["x"], "The request body must be a JSON object.")]:
        response = api.post(path, headers=bearer(admin["token"]), json=body)
        assert (response.status_code, response.json()) == (400, {"detail": detail}), path
    response = api.post(path, headers={**bearer(admin["token"]), "Content-Type": "application/json"}, content=b"{")
    assert response.status_code == 400
