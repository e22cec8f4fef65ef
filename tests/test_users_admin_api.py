from accounts.models import User
from tests import factories
from tests.conftest import bearer


def test_admin_lists_and_approves_pending_users(api, admin):
    pending = factories.session(factories.pending(name="Pat"))
    listing = api.get("/api/v1/users/", headers=bearer(admin["token"])).json()
    assert listing["total"] == 2
    assert {u["role"] for u in listing["users"]} == {"admin", "pending"}
    response = api.post(f"/api/v1/users/{pending['id']}/update", json={"role": "user"}, headers=bearer(admin["token"]))
    assert response.json()["role"] == "user"
    assert api.get("/api/version/updates", headers=bearer(pending["token"])).status_code == 200


def test_user_search_and_pages(api, admin):
    factories.pending(name="Zed", email="zed@example.com")
    found = api.get("/api/v1/users/?query=zed", headers=bearer(admin["token"])).json()
    assert [u["email"] for u in found["users"]] == ["zed@example.com"]
    assert api.get("/api/v1/users/?page=2", headers=bearer(admin["token"])).json()["users"] == []
    assert api.get("/api/v1/users/?page=0", headers=bearer(admin["token"])).status_code == 400


def test_invalid_role_is_rejected_and_nothing_changes(api, admin, user):
    response = api.post(f"/api/v1/users/{user['id']}/update", json={"role": "king"}, headers=bearer(admin["token"]))
    assert response.status_code == 400
    assert User.objects.get(id=user["id"]).role == "user"


def test_primary_admin_cannot_be_demoted_or_deleted(api, admin, make_user):
    second_admin = make_user("Second")
    api.post(f"/api/v1/users/{second_admin['id']}/update", json={"role": "admin"}, headers=bearer(admin["token"]))
    headers = bearer(second_admin["token"])
    assert api.post(f"/api/v1/users/{admin['id']}/update", json={"role": "user"}, headers=headers).status_code == 403
    assert api.delete(f"/api/v1/users/{admin['id']}", headers=headers).status_code == 403
    assert User.objects.get(id=admin["id"]).role == "admin"


def test_admin_deletes_a_user(api, admin, user):
    assert api.delete(f"/api/v1/users/{user['id']}", headers=bearer(admin["token"])).json() is True
    assert not User.objects.filter(id=user["id"]).exists()
    assert api.delete(f"/api/v1/users/{user['id']}", headers=bearer(admin["token"])).status_code == 404


def test_admin_endpoints_refuse_non_admins_with_401(api, user):
    headers = bearer(user["token"])
    for method, path in [
        ("GET", "/api/v1/users/"),
        ("GET", f"/api/v1/users/{user['id']}"),
        ("POST", f"/api/v1/users/{user['id']}/update"),
        ("DELETE", f"/api/v1/users/{user['id']}"),
        ("GET", "/api/v1/auths/admin/config"),
        ("POST", "/api/v1/auths/admin/config"),
    ]:
        response = api.request(method, path, headers=headers, json={"role": "admin"})
        assert response.status_code == 401, (method, path)
        assert "detail" in response.json()
    assert User.objects.get(id=user["id"]).role == "user"


def test_admin_config_round_trip_and_validation(api, admin):
    headers = bearer(admin["token"])
    config = api.get("/api/v1/auths/admin/config", headers=headers).json()
    assert config["ENABLE_SIGNUP"] is True and config["DEFAULT_USER_ROLE"] == "pending"
    assert config["ENABLE_API_KEYS"] is True
    updated = api.post("/api/v1/auths/admin/config", json={**config, "JWT_EXPIRES_IN": "2d"}, headers=headers).json()
    assert updated["JWT_EXPIRES_IN"] == "2d"
    for bad in [{"JWT_EXPIRES_IN": "soon"}, {"DEFAULT_USER_ROLE": "king"}, {"ENABLE_SIGNUP": "yes"}]:
        response = api.post("/api/v1/auths/admin/config", json=bad, headers=headers)
        assert response.status_code == 400, bad
    assert api.get("/api/v1/auths/admin/config", headers=headers).json()["JWT_EXPIRES_IN"] == "2d"


def test_profile_image_defaults_to_an_avatar(api, user):
    response = api.get(f"/api/v1/users/{user['id']}/profile/image", headers=bearer(user["token"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
