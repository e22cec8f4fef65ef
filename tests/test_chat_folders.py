"""Chat folders (/api/v1/folders/*) through the live server: Open WebUI's shapes, nesting, deleting
with or without the chats, and owner-only access."""

from chat.models import Chat, Folder
from tests.conftest import bearer
from tests.helpers import new_chat

FOLDER = {"id", "parent_id", "user_id", "name", "items", "meta", "data", "is_expanded", "created_at", "updated_at"}
FOLDER_ITEM = {"id", "name", "meta", "parent_id", "is_expanded", "unread_count", "created_at", "updated_at"}


def make(api, session, name="Work", **fields) -> dict:
    response = api.post("/api/v1/folders/", json={"name": name, **fields}, headers=bearer(session["token"]))
    assert response.status_code == 200, response.text
    return response.json()


def call(api, session, method, path, json_body=None):
    return api.request(method, f"/api/v1/folders{path}", json=json_body, headers=bearer(session["token"]))


def test_a_folder_is_created_listed_and_read(api, user):
    folder = make(api, user, meta={"icon": "📁"})
    assert set(folder) == FOLDER and folder["user_id"] == user["id"] and folder["parent_id"] is None
    listed = call(api, user, "GET", "/").json()
    assert [set(f) for f in listed] == [FOLDER_ITEM] and listed[0]["meta"] == {"icon": "📁"}
    read = call(api, user, "GET", f"/{folder['id']}").json()
    assert read["access_grants"] == [] and read["write_access"] is True


def test_a_second_folder_of_the_same_name_in_the_same_place_is_refused(api, user):
    make(api, user, "Work")
    response = call(api, user, "POST", "/", {"name": "work"})
    assert response.status_code == 400 and response.json()["detail"] == "Folder already exists"
    assert Folder.objects.count() == 1


def test_unknown_fields_are_refused(api, user):
    assert call(api, user, "POST", "/", {"name": "X", "colour": "red"}).status_code == 422


def test_rename_move_and_expand(api, user):
    parent, child = make(api, user, "Parent"), make(api, user, "Child")
    assert call(api, user, "POST", f"/{child['id']}/update", {"name": "Renamed"}).json()["name"] == "Renamed"
    moved = call(api, user, "POST", f"/{child['id']}/update/parent", {"parent_id": parent["id"]}).json()
    assert moved["parent_id"] == parent["id"]
    cycle = call(api, user, "POST", f"/{parent['id']}/update/parent", {"parent_id": child["id"]})
    assert cycle.status_code == 400
    assert call(api, user, "POST", f"/{parent['id']}/update/expanded", {"is_expanded": True}).json()["is_expanded"] is True


def test_deleting_a_folder_deletes_its_subfolders_and_their_chats(api, user):
    parent = make(api, user, "Parent")
    child = make(api, user, "Child", parent_id=parent["id"])
    chat = new_chat(api, user)
    api.post(f"/api/v1/chats/{chat['id']}/folder", json={"folder_id": child["id"]}, headers=bearer(user["token"]))
    assert call(api, user, "DELETE", f"/{parent['id']}").json() is True
    assert Folder.objects.count() == 0 and Chat.objects.count() == 0


def test_deleting_a_folder_without_its_contents_keeps_the_chats(api, user):
    folder = make(api, user)
    chat = new_chat(api, user)
    api.post(f"/api/v1/chats/{chat['id']}/folder", json={"folder_id": folder["id"]}, headers=bearer(user["token"]))
    assert call(api, user, "DELETE", f"/{folder['id']}?delete_contents=false").json() is True
    assert Chat.objects.get(id=chat["id"]).folder_id is None


def test_folder_chats_unread_counts_and_read(api, user):
    folder = make(api, user)
    chat = new_chat(api, user)
    api.post(f"/api/v1/chats/{chat['id']}/folder", json={"folder_id": folder["id"]}, headers=bearer(user["token"]))
    unread = api.post(f"/api/v1/chats/{chat['id']}/unread", headers=bearer(user["token"])).json()
    assert unread["folder_unread_counts"] == {folder["id"]: 1}
    assert call(api, user, "GET", "/").json()[0]["unread_count"] == 1
    read = call(api, user, "POST", f"/{folder['id']}/read").json()
    assert read["updated_count"] == 1 and read["folder_unread_counts"] == {folder["id"]: 0}
    shared = call(api, user, "GET", f"/{folder['id']}/shared/chats").json()
    assert [c["id"] for c in shared["chats"]] == [chat["id"]] and shared["folder_permission"] == "write"


def test_folders_are_not_shared(api, user):
    folder = make(api, user)
    grant = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
    assert call(api, user, "POST", f"/{folder['id']}/access/update", {"access_grants": grant}).status_code == 403
    assert call(api, user, "POST", f"/{folder['id']}/access/update", {"access_grants": []}).json()["access_grants"] == []
    assert call(api, user, "GET", "/shared").json() == []


def test_another_user_can_neither_read_list_change_nor_delete_a_folder(api, user, make_user, admin):
    other = make_user("Mallory")
    folder = make(api, user)
    fid = folder["id"]
    for session in (other, admin):
        assert call(api, session, "GET", "/").json() == []
        assert call(api, session, "GET", f"/{fid}").status_code == 404
        assert call(api, session, "POST", f"/{fid}/update", {"name": "Taken"}).status_code == 404
        assert call(api, session, "POST", f"/{fid}/update/expanded", {"is_expanded": True}).status_code == 404
        assert call(api, session, "DELETE", f"/{fid}").status_code == 404
        assert api.get(f"/api/v1/chats/folder/{fid}", headers=bearer(session["token"])).status_code == 404
        own = new_chat(api, session)
        moved = api.post(f"/api/v1/chats/{own['id']}/folder", json={"folder_id": fid}, headers=bearer(session["token"]))
        assert moved.status_code == 404  # nobody files chats into someone else's folder
        assert make(api, session, "Mine")["parent_id"] is None
        assert call(api, session, "POST", "/", {"name": "Sub", "parent_id": fid}).status_code == 404
    stored = Folder.objects.get(id=fid)
    assert stored.name == "Work" and not stored.is_expanded


def test_ids_that_are_not_uuids_are_unknown_ids(api, user):
    for method, path in (("GET", "/nope"), ("DELETE", "/nope"), ("POST", "/nope/update/expanded")):
        response = call(api, user, method, path, {"is_expanded": True})
        assert response.status_code == 404, (method, path)
