"""The `openai` SDK with `base_url=<server>/api` (and `/openai`, the passthrough), beyond chat
(tests/test_chat.py): the model list as OpenAI's `models.list()` pages it, and embeddings from a
model of each kind of connection, batched (the SDK asks for `encoding_format: base64` and reads
floats or base64 alike)."""

import openai

from tests.conftest import connect


def sdk(gateway, token, path="/api") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}{path}", api_key=token, max_retries=0)


def test_models_list(gateway, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    ids = {m.id for m in sdk(gateway, admin["token"]).models.list()}
    assert ids == {"llama3.1:8b", "qwen3:4b", "gpt-4o-mini", "gpt-4o"}


def test_embeddings_from_an_ollama_model_batched(gateway, admin, ollama):
    connect(ollama)
    result = sdk(gateway, admin["token"]).embeddings.create(model="llama3.1:8b", input=["first text", "second text"])
    assert [e.index for e in result.data] == [0, 1]
    assert len(result.data[0].embedding) == ollama.embedding_dims
    assert result.data[0].embedding != result.data[1].embedding


def test_embeddings_from_an_openai_model_through_v1(gateway, admin, openai_upstream):
    connect(openai_upstream)
    result = sdk(gateway, admin["token"], "/api/v1").embeddings.create(model="gpt-4o", input="one text")
    assert len(result.data) == 1 and len(result.data[0].embedding) == openai_upstream.embedding_dims


def test_chat_through_the_openai_passthrough(gateway, admin, openai_upstream):
    connect(openai_upstream)
    client = sdk(gateway, admin["token"], "/openai")
    assert {m.id for m in client.models.list()} == {"gpt-4o-mini", "gpt-4o"}
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello there"}])
    assert reply.choices[0].message.content == "Echo: hello there"
