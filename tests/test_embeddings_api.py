"""POST /api/embeddings and /api/v1/embeddings: OpenAI's embeddings API over the models of every
connection, as the openai SDK calls it."""

import base64
import struct

import openai
import pytest

from models_registry.models import Model
from tests import factories
from tests.conftest import bearer, connect
from tests.upstreams import bag_of_words

MODELS = {"ollama": "llama3.1:8b", "openai": "gpt-4o"}


@pytest.fixture
def upstreams(ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    return {"ollama": ollama, "openai": openai_upstream}


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_openai_sdk_embeds_as_floats_and_base64(gateway, admin, upstreams, kind):
    client = openai.OpenAI(base_url=f"{gateway.url}/api", api_key=admin["token"], max_retries=0)
    floats = client.embeddings.create(model=MODELS[kind], input=["refund policy", "shipping"], encoding_format="float")
    assert [d.embedding for d in floats.data] == [bag_of_words("refund policy"), bag_of_words("shipping")]
    assert [d.index for d in floats.data] == [0, 1]
    assert floats.model == MODELS[kind] and floats.usage.prompt_tokens == 3 == floats.usage.total_tokens
    default = client.embeddings.create(model=MODELS[kind], input="refund policy")  # the SDK asks for base64
    assert default.data[0].embedding == pytest.approx(bag_of_words("refund policy"))


def test_base64_is_little_endian_float32(api, admin, upstreams):
    body = api.post("/api/v1/embeddings", headers=bearer(admin["token"]),
                    json={"model": "gpt-4o", "input": "a b", "encoding_format": "base64"}).json()
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == bag_of_words("a b")
    assert body["object"] == "list" and body["data"][0]["object"] == "embedding"


def test_large_inputs_go_upstream_in_concurrent_batches(api, admin, upstreams):
    texts = [f"text number {i}" for i in range(600)]
    body = api.post("/api/embeddings", headers=bearer(admin["token"]), json={"model": "llama3.1:8b", "input": texts}).json()
    assert [d["index"] for d in body["data"]] == list(range(600))
    assert body["data"][599]["embedding"] == bag_of_words("text number 599")
    batches = [b["input"] for _, p, b in upstreams["ollama"].requests if p == "/api/embed"]
    assert sorted(len(b) for b in batches) == [88, 256, 256]  # concurrent: they arrive in any order
    assert body["usage"]["prompt_tokens"] == 1800


def test_dimensions_and_token_arrays_reach_an_openai_upstream(api, admin, upstreams):
    response = api.post("/api/v1/embeddings", headers=bearer(admin["token"]),
                        json={"model": "gpt-4o", "input": [[1, 2], [3]], "dimensions": 64})
    assert response.status_code == 200 and len(response.json()["data"]) == 2
    assert float(response.headers["X-Gateway-Overhead-Ms"]) >= 0
    sent = upstreams["openai"].last("/v1/embeddings")
    assert sent["input"] == [[1, 2], [3]] and sent["dimensions"] == 64 and sent["model"] == "gpt-4o"


def test_token_arrays_to_an_ollama_model_are_400(api, admin, upstreams):
    response = api.post("/api/v1/embeddings", headers=bearer(admin["token"]), json={"model": "llama3.1:8b", "input": [1, 2]})
    assert response.status_code == 400
    assert "text input only" in response.json()["detail"]


def test_a_preset_embeds_with_its_base_model(api, admin, upstreams):
    Model.objects.create(id="embedder", base_model_id="llama3.1:8b", name="Embedder", user_id=admin["id"])
    body = api.post("/api/embeddings", headers=bearer(admin["token"]), json={"model": "embedder", "input": "x"}).json()
    assert body["model"] == "embedder"
    assert upstreams["ollama"].last("/api/embed")["model"] == "llama3.1:8b"


def test_a_user_without_access_to_the_model_cannot_embed(api, admin, user, upstreams):
    response = api.post("/api/embeddings", headers=bearer(user["token"]), json={"model": "llama3.1:8b", "input": "x"})
    assert (response.status_code, response.json()) == (400, {"detail": "Model not found"})
    assert not [p for _, p, _ in upstreams["ollama"].requests if p == "/api/embed"]
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    factories.share("model", "llama3.1:8b", principal_id=user["id"])
    assert api.post("/api/embeddings", headers=bearer(user["token"]), json={"model": "llama3.1:8b", "input": "x"}).status_code == 200


def test_embeddings_need_a_verified_user(api, upstreams):
    assert api.post("/api/embeddings", json={"model": "gpt-4o", "input": "x"}).status_code == 401
    pending = factories.session(factories.pending())
    assert api.post("/api/embeddings", json={"model": "gpt-4o", "input": "x"}, headers=bearer(pending["token"])).status_code == 401


@pytest.mark.parametrize("body, detail", [
    ({"input": "x"}, "model: a model id is required."),
    ({"model": "gpt-4o"}, "input must be a string, a non-empty list of strings, or token arrays (lists of integers)."),
    ({"model": "gpt-4o", "input": []}, "input must be a string, a non-empty list of strings, or token arrays (lists of integers)."),
    ({"model": "gpt-4o", "input": ["a", 1]}, "input must be a string, a non-empty list of strings, or token arrays (lists of integers)."),
    ({"model": "gpt-4o", "input": ["a"] * 2049}, "input must hold at most 2048 items."),
    ({"model": "gpt-4o", "input": "a", "encoding_format": "hex"}, 'encoding_format must be "float" or "base64".'),
    ({"model": "gpt-4o", "input": "a", "dimensions": 0}, "dimensions must be a positive integer."),
    (["not", "an", "object"], "The request body must be a JSON object."),
])
def test_bad_bodies_are_400_with_a_detail(api, admin, upstreams, body, detail):
    response = api.post("/api/embeddings", headers=bearer(admin["token"]), json=body)
    assert (response.status_code, response.json()) == (400, {"detail": detail})


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_upstream_errors_are_clean(api, admin, upstreams, kind):
    upstream = upstreams[kind]
    api.get("/api/models", headers=bearer(admin["token"]))
    upstream.fail_status, upstream.fail_message = 500, "embedder exploded"
    response = api.post("/api/embeddings", headers=bearer(admin["token"]), json={"model": MODELS[kind], "input": "x"})
    assert (response.status_code, response.json()) == (502, {"detail": "embedder exploded"})
    upstream.stop()
    response = api.post("/api/embeddings", headers=bearer(admin["token"]), json={"model": MODELS[kind], "input": "x"})
    assert response.status_code == 502 and "unreachable" in response.json()["detail"]
