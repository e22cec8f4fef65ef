"""Groups (/api/v1/groups/*, Open WebUI 0.12.4's routers/groups.py): the admin manages them and their
members; grants to a group reach its members and nobody else."""

import uuid

import pytest

from accounts.models import AccessGrant, Group, GroupMember
from tests import factories
from tests.conftest import bearer, connect


def _create(api, admin, **body):
    response = api.post("/api/v1/groups/create", json={"name": "Support", "description": "Helpdesk", **body},
                        headers=bearer(admin["token"]))
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_creates_a_group_with_open_webui_s_shape(api, admin):
    group = _create(api, admin, permissions={"features": {"api_keys": True}})
    assert group["name"] == "Support" and group["description"] == "Helpdesk" and group["user_id"] == admin["id"]
    assert group["permissions"] == {"features": {"api_keys": True}} and group["member_count"] == 0
    assert group["data"] == {"config": {"share": "members"}} and group["parent_group_id"] is None
    assert api.get(f"/api/v1/groups/id/{group['id']}", headers=bearer(admin["token"])).json() == group


def test_admin_adds_and_removes_members(api, admin, make_user):
    ann, bob = make_user("Ann"), make_user("Bob")
    group = _create(api, admin)
    url = f"/api/v1/groups/id/{group['id']}"
    added = api.post(f"{url}/users/add", json={"user_ids": [ann["id"], bob["id"], "not-a-user", str(uuid.uuid4())]},
                     headers=bearer(admin["token"])).json()
    assert added["member_count"] == 2
    api.post(f"{url}/users/add", json={"user_ids": [ann["id"]]}, headers=bearer(admin["token"]))  # twice: once
    exported = api.get(f"{url}/export", headers=bearer(admin["token"])).json()
    assert sorted(exported["user_ids"]) == sorted([ann["id"], bob["id"]])
    members = api.post(f"{url}/users", headers=bearer(admin["token"])).json()
    assert {m["email"] for m in members} == {ann["email"], bob["email"]} and members[0]["groups"] == []
    inspected = api.get(f"{url}/members?query=ann", headers=bearer(admin["token"])).json()
    assert [m["id"] for m in inspected["items"]] == [ann["id"]] and inspected["counts"]["direct"] == 2
    removed = api.post(f"{url}/users/remove", json={"user_ids": [ann["id"]]}, headers=bearer(admin["token"])).json()
    assert removed["member_count"] == 1
    assert list(GroupMember.objects.values_list("user_id", flat=True)) == [uuid.UUID(bob["id"])]


def test_update_merges_data_and_replaces_permissions(api, admin):
    group = _create(api, admin, permissions={"workspace": {"knowledge": True}}, data={"config": {"default_models": ["m"]}})
    updated = api.post(f"/api/v1/groups/id/{group['id']}/update", headers=bearer(admin["token"]), json={
        "name": "Support 2", "description": "d", "permissions": {"features": {"api_keys": True, "made_up": True}},
        "data": {"config": {"share": False}}}).json()
    assert updated["name"] == "Support 2"
    assert updated["permissions"] == {"features": {"api_keys": True}}
    assert updated["data"] == {"config": {"share": False, "default_models": ["m"]}}


def test_bad_group_bodies_are_400_and_nothing_is_stored(api, admin):
    headers = bearer(admin["token"])
    assert api.post("/api/v1/groups/create", json={"description": "no name"}, headers=headers).status_code == 400
    assert api.post("/api/v1/groups/create", json={"name": "x", "permissions": {"chat": {"delete": "yes"}}},
                    headers=headers).status_code == 400
    assert api.post("/api/v1/groups/create", json={"name": "x", "data": {"config": 5}}, headers=headers).status_code == 400
    hierarchy = api.post("/api/v1/groups/create", json={"name": "x", "parent_group_id": str(uuid.uuid4())}, headers=headers)
    assert hierarchy.status_code == 400 and "hierarchy" in hierarchy.json()["detail"]
    assert not Group.objects.exists()


def test_deleting_a_group_deletes_its_grants(api, admin, user):
    group = factories.group(members=[user])
    kb = factories.collection(factories.admin(name="Other admin"))
    factories.share("knowledge", kb.id, principal_type="group", principal_id=group.id)
    assert api.delete(f"/api/v1/groups/id/{group.id}/delete", headers=bearer(admin["token"])).json() is True
    assert not Group.objects.exists() and not AccessGrant.objects.exists()


def test_users_list_their_own_groups_and_admins_all(api, admin, user):
    mine = factories.group(name="Mine", members=[user])
    closed = factories.group(name="Closed", members=[user], data={"config": {"share": False}})
    factories.group(name="Others")
    assert {g["name"] for g in api.get("/api/v1/groups/", headers=bearer(user["token"])).json()} == {"Mine", "Closed"}
    assert [g["name"] for g in api.get("/api/v1/groups/?share=true", headers=bearer(user["token"])).json()] == ["Mine"]
    assert [g["name"] for g in api.get("/api/v1/groups/?share=false", headers=bearer(user["token"])).json()] == ["Closed"]
    assert len(api.get("/api/v1/groups/", headers=bearer(admin["token"])).json()) == 3
    info = api.get(f"/api/v1/groups/id/{mine.id}/info", headers=bearer(user["token"])).json()
    assert info["name"] == "Mine" and info["member_count"] == 1 and "permissions" not in info
    assert closed.id


def test_non_admins_cannot_use_the_admin_group_routes(api, admin, user):
    group = factories.group(members=[user])
    url = f"/api/v1/groups/id/{group.id}"
    headers = bearer(user["token"])
    for method, path in [("POST", "/api/v1/groups/create"), ("GET", url), ("GET", f"{url}/export"),
                         ("POST", f"{url}/users"), ("GET", f"{url}/members"), ("GET", f"{url}/preview"),
                         ("POST", f"{url}/update"), ("POST", f"{url}/users/add"), ("POST", f"{url}/users/remove"),
                         ("DELETE", f"{url}/delete")]:
        response = api.request(method, path, json={"name": "Hijack", "user_ids": [user["id"]]}, headers=headers)
        assert response.status_code == 401, (method, path)
    assert Group.objects.get().name == "Team" and GroupMember.objects.count() == 1


@pytest.mark.parametrize("group_id", ["not-a-uuid", "6f1c2a9e-0000-4000-8000-000000000002"])
def test_unknown_and_non_uuid_group_ids_are_404(api, admin, group_id):
    headers = bearer(admin["token"])
    for method, path in [("GET", ""), ("GET", "/info"), ("GET", "/export"), ("POST", "/update"),
                         ("POST", "/users/add"), ("DELETE", "/delete")]:
        response = api.request(method, f"/api/v1/groups/id/{group_id}{path}", json={"name": "x"}, headers=headers)
        assert response.status_code == 404 and response.json() == {"detail": "Group not found"}, (method, path)


def test_a_group_grant_on_a_collection_reaches_members_only(api, admin, make_user):
    member, outsider = make_user("Member"), make_user("Outsider")
    kb = factories.collection(factories.admin(name="Owner"), name="Team docs")
    group = factories.group(members=[member])
    factories.share("knowledge", kb.id, principal_type="group", principal_id=group.id)
    assert api.get(f"/api/v1/knowledge/{kb.id}", headers=bearer(member["token"])).status_code == 200
    assert [k["id"] for k in api.get("/api/v1/knowledge/", headers=bearer(member["token"])).json()["items"]] == [str(kb.id)]
    assert api.get(f"/api/v1/knowledge/{kb.id}", headers=bearer(outsider["token"])).status_code == 404
    assert api.get("/api/v1/knowledge/", headers=bearer(outsider["token"])).json()["items"] == []
    # read only: the member cannot change or delete it
    update = api.post(f"/api/v1/knowledge/{kb.id}/update", json={"name": "Mine", "description": ""},
                      headers=bearer(member["token"]))
    assert update.status_code == 403
    assert api.delete(f"/api/v1/knowledge/{kb.id}/delete", headers=bearer(member["token"])).status_code == 403


def test_a_group_grant_on_a_model_reaches_members_only(api, admin, make_user, ollama):
    connect(ollama)
    member, outsider = make_user("Member"), make_user("Outsider")
    group = factories.group(members=[member])
    factories.preset(factories.admin(name="Owner"))
    factories.share("model", "support-bot", principal_type="group", principal_id=group.id)
    assert [m["id"] for m in api.get("/api/models", headers=bearer(member["token"])).json()["data"]] == ["support-bot"]
    assert api.get("/api/models", headers=bearer(outsider["token"])).json()["data"] == []
    hello = {"model": "support-bot", "messages": [{"role": "user", "content": "hi"}]}
    assert api.post("/api/chat/completions", json=hello, headers=bearer(member["token"])).status_code == 200
    refused = api.post("/api/chat/completions", json=hello, headers=bearer(outsider["token"]))
    assert refused.status_code == 400 and "not found" in refused.json()["detail"].lower()


def test_admin_shares_with_a_group_through_access_grants(api, admin, user):
    group = factories.group(members=[user])
    created = api.post("/api/v1/knowledge/create", headers=bearer(admin["token"]), json={
        "name": "KB", "description": "", "access_grants": [
            {"principal_type": "group", "principal_id": str(group.id).upper(), "permission": "read"}]}).json()
    assert created["access_grants"][0]["principal_type"] == "group"
    assert created["access_grants"][0]["principal_id"] == str(group.id)
    assert api.get(f"/api/v1/knowledge/{created['id']}", headers=bearer(user["token"])).status_code == 200
    preview = api.get(f"/api/v1/groups/id/{group.id}/preview", headers=bearer(admin["token"])).json()
    assert preview["knowledge"]["items"] == [{"id": created["id"], "permissions": ["read"]}]


@pytest.mark.parametrize("principal_id", ["not-a-uuid", "6f1c2a9e-0000-4000-8000-000000000003"])
def test_grants_to_an_unknown_group_are_refused(api, admin, principal_id):
    kb = factories.collection(factories.user(name="Owner"))
    response = api.post(f"/api/v1/knowledge/{kb.id}/access/update", headers=bearer(admin["token"]), json={
        "access_grants": [{"principal_type": "group", "principal_id": principal_id, "permission": "read"}]})
    assert response.status_code == 400 and response.json()["detail"] == f"Group not found: {principal_id}"
    assert not AccessGrant.objects.exists()
