"""Bad input is a 400 with `{"detail": ...}` (never a 500) and loses nothing already stored: bodies
nested too deep, NUL characters (which Postgres refuses), absurd pages, badly typed chat params,
and concurrent writes to one model preset."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import websockets

from config.runtime.models import RuntimeSetting
from files.models import File
from knowledge.models import KnowledgeBase
from models_registry.models import Model
from tests.conftest import PASSWORD, bearer, connect
from tests.helpers import PRESET, ws_frame, ws_url
from tests.server import LiveServer

HELLO = [{"role": "user", "content": "hello there"}]
DEEP = b"[" * 100_000 + b"]" * 100_000


def _post_raw(api, path, body: bytes, token):
    return api.post(path, content=body, headers={**bearer(token), "Content-Type": "application/json"})


@pytest.mark.parametrize("path, prefix", [
    ("/api/chat/completions", b'{"model": "llama3.1:8b", "messages": '),
    ("/api/v1/knowledge/create", b'{"name": "Deep", "description": '),
    ("/ollama/api/chat", b'{"model": "llama3.1:8b", "messages": '),
    ("/api/v1/retrieval/query/doc", b'{"collection_name": "x", "query": '),
])
def test_json_nested_too_deep_is_400(api, admin, ollama, path, prefix):
    connect(ollama)
    for body in (prefix + DEEP + b"}", prefix + b"[" * 65 + b"]" * 65 + b"}"):
        response = _post_raw(api, path, body, admin["token"])
        assert response.status_code == 400, response.text
        assert "nested more than 64 levels" in response.json()["detail"]
    assert not KnowledgeBase.objects.exists()
    assert ollama.requests == []


def test_nesting_within_the_limit_still_works(api, admin):
    meta = {"k": [[[[{"a": [1, 2, {"b": [[]]}]}]]]]}
    response = api.post("/api/v1/models/create", json={**PRESET, "meta": meta}, headers=bearer(admin["token"]))
    assert response.status_code == 200, response.text
    assert Model.objects.get(id=PRESET["id"]).meta == meta


def test_deep_websocket_message_is_an_error_and_the_socket_lives_on(gateway, admin, ollama):
    connect(ollama)

    async def run():
        async with websockets.connect(ws_url(gateway, admin["token"]), max_size=None) as ws:
            assert ws_frame(await ws.recv()) == {"type": "ready"}
            await ws.send('{"type": "chat", "id": "d", "body": ' + DEEP.decode() + "}")  # a text frame
            error = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "chat", "id": "ok", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
            while (message := ws_frame(await asyncio.wait_for(ws.recv(), 10)))["type"] != "done":
                pass
            return error, message

    error, done = asyncio.run(run())
    assert error["type"] == "error" and error["status"] == 400 and "nested" in error["detail"]
    assert done == {"type": "done", "id": "ok"}


def test_nul_in_upload_metadata_is_400_and_nothing_is_stored(api, user):
    response = api.post("/api/v1/files/", files={"file": ("a.txt", b"hello", "text/plain")},
                        data={"metadata": json.dumps({"note": "a\u0000b"})}, headers=bearer(user["token"]))
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["detail"]
    assert not File.objects.exists()


def test_nul_in_preset_meta_or_params_is_400_and_keeps_the_stored_preset(api, admin):
    headers = bearer(admin["token"])
    response = api.post("/api/v1/models/create", json={**PRESET, "meta": {"description": "x\u0000"}}, headers=headers)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert not Model.objects.exists()
    assert api.post("/api/v1/models/create", json=PRESET, headers=headers).status_code == 200
    response = api.post("/api/v1/models/model/update", headers=headers,
                        json={**PRESET, "params": {"system": "\u0000", "temperature": 0.9}})
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert Model.objects.get(id=PRESET["id"]).params == PRESET["params"]


def test_nul_in_rag_template_is_400_and_keeps_the_setting(api, admin):
    headers = bearer(admin["token"])
    before = api.get("/api/v1/retrieval/config", headers=headers).json()["RAG_TEMPLATE"]
    response = api.post("/api/v1/retrieval/config/update", json={"RAG_TEMPLATE": "{{CONTEXT}}\u0000"}, headers=headers)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert api.get("/api/v1/retrieval/config", headers=headers).json()["RAG_TEMPLATE"] == before
    assert not RuntimeSetting.objects.filter(key="RAG_TEMPLATE").exists()


def test_nan_and_infinity_are_not_json(api, admin):
    for body in (b'{"id": "p", "name": "P", "meta": {"x": NaN}, "params": {}}',
                 b'{"id": "p", "name": "P", "meta": {}, "params": {"temperature": -Infinity}}'):
        response = _post_raw(api, "/api/v1/models/create", body, admin["token"])
        assert response.status_code == 400 and "is not valid JSON" in response.json()["detail"]
    response = _post_raw(api, "/api/chat/completions", b'{"model": "m", "messages": [], "temperature": NaN}', admin["token"])
    assert response.status_code == 400 and "NaN is not valid JSON" in response.json()["detail"]
    assert not Model.objects.exists()


def test_an_escaped_backslash_before_u0000_is_plain_text(api, admin):
    description = "a literal \\u0000 is six characters"
    response = api.post("/api/v1/knowledge/create", json={"name": "Kb", "description": description},
                        headers=bearer(admin["token"]))
    assert response.status_code == 200, response.text
    assert KnowledgeBase.objects.get().description == description


@pytest.mark.parametrize("path", ["/api/v1/users/", "/api/v1/files/", "/api/v1/models/list", "/api/v1/knowledge/"])
def test_absurd_page_numbers_are_400(api, admin, path):
    for page in ("100000000000000000000", "9" * 5000, "1000001"):
        response = api.get(path, params={"page": page}, headers=bearer(admin["token"]))
        assert response.status_code == 400, response.text
        assert "page" in response.json()["detail"]
    assert api.get(path, params={"page": "1000000"}, headers=bearer(admin["token"])).status_code == 200


def test_nul_in_a_query_string_is_400(api, admin):
    for url in ("/api/v1/users/?query=%00", "/api/v1/models/list?query=a%00b", "/api/v1/models/model?id=%00"):
        response = api.get(url, headers=bearer(admin["token"]))
        assert response.status_code == 400, url
        assert "NUL" in response.json()["detail"]
    assert api.get("/api/v1/users/?query=adm", headers=bearer(admin["token"])).json()["total"] == 1


@pytest.mark.parametrize("body, detail", [
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
     "messages[0].content[0].image_url must be an object with a url string."),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": ["x"]}]}]},
     "messages[0].content[0].text must be a string."),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content must be a string or a list of parts."),
    ({"messages": [{"role": "assistant", "content": "", "tool_calls": ["x"]}]},
     "messages[0].tool_calls must be a list of objects with a function object."),
    ({"max_tokens": "lots"}, "max_tokens must be an integer."),
    ({"temperature": "hot"}, "temperature must be a number."),
    ({"params": {"max_tokens": True}}, "params.max_tokens must be an integer."),
    ({"options": 5}, "options must be an object."),
    ({"params": {"custom_params": "x"}}, "params.custom_params must be an object."),
])
@pytest.mark.parametrize("model", ["llama3.1:8b", "gpt-4o"])
def test_badly_typed_chat_requests_are_400_and_never_sent_upstream(api, admin, ollama, openai_upstream, model, body, detail):
    connect(ollama)
    connect(openai_upstream)
    response = api.post("/api/chat/completions", json={"model": model, "messages": HELLO, **body}, headers=bearer(admin["token"]))
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": detail}
    assert ollama.requests == [] and openai_upstream.requests == []
    good = {"model": model, "messages": HELLO, "max_tokens": 5, "temperature": 0.5,
            "params": {"max_tokens": None, "top_k": 3}}
    assert api.post("/api/chat/completions", json=good, headers=bearer(admin["token"])).status_code == 200


def test_access_update_without_an_id_is_400_and_creates_nothing(api, admin):
    headers = bearer(admin["token"])
    for body in (None, {}, {"id": ""}, {"id": 5}, {"id": "has space"}):
        response = api.post("/api/v1/models/model/access/update", json=body, headers=headers)
        assert response.status_code == 400, response.text
        assert isinstance(response.json()["detail"], str)
    assert not Model.objects.exists()


def test_concurrent_writes_to_one_preset_never_fail(database_url, admin, tmp_path):
    """access/update, toggle and delete racing on one id: each answers 200 or not-found (Open WebUI's
    401 "could not find"), never 500. On a server of its own: the burst fills that server's connection
    pool, and a pool full of connections later killed recovers only after psycopg's backoff (issue
    #10, item 11), which the shared server's outage test must not inherit."""
    server = LiveServer(database_url=database_url, data_dir=tmp_path)
    grants = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]

    def call(client, kind):
        if kind == "access":
            return client.post("/api/v1/models/model/access/update", json={"id": "race", "access_grants": grants})
        if kind == "toggle":
            return client.post("/api/v1/models/model/toggle", params={"id": "race"})
        return client.post("/api/v1/models/model/delete", json={"id": "race"})

    statuses = []
    try:
        with httpx.Client(base_url=server.url, headers=bearer(admin["token"]), timeout=30,
                          limits=httpx.Limits(max_connections=24)) as client, ThreadPoolExecutor(24) as pool:
            for _ in range(4):
                assert client.post("/api/v1/models/create", json={**PRESET, "id": "race"}).status_code in (200, 401)
                kinds = ["access", "toggle", "delete"] * 8
                statuses += [r.status_code for r in pool.map(lambda k: call(client, k), kinds)]
    finally:
        server.stop()
    assert set(statuses) <= {200, 401}, statuses
    assert 200 in statuses


LONG_GRANT = [{"principal_type": "user", "principal_id": "x" * 65, "permission": "read"}]


@pytest.mark.parametrize("path, body, status, detail", [
    ("/api/v1/auths/api_keys", {"name": "a", "expires_in": 10**30}, 422, "expires_in"),
    ("/api/v1/auths/api_keys", {"name": "b", "expires_at": 253402300800}, 422, "expires_at"),
    ("/api/v1/knowledge/create", {"name": "n", "description": "d", "access_grants": LONG_GRANT}, 400, "principal_id"),
    ("/api/v1/models/model/access/update", {"id": "m", "access_grants": LONG_GRANT}, 400, "principal_id"),
    ("/api/v1/models/create", {**PRESET, "name": "x" * 257}, 400, "name must be 256 characters at most."),
    ("/api/v1/models/create", {**PRESET, "base_model_id": ["x"]}, 400, "base_model_id"),
    ("/api/v1/retrieval/config/update", {"FILE_MAX_SIZE": 1e308}, 400, "FILE_MAX_SIZE"),
    ("/api/v1/auths/admin/config", {"JWT_EXPIRES_IN": "150000d"}, 400, "JWT_EXPIRES_IN"),
    ("/api/chat/completions", {"model": "llama3.1:8b", "messages": HELLO, "files": [{"type": "collection", "id": ["x"]}]},
     400, "files[0].id must be a string."),
    ("/api/chat/completions", {"model": "llama3.1:8b", "messages": HELLO, "files": [{"type": "text", "content": 5}]},
     400, "files[0].content must be a string."),
    ("/api/chat/completions", {"model": "llama3.1:8b", "messages": HELLO,
                               "response_format": {"type": "json_schema", "json_schema": 5}}, 400, "response_format"),
])
def test_values_that_overflow_a_column_or_a_date_are_refused(api, admin, ollama, path, body, status, detail):
    """Each of these was a 500: a column's length, datetime's range, or a conversion's assumption."""
    connect(ollama)
    response = api.post(path, json=body, headers=bearer(admin["token"]))
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert not Model.objects.exists() and not KnowledgeBase.objects.exists()
    assert not RuntimeSetting.objects.filter(key__in=["FILE_MAX_SIZE", "JWT_EXPIRES_IN"]).exists()
    assert api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD}).status_code == 200
