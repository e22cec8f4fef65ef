import re

import httpx
import pytest

from accounts.models import AccessGrant
from models_registry.connections import seed_from_env
from models_registry.models import Connection
from tests.conftest import PASSWORD, bearer, connect


def test_seeded_once_from_open_webui_variables(monkeypatch):
    monkeypatch.setenv("OLLAMA_BASE_URLS", "http://a:11434;http://b:11434")
    monkeypatch.setenv("OPENAI_API_BASE_URLS", "https://x/v1;https://y/v1")
    monkeypatch.setenv("OPENAI_API_KEYS", "k1;k2")
    assert seed_from_env() == 4
    assert seed_from_env() == 0
    rows = list(Connection.objects.values_list("kind", "base_url", "api_key", "position"))
    assert ("ollama", "http://b:11434", "", 1) in rows and ("openai", "https://y/v1", "k2", 1) in rows


def test_default_seed_is_local_ollama_only(monkeypatch):
    for name in ("OLLAMA_BASE_URLS", "OLLAMA_BASE_URL", "OPENAI_API_BASE_URLS", "OPENAI_API_BASE_URL", "OPENAI_API_KEYS", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    seed_from_env()
    assert list(Connection.objects.values_list("kind", "base_url")) == [("ollama", "http://localhost:11434")]


def test_config_endpoints_mask_keys_and_replace_connections(api, admin, user, openai_upstream):
    connect(openai_upstream, api_key="sk-very-secret-upstream-key")
    headers = bearer(admin["token"])
    config = api.get("/openai/config", headers=headers).json()
    assert config["OPENAI_API_BASE_URLS"] == [openai_upstream.url]
    assert "sk-very-secret-upstream-key" not in str(config)
    config["OPENAI_API_CONFIGS"]["0"]["prefix_id"] = "up"
    updated = api.post("/openai/config/update", json=config, headers=headers).json()
    assert updated["OPENAI_API_CONFIGS"]["0"]["prefix_id"] == "up"
    assert Connection.objects.get().api_key == "sk-very-secret-upstream-key"  # masked value means unchanged
    assert api.get("/openai/config", headers=bearer(user["token"])).status_code == 401
    bad = api.post("/openai/config/update", json={**config, "OPENAI_API_BASE_URLS": ["ftp://x"]}, headers=headers)
    assert bad.status_code == 400
    assert Connection.objects.count() == 1


def _rows(kind: str) -> list[tuple]:
    return list(Connection.objects.filter(kind=kind).values_list("base_url", "api_key", "prefix_id"))


@pytest.mark.parametrize("kind", ["ollama", "openai"])
@pytest.mark.parametrize("body", [
    {},
    {"OLLAMA_BASE_URLS": "http://x", "OPENAI_API_BASE_URLS": "http://x"},
    {"OLLAMA_BASE_URLS": [], "OPENAI_API_BASE_URLS": [], "OPENAI_API_KEYS": [], "OLLAMA_API_CONFIGS": {"0": 5},
     "OPENAI_API_CONFIGS": {"0": 5}},
])
def test_a_malformed_config_update_is_422_and_changes_nothing(api, admin, kind, body):
    Connection.objects.create(kind=kind, base_url="http://one:1", api_key="sk-first-secret-key", prefix_id="a")
    Connection.objects.create(kind=kind, base_url="http://two:2", position=1)
    before = _rows(kind)
    response = api.post(f"/{kind}/config/update", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)
    assert _rows(kind) == before


def test_one_bad_entry_refuses_the_whole_update(api, admin):
    Connection.objects.create(kind="openai", base_url="http://one:1/v1", api_key="sk-first-secret-key")
    before = _rows("openai")
    config = api.get("/openai/config", headers=bearer(admin["token"])).json()
    config["OPENAI_API_CONFIGS"]["0"]["prefix_id"] = "changed"
    config["OPENAI_API_BASE_URLS"].append("http://two:2/v1")
    config["OPENAI_API_KEYS"].append("ключ")
    response = api.post("/openai/config/update", json=config, headers=bearer(admin["token"]))
    assert response.status_code == 400
    assert "http://two:2/v1" in response.json()["detail"]
    assert _rows("openai") == before


@pytest.mark.parametrize("key", ["sk-bad\nX-Injected: 1", "sk-ünïcode-key", "•••", "sk-…abcd"])
def test_keys_that_cannot_be_sent_in_a_header_are_refused(api, admin, key):
    body = {"OPENAI_API_BASE_URLS": ["http://x:1/v1"], "OPENAI_API_KEYS": [key], "OPENAI_API_CONFIGS": {}}
    response = api.post("/openai/config/update", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 400
    assert not Connection.objects.exists()


def test_posting_back_what_was_read_keeps_every_stored_key(api, admin):
    headers = bearer(admin["token"])
    Connection.objects.create(kind="openai", base_url="http://one:1/v1", api_key="sk-1")  # masked as •••
    Connection.objects.create(kind="openai", base_url="http://two:2/v1", api_key="sk-second-secret-key", position=1)
    Connection.objects.create(kind="openai", base_url="http://three:3/v1", api_key="sk-3", position=2)
    config = api.get("/openai/config", headers=headers).json()
    assert api.post("/openai/config/update", json=config, headers=headers).status_code == 200
    assert [k for _, k, _ in _rows("openai")] == ["sk-1", "sk-second-secret-key", "sk-3"]
    # the first one removed: the others move up an index and keep their keys
    removed = {"OPENAI_API_BASE_URLS": config["OPENAI_API_BASE_URLS"][1:], "OPENAI_API_KEYS": config["OPENAI_API_KEYS"][1:],
               "OPENAI_API_CONFIGS": {"0": config["OPENAI_API_CONFIGS"]["1"], "1": config["OPENAI_API_CONFIGS"]["2"]}}
    assert api.post("/openai/config/update", json=removed, headers=headers).status_code == 200
    assert _rows("openai") == [("http://two:2/v1", "sk-second-secret-key", ""), ("http://three:3/v1", "sk-3", "")]
    # a mask that matches no stored key is never stored
    again = api.post("/openai/config/update", json=config, headers=headers)
    assert again.status_code == 400 and "http://one:1/v1" in again.json()["detail"]


def test_a_key_stored_broken_fails_only_its_own_connection(api, admin, ollama, openai_upstream):
    connect(openai_upstream, api_key="•••")  # what the mask bug stored
    connect(ollama)
    headers = bearer(admin["token"])
    models = api.get("/api/models", headers=headers)
    assert models.status_code == 200
    assert [m["id"] for m in models.json()["data"]] == ["llama3.1:8b", "qwen3:4b"]
    chat = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}]},
                    headers=headers)
    assert chat.status_code == 200
    raw = api.get("/openai/models/0", headers=headers)
    assert raw.status_code == 502 and "header" in raw.json()["detail"]
    assert "header" in Connection.objects.get(kind="openai").last_error


def test_disabling_a_provider_kind_hides_its_models(api, admin, ollama):
    connect(ollama)
    api.post("/ollama/config/update", json={**api.get("/ollama/config", headers=bearer(admin["token"])).json(),
                                            "ENABLE_OLLAMA_API": False}, headers=bearer(admin["token"]))
    assert api.get("/api/models", headers=bearer(admin["token"])).json()["data"] == []


def _csrf(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_admin_refreshes_models_and_makes_them_public(gateway, api, admin, user, ollama):
    conn = connect(ollama)
    with httpx.Client(base_url=gateway.url) as browser:
        page = browser.get("/admin/login/")
        browser.post("/admin/login/", data={"csrfmiddlewaretoken": _csrf(page.text), "username": admin["email"], "password": PASSWORD})
        page = browser.get("/admin/models_registry/connection/")
        result = browser.post("/admin/models_registry/connection/", follow_redirects=True, data={
            "csrfmiddlewaretoken": _csrf(page.text), "action": "refresh_models", "_selected_action": [conn.pk]})
        assert "2 model(s): llama3.1:8b, qwen3:4b" in result.text
        page = browser.get("/admin/models_registry/connection/")
        browser.post("/admin/models_registry/connection/", data={
            "csrfmiddlewaretoken": _csrf(page.text), "action": "make_models_public", "_selected_action": [conn.pk]})
        assert browser.get(f"/admin/models_registry/connection/{conn.pk}/change/").status_code == 200
    assert AccessGrant.objects.filter(resource_type="model", principal_id="*").count() == 2
    ids = [m["id"] for m in api.get("/api/models", headers=bearer(user["token"])).json()["data"]]
    assert ids == ["llama3.1:8b", "qwen3:4b"]


def test_dead_connection_reports_its_error_in_the_admin_check(admin):
    from models_registry.connections import check
    from tests.server import free_port

    conn = Connection.objects.create(kind="ollama", base_url=f"http://127.0.0.1:{free_port()}")
    ids, error = check(conn)
    assert ids == [] and "unreachable" in error
    assert Connection.objects.get(pk=conn.pk).last_error == error


def test_the_admin_form_refuses_a_key_that_cannot_be_sent(gateway, admin):
    with httpx.Client(base_url=gateway.url) as browser:
        page = browser.get("/admin/login/")
        browser.post("/admin/login/", data={"csrfmiddlewaretoken": _csrf(page.text), "username": admin["email"], "password": PASSWORD})
        page = browser.get("/admin/models_registry/connection/add/")
        result = browser.post("/admin/models_registry/connection/add/", data={
            "csrfmiddlewaretoken": _csrf(page.text), "kind": "openai", "base_url": "http://x:1/v1", "api_key": "sk-ключ",
            "enabled": "on", "position": "0", "model_ids": "[]", "tags": "[]", "list_timeout": "3"})
        assert result.status_code == 200 and "printable ASCII" in result.text
    assert not Connection.objects.exists()
