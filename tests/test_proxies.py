import json

import ollama as ollama_sdk
import openai

from accounts.models import AccessGrant
from models_registry.models import Model
from tests.conftest import bearer, connect

HELLO = [{"role": "user", "content": "hello there"}]


def test_ollama_client_works_against_the_proxy(gateway, admin, ollama):
    connect(ollama)
    client = ollama_sdk.Client(host=f"{gateway.url}/ollama", headers=bearer(admin["token"]))
    assert [m.model for m in client.list().models] == ["llama3.1:8b", "qwen3:4b"]
    assert client.chat(model="llama3.1:8b", messages=HELLO).message.content == "Echo: hello there"
    parts = [c.message.content for c in client.chat(model="llama3.1:8b", messages=HELLO, stream=True)]
    assert "".join(parts) == "Echo: hello there"
    assert client.generate(model="llama3.1:8b", prompt="hi").response == "Echo: hi"
    assert len(client.embed(model="llama3.1:8b", input=["a", "bb"]).embeddings) == 2
    assert client.show("llama3.1:8b").modelfile == "FROM llama"


def test_ollama_stream_stays_ndjson(api, admin, ollama):
    connect(ollama)
    with api.stream("POST", "/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO},
                    headers=bearer(admin["token"])) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1]["done"] is True
    assert "X-Gateway-Overhead-Ms" in response.headers


def test_ollama_version_tags_by_index_and_ps(api, admin, user, ollama):
    connect(ollama)
    assert api.get("/ollama/api/version", headers=bearer(user["token"])).json() == {"version": "0.12.6"}
    assert api.get("/ollama/api/tags/0", headers=bearer(admin["token"])).json()["models"][0]["name"] == "llama3.1:8b"
    assert api.get("/ollama/api/tags/0", headers=bearer(user["token"])).status_code == 401
    assert api.get("/ollama/api/ps", headers=bearer(admin["token"])).json() == {"models": []}
    assert api.get("/ollama/api/ps", headers=bearer(user["token"])).status_code == 401
    assert api.get("/ollama/").json() == {"status": True}


def test_proxy_access_rules(api, admin, user, ollama):
    connect(ollama)
    assert api.get("/ollama/api/tags", headers=bearer(user["token"])).json() == {"models": []}
    response = api.post("/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(user["token"]))
    assert response.status_code == 403
    response = api.post("/ollama/api/chat", json={"model": "ghost", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 400
    assert response.json() == {"detail": "Model 'ghost' was not found"}
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    AccessGrant.objects.create(resource_type="model", resource_id="llama3.1:8b", principal_id="*", permission="read")
    response = api.post("/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO, "stream": False},
                        headers=bearer(user["token"]))
    assert response.json()["message"]["content"] == "Echo: hello there"


def test_ollama_proxy_applies_presets(api, admin, ollama):
    connect(ollama)
    Model.objects.create(id="pirate", base_model_id="llama3.1:8b", name="Pirate", user_id=admin["id"],
                         params={"system": "Arr.", "temperature": 0.2})
    api.post("/ollama/api/chat", json={"model": "pirate", "messages": HELLO, "stream": False}, headers=bearer(admin["token"]))
    sent = ollama.last("/api/chat")
    assert sent["model"] == "llama3.1:8b" and sent["messages"][0] == {"role": "system", "content": "Arr."}
    assert sent["options"] == {"temperature": 0.2}


def test_openai_proxy(gateway, api, admin, openai_upstream):
    connect(openai_upstream)
    assert [m["id"] for m in api.get("/openai/models", headers=bearer(admin["token"])).json()["data"]] == ["gpt-4o-mini", "gpt-4o"]
    client = openai.OpenAI(base_url=f"{gateway.url}/openai", api_key=admin["token"])
    assert client.chat.completions.create(model="gpt-4o", messages=HELLO).id == "chatcmpl-upstream"
    stream = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hello there"
    assert len(client.embeddings.create(model="gpt-4o", input=["a"]).data) == 1
    missing = api.post("/openai/chat/completions", json={"model": "nope", "messages": HELLO}, headers=bearer(admin["token"]))
    assert missing.status_code == 404


def test_proxy_relays_upstream_errors_as_detail(api, admin, ollama):
    connect(ollama)
    api.get("/api/models", headers=bearer(admin["token"]))
    ollama.fail_status, ollama.fail_message = 404, "model 'x' not found, try pulling it first"
    response = api.post("/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO}, headers=bearer(admin["token"]))
    assert response.status_code == 404
    assert response.json() == {"detail": "model 'x' not found, try pulling it first"}
