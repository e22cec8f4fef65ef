"""Issue 12: the rest of /api/v1/models/* (all, base and base/tags, export, import, sync,
model/profile/image, delete/all)."""

import base64

from accounts.models import AccessGrant, User
from models_registry.models import Model
from tests import factories
from tests.conftest import bearer
from tests.helpers import PRESET

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _account(session) -> User:
    return User.objects.get(id=session["id"])


def test_all_and_base_list_rows_and_base_tags_for_admins(api, admin, user):
    me = _account(admin)
    factories.preset(me, id="bot", meta={"tags": [{"name": "support"}]})
    factories.preset(me, id="llama3.1:8b", base_model_id=None, name="Llama", meta={"tags": [{"name": "local"}, {"name": "fast"}]})
    factories.preset(me, id="qwen3:4b", base_model_id=None, name="Qwen", meta={"tags": [{"name": "fast"}]})
    headers = bearer(admin["token"])
    assert sorted(m["id"] for m in api.get("/api/v1/models/all", headers=headers).json()) == ["bot", "llama3.1:8b", "qwen3:4b"]
    assert api.get("/api/v1/models/base/tags", headers=headers).json() == ["fast", "local"]
    local = api.get("/api/v1/models/base", params={"tag": "local"}, headers=headers).json()
    assert [m["id"] for m in local] == ["llama3.1:8b"]
    for path in ("all", "base", "base/tags"):
        assert api.get(f"/api/v1/models/{path}", headers=bearer(user["token"])).status_code == 401


def test_export_then_import_round_trips_presets(api, admin):
    headers = bearer(admin["token"])
    api.post("/api/v1/models/create", json=PRESET, headers=headers)
    exported = api.get("/api/v1/models/export", headers=headers).json()
    assert [m["id"] for m in exported] == ["support-bot"] and exported[0]["params"]["system"] == "Be kind."
    Model.objects.all().delete()
    copy = {**exported[0], "id": "support-copy"}
    assert api.post("/api/v1/models/import", json={"models": [exported[0], copy]}, headers=headers).json() is True
    assert sorted(Model.objects.values_list("id", flat=True)) == ["support-bot", "support-copy"]
    changed = {**exported[0], "name": "Renamed"}
    assert api.post("/api/v1/models/import", json={"models": [changed]}, headers=headers).json() is True
    assert Model.objects.get(id="support-bot").name == "Renamed"


def test_export_of_named_ids_is_403_unless_all_are_writable(api, admin):
    headers = bearer(admin["token"])
    api.post("/api/v1/models/create", json=PRESET, headers=headers)
    one = api.get("/api/v1/models/export", params={"ids": "support-bot"}, headers=headers)
    assert [m["id"] for m in one.json()] == ["support-bot"]
    missing = api.get("/api/v1/models/export", params=[("ids", "support-bot"), ("ids", "ghost")], headers=headers)
    assert missing.status_code == 403


def test_import_is_all_or_nothing_and_checks_each_model(api, admin):
    headers = bearer(admin["token"])
    bad = api.post("/api/v1/models/import", json={"models": [PRESET, {"id": "no name"}]}, headers=headers)
    assert bad.status_code == 400 and not Model.objects.exists()
    not_a_list = api.post("/api/v1/models/import", json={"models": "x"}, headers=headers)
    assert not_a_list.status_code == 400


def test_users_without_the_workspace_permission_cannot_export_or_import(api, user):
    assert api.get("/api/v1/models/export", headers=bearer(user["token"])).status_code == 401
    assert api.post("/api/v1/models/import", json={"models": [PRESET]}, headers=bearer(user["token"])).status_code == 401
    assert not Model.objects.exists()


def test_sync_makes_the_rows_exactly_those_sent(api, admin, user):
    me = _account(admin)
    factories.preset(me, id="old-bot")
    factories.preset(me, id="kept-bot", name="Before")
    body = {"models": [{**PRESET, "id": "kept-bot", "name": "After"},
                       {**PRESET, "id": "new-bot", "access_grants": [
                           {"principal_type": "user", "principal_id": "*", "permission": "read"}]}]}
    assert api.post("/api/v1/models/sync", json=body, headers=bearer(user["token"])).status_code == 401
    synced = api.post("/api/v1/models/sync", json=body, headers=bearer(admin["token"]))
    assert synced.status_code == 200 and sorted(m["id"] for m in synced.json()) == ["kept-bot", "new-bot"]
    assert sorted(Model.objects.values_list("id", flat=True)) == ["kept-bot", "new-bot"]
    assert Model.objects.get(id="kept-bot").name == "After"
    assert [m["id"] for m in api.get("/api/v1/models/list", headers=bearer(user["token"])).json()["items"]] == ["new-bot"]


def test_delete_all_is_for_admins(api, admin, user):
    factories.preset(_account(admin), id="a-bot")
    factories.share("model", "a-bot", permission="write")
    assert api.delete("/api/v1/models/delete/all", headers=bearer(user["token"])).status_code == 401
    assert Model.objects.count() == 1
    assert api.delete("/api/v1/models/delete/all", headers=bearer(admin["token"])).json() is True
    assert not Model.objects.exists() and not AccessGrant.objects.filter(resource_type="model").exists()


def test_profile_image_serves_the_models_image_to_readers_only(api, admin, user):
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    factories.preset(_account(admin), id="pic-bot", meta={"profile_image_url": data_url})
    factories.preset(_account(admin), id="web-bot", meta={"profile_image_url": "https://example.com/bot.png"})
    own = api.get("/api/v1/models/model/profile/image", params={"id": "pic-bot"}, headers=bearer(admin["token"]))
    assert own.status_code == 200 and own.content == PNG and own.headers["content-type"] == "image/png"
    web = api.get("/api/v1/models/model/profile/image", params={"id": "web-bot"}, headers=bearer(admin["token"]))
    assert web.status_code == 302 and web.headers["location"] == "https://example.com/bot.png"
    hidden = api.get("/api/v1/models/model/profile/image", params={"id": "pic-bot"}, headers=bearer(user["token"]))
    unknown = api.get("/api/v1/models/model/profile/image", params={"id": "ghost"}, headers=bearer(user["token"]))
    assert hidden.headers["content-type"] == unknown.headers["content-type"] == "image/svg+xml"
    assert hidden.content == unknown.content


def test_each_change_is_a_version_and_an_older_one_can_be_restored(api, admin):
    headers = bearer(admin["token"])
    api.post("/api/v1/models/create", json={**PRESET, "commit_message": "first"}, headers=headers)
    api.post("/api/v1/models/model/update", json={**PRESET, "name": "Second"}, headers=headers)
    api.post("/api/v1/models/model/update", json={**PRESET, "name": "Second"}, headers=headers)  # no change: no version
    versions = api.get("/api/v1/models/model/history", params={"id": "support-bot"}, headers=headers).json()
    assert [v["commit_message"] for v in versions] == [None, "first"]
    assert versions[0]["parent_id"] == versions[1]["id"] and versions[0]["user"] == {"name": "Admin"}
    first = api.get(f"/api/v1/models/model/history/{versions[1]['id']}", params={"id": "support-bot"}, headers=headers).json()
    assert first["snapshot"]["name"] == "Support Bot" and first["snapshot"]["params"]["system"] == "Be kind."
    restored = api.post("/api/v1/models/model/update/version", params={"id": "support-bot"},
                        json={"version_id": versions[1]["id"]}, headers=headers)
    assert restored.status_code == 200
    assert restored.json()["name"] == "Support Bot" and restored.json()["version_id"] == versions[1]["id"]
    assert Model.objects.get(id="support-bot").name == "Support Bot"


def test_the_version_in_force_cannot_be_deleted_and_others_relink(api, admin):
    headers = bearer(admin["token"])
    api.post("/api/v1/models/create", json=PRESET, headers=headers)
    for name in ("Two", "Three"):
        api.post("/api/v1/models/model/update", json={**PRESET, "name": name}, headers=headers)
    three, two, one = api.get("/api/v1/models/model/history", params={"id": "support-bot"}, headers=headers).json()
    current = api.delete(f"/api/v1/models/model/history/{three['id']}", params={"id": "support-bot"}, headers=headers)
    assert current.status_code == 400 and current.json() == {"detail": "Cannot delete the current version"}
    assert api.delete(f"/api/v1/models/model/history/{two['id']}", params={"id": "support-bot"}, headers=headers).json() is True
    left = api.get("/api/v1/models/model/history", params={"id": "support-bot"}, headers=headers).json()
    assert [v["id"] for v in left] == [three["id"], one["id"]] and left[0]["parent_id"] == one["id"]
    gone = api.get(f"/api/v1/models/model/history/{two['id']}", params={"id": "support-bot"}, headers=headers)
    assert gone.status_code == 404 and gone.json() == {"detail": "Model version not found"}


def test_history_is_for_the_models_writers_only(api, admin, user):
    api.post("/api/v1/models/create", json=PRESET, headers=bearer(admin["token"]))
    version_id = str(Model.objects.get(id="support-bot").version_id)
    factories.share("model", "support-bot")  # read for everyone
    reader = bearer(user["token"])
    assert api.get("/api/v1/models/model/history", params={"id": "support-bot"}, headers=reader).status_code == 403
    assert api.get(f"/api/v1/models/model/history/{version_id}", params={"id": "support-bot"}, headers=reader).status_code == 403
    assert api.delete(f"/api/v1/models/model/history/{version_id}", params={"id": "support-bot"}, headers=reader).status_code == 403
    restore = api.post("/api/v1/models/model/update/version", params={"id": "support-bot"}, json={"version_id": version_id},
                       headers=reader)
    assert restore.status_code == 403
    assert api.get("/api/v1/models/model/history", params={"id": "ghost"}, headers=reader).status_code == 404
