import time

import openai

from accounts.models import AccessGrant
from models_registry.models import Connection, Model
from tests.conftest import bearer, connect


def test_models_are_merged_across_connections_with_both_shapes(api, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream, api_key="sk-upstream")
    data = api.get("/api/models", headers=bearer(admin["token"])).json()["data"]
    ids = [m["id"] for m in data]
    assert ids == ["gpt-4o-mini", "gpt-4o", "llama3.1:8b", "qwen3:4b"]
    gpt = data[0]
    assert gpt["owned_by"] == "openai" and gpt["connection_type"] == "external" and gpt["urlIdx"] == 0
    assert gpt["openai"]["owned_by"] == "system"
    llama = data[2]
    assert llama["owned_by"] == "ollama" and llama["connection_type"] == "local"
    assert llama["ollama"]["urls"] == [0] and llama["ollama"]["details"]["family"] == "llama"
    assert llama["object"] == "model" and llama["tags"] == [] and llama["actions"] == []


def test_same_ollama_model_on_two_servers_becomes_one_entry(api, admin, ollama):
    from tests.upstreams import FakeUpstream

    second = FakeUpstream("ollama", models=["llama3.1:8b"]).start()
    try:
        connect(ollama, position=0)
        connect(second, position=1)
        data = api.get("/api/models", headers=bearer(admin["token"])).json()["data"]
        llama = [m for m in data if m["id"] == "llama3.1:8b"]
        assert len(llama) == 1 and llama[0]["ollama"]["urls"] == [0, 1]
    finally:
        second.stop()


def test_prefix_and_allow_list(api, admin, openai_upstream):
    connect(openai_upstream, prefix_id="cloud", model_ids=["gpt-4o"])
    ids = [m["id"] for m in api.get("/api/models", headers=bearer(admin["token"])).json()["data"]]
    assert ids == ["cloud.gpt-4o"]


def test_a_dead_and_a_slow_upstream_do_not_fail_or_stall_the_list(api, admin, ollama, openai_upstream):
    from tests.server import free_port

    connect(ollama)
    Connection.objects.create(kind="openai", base_url=f"http://127.0.0.1:{free_port()}/v1")  # refused
    openai_upstream.latency = 5
    connect(openai_upstream, list_timeout=0.5)
    started = time.monotonic()
    response = api.get("/api/models", headers=bearer(admin["token"]))
    assert time.monotonic() - started < 2
    assert [m["id"] for m in response.json()["data"]] == ["llama3.1:8b", "qwen3:4b"]
    dead = Connection.objects.exclude(kind="ollama").order_by("id")
    assert all(c.last_error for c in dead)


def test_lists_are_cached_until_refresh(api, admin, ollama):
    connect(ollama)
    api.get("/api/models", headers=bearer(admin["token"]))
    ollama.models.append("mistral:7b")
    assert "mistral:7b" not in [m["id"] for m in api.get("/api/models", headers=bearer(admin["token"])).json()["data"]]
    refreshed = api.get("/api/models?refresh=true", headers=bearer(admin["token"])).json()["data"]
    assert "mistral:7b" in [m["id"] for m in refreshed]


def test_users_see_only_models_shared_with_them(api, admin, user, ollama):
    connect(ollama)
    assert api.get("/api/models", headers=bearer(user["token"])).json() == {"data": []}
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    AccessGrant.objects.create(resource_type="model", resource_id="llama3.1:8b", principal_id="*", permission="read")
    data = api.get("/api/models", headers=bearer(user["token"])).json()["data"]
    assert [m["id"] for m in data] == ["llama3.1:8b"]
    assert data[0]["name"] == "Llama" and data[0]["info"]["params"] == {}


def test_presets_appear_with_their_base_fields_but_not_their_prompt(api, admin, ollama):
    connect(ollama)
    Model.objects.create(id="support-bot", base_model_id="llama3.1:8b", name="Support Bot", user_id=admin["id"],
                         params={"system": "secret prompt"}, meta={"description": "helps"})
    data = api.get("/api/models", headers=bearer(admin["token"])).json()["data"]
    bot = [m for m in data if m["id"] == "support-bot"][0]
    assert bot["preset"] is True and bot["owned_by"] == "ollama"
    assert "secret prompt" not in str(bot)


def test_inactive_override_hides_the_base_model(api, admin, ollama):
    connect(ollama)
    Model.objects.create(id="qwen3:4b", name="Qwen", user_id=admin["id"], is_active=False)
    ids = [m["id"] for m in api.get("/api/models", headers=bearer(admin["token"])).json()["data"]]
    assert ids == ["llama3.1:8b"]


def test_pending_and_anonymous_callers_are_refused(api, ollama):
    assert api.get("/api/models").status_code == 401


def test_base_list_is_admin_only(api, admin, user, ollama):
    connect(ollama)
    assert api.get("/api/models/base", headers=bearer(user["token"])).status_code == 401
    assert len(api.get("/api/models/base", headers=bearer(admin["token"])).json()["data"]) == 2


def test_openai_sdk_lists_models(gateway, admin, ollama):
    connect(ollama)
    client = openai.OpenAI(base_url=f"{gateway.url}/api", api_key=admin["token"])
    assert [m.id for m in client.models.list()] == ["llama3.1:8b", "qwen3:4b"]
