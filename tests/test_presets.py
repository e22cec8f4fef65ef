from accounts.models import AccessGrant
from models_registry.models import Model
from tests.conftest import bearer, connect
from tests.helpers import PRESET

HELLO = [{"role": "user", "content": "hello there"}]
def test_admin_creates_a_private_preset_then_shares_it(api, admin, user, ollama):
    connect(ollama)
    created = api.post("/api/v1/models/create", json=PRESET, headers=bearer(admin["token"])).json()
    assert created["id"] == "support-bot" and created["access_grants"] == [] and created["params"]["system"] == "Be kind."
    assert api.get("/api/models", headers=bearer(user["token"])).json()["data"] == []
    shared = api.post("/api/v1/models/model/access/update", headers=bearer(admin["token"]), json={
        "id": "support-bot", "access_grants": [{"principal_type": "user", "principal_id": "*", "permission": "read"}]}).json()
    assert shared["access_grants"][0]["principal_id"] == "*" and shared["access_grants"][0]["resource_type"] == "model"
    assert [m["id"] for m in api.get("/api/models", headers=bearer(user["token"])).json()["data"]] == ["support-bot"]
    reply = api.post("/api/chat/completions", json={"model": "support-bot", "messages": HELLO}, headers=bearer(user["token"]))
    assert reply.status_code == 200
    assert ollama.last("/api/chat")["messages"][0] == {"role": "system", "content": "Be kind."}


def test_read_only_callers_do_not_see_params(api, admin, user):
    api.post("/api/v1/models/create", json={**PRESET, "access_grants": [
        {"principal_type": "user", "principal_id": "*", "permission": "read"}]}, headers=bearer(admin["token"]))
    item = api.get("/api/v1/models/list", headers=bearer(user["token"])).json()["items"][0]
    assert item["params"] == {} and item["write_access"] is False and item["user"]["id"] == admin["id"]
    detail = api.get("/api/v1/models/model?id=support-bot", headers=bearer(user["token"])).json()
    assert detail["params"] == {}
    assert api.get("/api/v1/models/model?id=support-bot", headers=bearer(admin["token"])).json()["params"]["temperature"] == 0.2


def test_create_rules(api, admin, user):
    headers = bearer(admin["token"])
    assert api.post("/api/v1/models/create", json={**PRESET, "id": "has space"}, headers=headers).status_code == 400
    assert api.post("/api/v1/models/create", json={**PRESET, "id": ""}, headers=headers).status_code == 400
    assert api.post("/api/v1/models/create", json={k: v for k, v in PRESET.items() if k != "meta"}, headers=headers).status_code == 400
    assert api.post("/api/v1/models/create", json=PRESET, headers=headers).status_code == 200
    assert api.post("/api/v1/models/create", json=PRESET, headers=headers).status_code == 401
    assert api.post("/api/v1/models/create", json={**PRESET, "id": "x"}, headers=bearer(user["token"])).status_code == 401
    assert Model.objects.count() == 1


def test_update_toggle_delete(api, admin, user):
    headers = bearer(admin["token"])
    api.post("/api/v1/models/create", json=PRESET, headers=headers)
    updated = api.post("/api/v1/models/model/update", json={**PRESET, "name": "Renamed"}, headers=headers).json()
    assert updated["name"] == "Renamed"
    assert api.post("/api/v1/models/model/toggle?id=support-bot", headers=headers).json()["is_active"] is False
    assert api.post("/api/v1/models/model/update", json={**PRESET, "id": "ghost"}, headers=headers).status_code == 401
    assert api.post("/api/v1/models/model/delete", json={"id": "support-bot"}, headers=bearer(user["token"])).status_code == 400
    assert api.post("/api/v1/models/model/delete", json={"id": "support-bot"}, headers=headers).json() is True
    assert not Model.objects.exists()


def test_admin_sharing_a_provider_model_creates_its_override(api, admin, user, ollama):
    connect(ollama)
    api.post("/api/v1/models/model/access/update", headers=bearer(admin["token"]), json={
        "id": "qwen3:4b", "access_grants": [{"principal_type": "user", "principal_id": user["id"], "permission": "read"}]})
    assert Model.objects.get(id="qwen3:4b").base_model_id is None
    assert [m["id"] for m in api.get("/api/models", headers=bearer(user["token"])).json()["data"]] == ["qwen3:4b"]
    assert api.get("/api/v1/models/base", headers=bearer(admin["token"])).json()[0]["id"] == "qwen3:4b"


def test_bad_grants_are_rejected(api, admin):
    api.post("/api/v1/models/create", json=PRESET, headers=bearer(admin["token"]))
    response = api.post("/api/v1/models/model/access/update", headers=bearer(admin["token"]),
                        json={"id": "support-bot", "access_grants": [{"principal_id": "*", "permission": "own"}]})
    assert response.status_code == 400
    assert not AccessGrant.objects.exists()


def test_tags(api, admin):
    api.post("/api/v1/models/create", json=PRESET, headers=bearer(admin["token"]))
    assert api.get("/api/v1/models/tags", headers=bearer(admin["token"])).json() == ["support"]


def test_missing_model_detail_is_404(api, admin):
    assert api.get("/api/v1/models/model?id=nope", headers=bearer(admin["token"])).status_code == 404
