"""Open WebUI 0.12.4's users routes and /auths/add, /auths/admin/details, /auths/update/timezone;
the permission tree (admin defaults + groups) and where it is enforced."""


import pytest

from accounts.models import ApiKey, User
from tests import factories
from tests.conftest import bearer
from tests.factories import PASSWORD


def test_admin_adds_a_user_with_a_role_and_gets_its_session(api, admin):
    response = api.post("/api/v1/auths/add", headers=bearer(admin["token"]), json={
        "name": "Carol", "email": "Carol@Example.com", "password": PASSWORD, "role": "user"})
    body = response.json()
    assert response.status_code == 200
    assert {k: body[k] for k in ("email", "name", "role", "token_type")} == {
        "email": "carol@example.com", "name": "Carol", "role": "user", "token_type": "Bearer"}
    assert body["profile_image_url"] == f"/api/v1/users/{body['id']}/profile/image"
    assert api.get("/api/v1/auths/", headers=bearer(body["token"])).json()["id"] == body["id"]
    signed_in = api.post("/api/v1/auths/signin", json={"email": "carol@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200


def test_an_added_user_is_pending_unless_a_role_is_given(api, admin):
    body = api.post("/api/v1/auths/add", headers=bearer(admin["token"]),
                    json={"name": "Dan", "email": "dan@example.com", "password": PASSWORD}).json()
    assert body["role"] == "pending"


@pytest.mark.parametrize("change,detail", [
    ({"email": "not-an-email"}, "Invalid email format."),
    ({"role": "king"}, "Invalid role: 'king'"),
    ({"password": ""}, "password"),
    ({"email": "taken@example.com"}, "already registered"),
])
def test_add_user_refuses_bad_input_with_400(api, admin, change, detail):
    factories.user(email="taken@example.com")
    body = {"name": "Eve", "email": "eve@example.com", "password": PASSWORD, **change}
    response = api.post("/api/v1/auths/add", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 400 and detail in response.json()["detail"]
    assert User.objects.count() == 2


def test_admin_details_name_the_first_admin_or_the_configured_email(api, admin, user):
    details = api.get("/api/v1/auths/admin/details", headers=bearer(user["token"])).json()
    assert details == {"name": "Admin", "email": admin["email"]}
    api.post("/api/v1/auths/admin/config", headers=bearer(admin["token"]),
             json={"ADMIN_EMAIL": user["email"], "SHOW_ADMIN_DETAILS": True})
    assert api.get("/api/v1/auths/admin/details", headers=bearer(user["token"])).json() == {
        "name": "Bob", "email": user["email"]}
    api.post("/api/v1/auths/admin/config", headers=bearer(admin["token"]), json={"SHOW_ADMIN_DETAILS": False})
    assert api.get("/api/v1/auths/admin/details", headers=bearer(user["token"])).status_code == 400


def test_a_user_sets_its_timezone(api, user):
    assert api.post("/api/v1/auths/update/timezone", json={"timezone": "Europe/Paris"},
                    headers=bearer(user["token"])).json() == {"status": True}
    assert api.get(f"/api/v1/users/{user['id']}/info", headers=bearer(user["token"])).json()["timezone"] == "Europe/Paris"


def test_all_users_and_search_list_users_with_their_groups(api, admin, make_user):
    ann = make_user("Ann")
    make_user("Zed")
    factories.group(name="Team", members=[ann])
    everyone = api.get("/api/v1/users/all", headers=bearer(admin["token"])).json()
    assert everyone["total"] == 3
    found = api.get("/api/v1/users/search?query=ann", headers=bearer(ann["token"])).json()
    assert found["total"] == 1 and found["users"][0]["groups"][0]["name"] == "Team"
    assert set(found["users"][0]) >= {"id", "name", "email", "role", "last_active_at", "is_active", "groups"}
    ordered = api.get("/api/v1/users/search?order_by=name&direction=asc", headers=bearer(ann["token"])).json()
    assert [u["name"] for u in ordered["users"]] == ["Admin", "Ann", "Zed"]
    assert api.get("/api/v1/users/search?page=2", headers=bearer(ann["token"])).json()["users"] == []
    listing = api.get("/api/v1/users/", headers=bearer(admin["token"])).json()
    assert {u["name"]: len(u["group_ids"]) for u in listing["users"]} == {"Admin": 0, "Ann": 1, "Zed": 0}


def test_user_info_active_and_groups(api, admin, user):
    group = factories.group(name="Team", members=[user])
    info = api.get(f"/api/v1/users/{user['id']}/info", headers=bearer(admin["token"])).json()
    assert info["groups"] == [{"id": str(group.id), "name": "Team"}] and info["email"] == user["email"]
    assert api.get(f"/api/v1/users/{user['id']}/active", headers=bearer(user["token"])).json() == {"active": False}
    api.get("/api/models", headers=bearer(factories.api_key(User.objects.get(id=user["id"]))[1]))  # use marks it active
    assert api.get(f"/api/v1/users/{user['id']}/active", headers=bearer(user["token"])).json() == {"active": True}
    groups = api.get(f"/api/v1/users/{user['id']}/groups", headers=bearer(admin["token"])).json()
    assert [g["name"] for g in groups] == ["Team"] and groups[0]["member_count"] == 1
    assert [g["name"] for g in api.get("/api/v1/users/groups", headers=bearer(user["token"])).json()] == ["Team"]


def test_revoking_sessions_ends_every_session_but_not_api_keys(api, admin, user):
    account = User.objects.get(id=user["id"])
    _, key = factories.api_key(account)
    assert api.post(f"/api/v1/users/{user['id']}/sessions/revoke", headers=bearer(admin["token"])).json() is True
    assert api.get("/api/v1/users/user/settings", headers=bearer(user["token"])).status_code == 401
    assert api.get("/api/v1/users/user/settings", headers=bearer(key)).status_code == 200


def test_only_the_primary_admin_revokes_its_own_sessions(api, admin, make_user):
    other = make_user("Other")
    User.objects.filter(id=other["id"]).update(role="admin")
    response = api.post(f"/api/v1/users/{admin['id']}/sessions/revoke", headers=bearer(other["token"]))
    assert response.status_code == 403
    assert api.get("/api/v1/users/permissions", headers=bearer(admin["token"])).status_code == 200


def test_settings_and_info_are_patched(api, user):
    headers = bearer(user["token"])
    assert api.get("/api/v1/users/user/settings", headers=headers).json() is None
    api.post("/api/v1/users/user/settings/update", json={"ui": {"models": ["a"], "chatBubble": True}}, headers=headers)
    updated = api.post("/api/v1/users/user/settings/update", json={"ui": {"chatBubble": None}, "other": 1},
                       headers=headers).json()
    assert updated == {"ui": {"models": ["a"]}, "other": 1}
    assert api.get("/api/v1/users/user/settings", headers=headers).json() == updated
    api.post("/api/v1/users/user/info/update", json={"location": "Paris"}, headers=headers)
    assert api.post("/api/v1/users/user/info/update", json={"team": "x"}, headers=headers).json() == {
        "location": "Paris", "team": "x"}
    assert api.get("/api/v1/users/user/info", headers=headers).json() == {"location": "Paris", "team": "x"}
    assert api.post("/api/v1/users/user/info/update", json=[1], headers=headers).status_code == 400


def test_default_permissions_are_the_admin_s_and_groups_add_to_them(api, admin, user):
    headers = bearer(admin["token"])
    defaults = api.get("/api/v1/users/default/permissions/defaults", headers=headers).json()
    assert defaults["features"]["api_keys"] is True and defaults["workspace"]["knowledge"] is False
    assert api.get("/api/v1/users/default/permissions", headers=headers).json() == defaults
    saved = api.post("/api/v1/users/default/permissions", headers=headers,
                     json={**defaults, "chat": {**defaults["chat"], "delete": False}}).json()
    assert saved["chat"]["delete"] is False
    assert api.get("/api/v1/users/permissions", headers=bearer(user["token"])).json()["chat"]["delete"] is False
    factories.group(members=[user], permissions={"chat": {"delete": True}})
    assert api.get("/api/v1/users/permissions", headers=bearer(user["token"])).json()["chat"]["delete"] is True
    assert api.post("/api/v1/users/default/permissions", headers=headers, json={"chat": "all"}).status_code == 400


def test_features_api_keys_off_refuses_keys_and_a_group_grants_them_back(api, admin, user):
    defaults = api.get("/api/v1/users/default/permissions", headers=bearer(admin["token"])).json()
    api.post("/api/v1/users/default/permissions", headers=bearer(admin["token"]),
             json={**defaults, "features": {**defaults["features"], "api_keys": False}})
    headers = bearer(user["token"])
    _, issued = factories.api_key(User.objects.get(id=user["id"]))
    refused_key = api.get("/api/models", headers=bearer(issued))
    assert refused_key.status_code == 403 and refused_key.json()["detail"] == "Use of API key is not enabled in the environment."
    refused = api.post("/api/v1/auths/api_keys", json={"name": "ci"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["detail"] == "API key creation is not allowed in the environment."
    assert api.post("/api/v1/auths/api_key", headers=headers).status_code == 403
    assert api.get("/api/v1/auths/", headers=headers).json()["permissions"]["features"]["api_keys"] is False
    assert ApiKey.objects.count() == 1
    factories.group(members=[user], permissions={"features": {"api_keys": True}})
    assert api.post("/api/v1/auths/api_keys", json={"name": "ci"}, headers=headers).status_code == 200
    assert api.get("/api/models", headers=bearer(issued)).status_code == 200
    assert api.post("/api/v1/auths/api_keys", json={"name": "admin"}, headers=bearer(admin["token"])).status_code == 200


def test_workspace_knowledge_comes_from_a_group(api, admin, user):
    headers = bearer(user["token"])
    body = {"name": "Mine", "description": ""}
    assert api.post("/api/v1/knowledge/create", json=body, headers=headers).status_code == 401
    factories.group(members=[user], permissions={"workspace": {"knowledge": True}})
    assert api.post("/api/v1/knowledge/create", json=body, headers=headers).status_code == 200
    assert api.get("/api/v1/users/permissions", headers=headers).json()["workspace"]["knowledge"] is True


def test_sharing_needs_the_sharing_permission(api, admin, make_user):
    author, reader = make_user("Author"), make_user("Reader")
    team = factories.group(members=[reader])
    editors = factories.group(name="Editors", members=[author], permissions={"workspace": {"knowledge": True}})
    grants = [{"principal_type": "group", "principal_id": str(team.id), "permission": "read"}]
    kb = api.post("/api/v1/knowledge/create", json={"name": "KB", "description": "", "access_grants": grants},
                  headers=bearer(author["token"])).json()
    assert kb["access_grants"] == []  # dropped on create, as Open WebUI does
    update = {"access_grants": grants}
    url = f"/api/v1/knowledge/{kb['id']}/access/update"
    assert api.post(url, json=update, headers=bearer(author["token"])).status_code == 403
    editors.permissions = {"workspace": {"knowledge": True}, "sharing": {"knowledge": True}}
    editors.save()
    assert api.post(url, json=update, headers=bearer(author["token"])).status_code == 200
    assert api.get(f"/api/v1/knowledge/{kb['id']}", headers=bearer(reader["token"])).status_code == 200


def test_non_admins_cannot_use_admin_user_routes(api, admin, user):
    headers = bearer(user["token"])
    for method, path in [("POST", "/api/v1/auths/add"), ("GET", "/api/v1/users/all"),
                         ("GET", "/api/v1/users/default/permissions"), ("POST", "/api/v1/users/default/permissions"),
                         ("GET", "/api/v1/users/default/permissions/defaults"),
                         ("GET", f"/api/v1/users/{admin['id']}/groups"),
                         ("POST", f"/api/v1/users/{admin['id']}/sessions/revoke")]:
        response = api.request(method, path, json={"name": "x", "email": "x@example.com", "password": "x"}, headers=headers)
        assert response.status_code == 401, (method, path)
    assert User.objects.count() == 2


def test_pending_users_cannot_use_verified_routes(api, admin):
    pending = factories.session(factories.pending())
    for path in ["/api/v1/users/search", "/api/v1/users/groups", "/api/v1/users/permissions", "/api/v1/users/user/settings",
                 "/api/v1/groups/"]:
        assert api.get(path, headers=bearer(pending["token"])).status_code == 401, path


@pytest.mark.parametrize("user_id", ["not-a-uuid", "6f1c2a9e-0000-4000-8000-000000000005"])
def test_unknown_and_non_uuid_user_ids_are_404(api, admin, user_id):
    headers = bearer(admin["token"])
    for method, path in [("GET", ""), ("GET", "/info"), ("GET", "/active"), ("GET", "/groups"),
                         ("POST", "/sessions/revoke"), ("POST", "/update"), ("DELETE", ""), ("GET", "/profile/image")]:
        response = api.request(method, f"/api/v1/users/{user_id}{path}", headers=headers)
        assert response.status_code == 404 and response.json() == {"detail": "User not found"}, (method, path)
