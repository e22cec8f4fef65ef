import time
from datetime import UTC, datetime, timedelta

from django.db import connection

from accounts.models import ApiKey
from tests.conftest import bearer


def test_default_key_is_shown_once_and_stored_hashed(api, user):
    response = api.post("/api/v1/auths/api_key", headers=bearer(user["token"]))
    plaintext = response.json()["api_key"]
    assert plaintext.startswith("sk-") and len(plaintext) == 35
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM accounts_apikey k")
        dump = " ".join(row[0] for row in cursor.fetchall())
    assert plaintext not in dump
    assert plaintext[3:] not in dump
    masked = api.get("/api/v1/auths/api_key", headers=bearer(user["token"])).json()
    assert masked["api_key"] == f"sk-{plaintext[3:7]}…{plaintext[-4:]}"
    assert set(masked) == {"api_key", "created_at", "last_used_at", "expires_at"}


def test_key_authenticates_by_bearer_and_x_api_key(api, user):
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    assert api.get("/api/version/updates", headers=bearer(key)).status_code == 200
    assert api.get("/api/version/updates", headers={"x-api-key": key}).status_code == 200


def test_rotating_the_default_key_kills_the_old_one(api, user):
    old = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    new = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    assert api.get("/api/version/updates", headers=bearer(old)).status_code == 401
    assert api.get("/api/version/updates", headers=bearer(new)).status_code == 200


def test_get_without_a_key_is_404_and_delete_removes_it(api, user):
    assert api.get("/api/v1/auths/api_key", headers=bearer(user["token"])).status_code == 404
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    assert api.delete("/api/v1/auths/api_key", headers=bearer(user["token"])).json() is True
    assert api.get("/api/version/updates", headers=bearer(key)).status_code == 401
    assert api.get("/api/v1/auths/api_key", headers=bearer(user["token"])).status_code == 404


def test_unknown_key_is_401(api, user):
    assert api.get("/api/version/updates", headers=bearer("sk-" + "0" * 32)).status_code == 401


def test_last_used_is_recorded_without_a_write_per_request(api, user):
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    for _ in range(3):
        api.get("/api/version/updates", headers=bearer(key))
    first = ApiKey.objects.get(user_id=user["id"]).last_used_at
    assert first is not None
    api.get("/api/version/updates", headers=bearer(key))
    assert ApiKey.objects.get(user_id=user["id"]).last_used_at == first  # throttled: no new write


def test_named_keys_with_expiry_and_paths(api, user):
    headers = bearer(user["token"])
    created = api.post(
        "/api/v1/auths/api_keys",
        json={"name": "ci", "expires_in": 3600, "allowed_paths": ["/api/version"]},
        headers=headers,
    ).json()
    assert created["api_key"].startswith("sk-") and len(created["api_key"]) == 35
    assert abs(created["expires_at"] - (time.time() + 3600)) < 10
    listed = api.get("/api/v1/auths/api_keys", headers=headers).json()
    assert [k["name"] for k in listed] == ["ci"]
    assert listed[0]["api_key"] != created["api_key"]  # masked from now on
    assert "…" in listed[0]["api_key"]


def test_expired_key_is_refused(api, user):
    created = api.post("/api/v1/auths/api_keys", json={"name": "soon", "expires_in": 3600}, headers=bearer(user["token"])).json()
    assert api.get("/api/version/updates", headers=bearer(created["api_key"])).status_code == 200
    ApiKey.objects.filter(id=created["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = api.get("/api/version/updates", headers=bearer(created["api_key"]))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_expiry_in_the_past_is_rejected(api, user):
    response = api.post("/api/v1/auths/api_keys", json={"name": "old", "expires_at": 1000}, headers=bearer(user["token"]))
    assert response.status_code == 422
    assert "expires_at" in response.json()["detail"]


def test_allowed_paths_restrict_a_key(api, user):
    created = api.post(
        "/api/v1/auths/api_keys", json={"name": "narrow", "allowed_paths": ["/api/version"]}, headers=bearer(user["token"])
    ).json()
    key = created["api_key"]
    assert api.get("/api/version/updates", headers=bearer(key)).status_code == 200
    response = api.get("/api/v1/auths/api_keys", headers=bearer(key))
    assert response.status_code == 403
    assert api.get("/api/versionx", headers=bearer(key)).status_code in (403, 404)


def test_global_endpoint_restrictions(api, admin, user):
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    api.post(
        "/api/v1/auths/admin/config",
        json={"ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": True, "API_KEYS_ALLOWED_ENDPOINTS": "/api/models,/api/version/updates"},
        headers=bearer(admin["token"]),
    )
    assert api.get("/api/version/updates", headers=bearer(key)).status_code == 200
    assert api.get("/api/v1/auths/api_key", headers=bearer(key)).status_code == 403


def test_api_keys_can_be_turned_off(api, admin, user):
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    api.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": False}, headers=bearer(admin["token"]))
    response = api.get("/api/version/updates", headers=bearer(key))
    assert response.status_code == 403
    assert response.json() == {"detail": "Use of API key is not enabled in the environment."}
    response = api.post("/api/v1/auths/api_key", headers=bearer(user["token"]))
    assert response.status_code == 403
    assert response.json() == {"detail": "API key creation is not allowed in the environment."}


def test_api_key_cannot_open_a_human_session(api, user):
    key = api.post("/api/v1/auths/api_key", headers=bearer(user["token"])).json()["api_key"]
    response = api.get("/api/v1/auths/", headers=bearer(key))
    assert response.status_code == 403
    assert response.json() == {"detail": "A human session is required."}


def test_users_never_see_or_revoke_each_others_keys(api, make_user):
    alice, bob = make_user("Alice"), make_user("Bob")
    alice_key = api.post("/api/v1/auths/api_keys", json={"name": "mine"}, headers=bearer(alice["token"])).json()
    api.post("/api/v1/auths/api_keys", json={"name": "bobs"}, headers=bearer(bob["token"]))
    assert [k["name"] for k in api.get("/api/v1/auths/api_keys", headers=bearer(bob["token"])).json()] == ["bobs"]
    response = api.delete(f"/api/v1/auths/api_keys/{alice_key['id']}", headers=bearer(bob["token"]))
    assert response.status_code == 404
    assert api.get("/api/version/updates", headers=bearer(alice_key["api_key"])).status_code == 200
    assert api.delete(f"/api/v1/auths/api_keys/{alice_key['id']}", headers=bearer(alice["token"])).json() is True
    assert api.get("/api/version/updates", headers=bearer(alice_key["api_key"])).status_code == 401


def test_duplicate_key_name_is_400(api, user):
    api.post("/api/v1/auths/api_keys", json={"name": "x"}, headers=bearer(user["token"]))
    response = api.post("/api/v1/auths/api_keys", json={"name": "x"}, headers=bearer(user["token"]))
    assert response.status_code == 400
    assert ApiKey.objects.filter(user_id=user["id"]).count() == 1
