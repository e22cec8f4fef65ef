"""Chat history (/api/v1/chats/*) through the live server: Open WebUI's shapes, search over message
text, pages, tags, shares and who may see what."""

import json
import uuid

import pytest

from accounts.models import User
from chat.models import Chat
from config.runtime.models import RuntimeSetting
from tests import factories
from tests.conftest import bearer, connect
from tests.helpers import chat_body as body
from tests.helpers import new_chat

CHAT_RESPONSE = {"id", "user_id", "title", "chat", "updated_at", "created_at", "share_id", "archived", "pinned", "meta",
                 "variables", "folder_id", "tasks", "summary", "current_message_id", "context_usage"}
TITLE_RESPONSE = {"id", "title", "updated_at", "created_at", "last_read_at", "snippet", "active", "archived"}


def many(session, n: int, **fields) -> list[Chat]:
    """`n` chats of a user, made in the database (their order: the last one is the newest)."""
    from datetime import timedelta

    from django.utils import timezone

    owner = User.objects.get(id=session["id"])
    start = timezone.now() - timedelta(hours=1)
    return Chat.objects.bulk_create([Chat(user=owner, title=f"Chat {i}", chat=body(title=f"Chat {i}"), **fields,
                                          created_at=start + timedelta(seconds=i), updated_at=start + timedelta(seconds=i))
                                     for i in range(n)])


def get(api, session, path, **kwargs):
    return api.get(f"/api/v1/chats{path}", headers=bearer(session["token"]), **kwargs)


def post(api, session, path, json_body=None):
    return api.post(f"/api/v1/chats{path}", json=json_body, headers=bearer(session["token"]))


def delete(api, session, path, json_body=None):
    return api.request("DELETE", f"/api/v1/chats{path}", json=json_body, headers=bearer(session["token"]))


# --- create, read, update -------------------------------------------------------------------------


def test_a_new_chat_answers_open_webuis_chat_response(api, user):
    chat = new_chat(api, user)
    assert set(chat) == CHAT_RESPONSE
    assert chat["title"] == "Refund question" and chat["user_id"] == user["id"]
    assert chat["archived"] is False and chat["pinned"] is False and chat["share_id"] is None
    assert chat["current_message_id"] == chat["chat"]["history"]["currentId"]
    first = chat["chat"]["messages"][0]
    assert first["user_id"] == user["id"] and first["user"] == {"id": user["id"], "name": user["name"]}


def test_a_saved_chat_is_read_back_with_its_messages(api, user):
    chat = new_chat(api, user)
    response = get(api, user, f"/{chat['id']}")
    assert response.status_code == 200
    assert set(response.json()) == CHAT_RESPONSE
    assert response.json()["chat"]["history"] == chat["chat"]["history"]


def test_an_update_merges_the_history_and_takes_the_new_title(api, user):
    chat = new_chat(api, user)
    history = chat["chat"]["history"]
    current = history["currentId"]
    follow_up = str(uuid.uuid4())
    incoming = {"messages": {follow_up: {"id": follow_up, "parentId": current, "childrenIds": [], "role": "user",
                                         "content": "And for a gift?"}}, "currentId": follow_up}
    response = post(api, user, f"/{chat['id']}", {"chat": {"title": "Refunds", "history": incoming}})
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["title"] == "Refunds" and saved["current_message_id"] == follow_up
    assert set(saved["chat"]["history"]["messages"]) == {*history["messages"], follow_up}  # nothing dropped
    assert saved["chat"]["history"]["messages"][current]["childrenIds"] == [follow_up]


def test_a_body_without_a_chat_object_is_refused_and_nothing_is_stored(api, user):
    response = post(api, user, "/new", {"chat": "not an object"})
    assert response.status_code == 422 and "chat" in response.json()["detail"]
    assert Chat.objects.count() == 0


# --- lists ----------------------------------------------------------------------------------------


def test_the_list_is_newest_first_in_pages_of_60(api, user):
    many(user, 61)
    first, second = get(api, user, "/list", params={"page": 1}).json(), get(api, user, "/", params={"page": 2}).json()
    assert len(first) == 60 and len(second) == 1
    assert first[0]["title"] == "Chat 60" and second[0]["title"] == "Chat 0"
    assert set(first[0]) == TITLE_RESPONSE
    assert len(get(api, user, "/").json()) == 61  # no page: all of them


def test_the_list_leaves_out_pinned_archived_and_foldered_chats_unless_asked(api, user):
    plain, pinned, archived = new_chat(api, user, title="plain"), new_chat(api, user, title="pinned"), new_chat(api, user, title="old")
    post(api, user, f"/{pinned['id']}/pin")
    post(api, user, f"/{archived['id']}/archive")
    assert [c["id"] for c in get(api, user, "/list").json()] == [plain["id"]]
    assert {c["id"] for c in get(api, user, "/list", params={"include_pinned": "true"}).json()} == {plain["id"], pinned["id"]}
    assert [c["id"] for c in get(api, user, "/pinned").json()] == [pinned["id"]]
    assert get(api, user, f"/{pinned['id']}/pinned").json() is True


def test_search_finds_a_word_of_a_message_and_shows_where(api, user):
    refund = new_chat(api, user, title="Billing", answer="Refunds take five working days after approval.")
    new_chat(api, user, title="Weather", question="Will it rain?", answer="Probably not.")
    found = get(api, user, "/search", params={"text": "working days"}).json()
    assert [c["id"] for c in found] == [refund["id"]]
    assert "five working days" in found[0]["snippet"]
    assert [c["title"] for c in get(api, user, "/search", params={"text": "weath"}).json()] == ["Weather"]  # title, by prefix
    assert get(api, user, "/search", params={"text": "nowhere-to-be-found"}).json() == []


def test_search_filters_by_tag_and_pages(api, user):
    tagged = new_chat(api, user, title="Tagged")
    new_chat(api, user, title="Other")
    post(api, user, f"/{tagged['id']}/tags", {"name": "Work Stuff"})
    assert [c["id"] for c in get(api, user, "/search", params={"text": "tag:work_stuff"}).json()] == [tagged["id"]]
    many(user, 61)
    assert len(get(api, user, "/search", params={"text": "chat", "page": 2}).json()) == 1


# --- flags, copies, tags, messages ----------------------------------------------------------------


def test_archiving_toggles_and_archive_all_then_unarchive_all(api, user):
    one, two = new_chat(api, user), new_chat(api, user)
    assert post(api, user, f"/{one['id']}/archive").json()["archived"] is True
    assert [c["id"] for c in get(api, user, "/archived").json()] == [one["id"]]
    assert get(api, user, "/archived/count").json() == 1
    assert post(api, user, "/archive/all").json() is True
    assert {c["id"] for c in get(api, user, "/all/archived").json()} == {one["id"], two["id"]}
    assert get(api, user, "/list").json() == []
    assert post(api, user, "/unarchive/all").json() is True
    assert get(api, user, "/archived/count").json() == 0


def test_clone_and_fork_make_new_chats(api, user):
    chat = new_chat(api, user)
    clone = post(api, user, f"/{chat['id']}/clone", {}).json()
    assert clone["title"] == "Clone of Refund question" and clone["id"] != chat["id"]
    assert clone["chat"]["originalChatId"] == chat["id"]
    question = chat["chat"]["messages"][0]["id"]
    fork = post(api, user, f"/{chat['id']}/fork", {"message_id": question}).json()
    assert fork["title"] == "Refund question (fork)"
    assert list(fork["chat"]["history"]["messages"]) == [question] and fork["meta"]["forked_from"] == chat["id"]


def test_tags_are_added_listed_and_removed(api, user):
    chat = new_chat(api, user)
    added = post(api, user, f"/{chat['id']}/tags", {"name": "Customer Care"}).json()
    assert added == [{"id": "customer_care", "name": "Customer Care", "user_id": user["id"], "meta": None}]
    assert get(api, user, f"/{chat['id']}/tags").json() == added
    assert get(api, user, "/all/tags").json() == added
    assert [c["id"] for c in post(api, user, "/tags", {"name": "customer care"}).json()] == [chat["id"]]
    assert delete(api, user, f"/{chat['id']}/tags", {"name": "Customer Care"}).json() == []
    assert get(api, user, "/all/tags").json() == []  # no chat carries it any more
    assert post(api, user, f"/{chat['id']}/tags", {"name": "None"}).status_code == 400


def test_a_message_is_edited_and_deleted(api, user):
    chat = new_chat(api, user)
    answer = chat["chat"]["history"]["currentId"]
    edited = post(api, user, f"/{chat['id']}/messages/{answer}", {"content": "Edited answer"}).json()
    assert edited["chat"]["history"]["messages"][answer]["content"] == "Edited answer"
    assert post(api, user, f"/{chat['id']}/messages/{answer}/event", {"type": "status", "data": {}}).json() is False
    left = delete(api, user, f"/{chat['id']}/messages/{answer}").json()
    assert answer not in left["chat"]["history"]["messages"]
    assert left["current_message_id"] == chat["chat"]["messages"][0]["id"]
    assert delete(api, user, f"/{chat['id']}/messages/{answer}").status_code == 404


def test_import_then_export_everything_as_ndjson(api, user):
    items = [{"chat": body(title=f"Imported {i}"), "meta": {"tags": ["old"]}, "pinned": i == 0,
              "created_at": 1600000000 + i, "updated_at": 1600000000 + i} for i in range(3)]
    imported = post(api, user, "/import", {"chats": items})
    assert imported.status_code == 200, imported.text
    assert [c["created_at"] for c in imported.json()] == [1600000000, 1600000001, 1600000002]
    assert [t["id"] for t in get(api, user, "/all/tags").json()] == ["old"]
    exported = get(api, user, "/all")
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert {c["title"] for c in lines} == {"Imported 0", "Imported 1", "Imported 2"}
    assert set(lines[0]) == CHAT_RESPONSE


def test_usage_statistics_count_the_stored_messages(api, user):
    chat = new_chat(api, user)
    stats = get(api, user, "/stats/usage").json()
    assert stats["total"] == 1
    item = stats["items"][0]
    assert item["id"] == chat["id"] and item["message_count"] == 2 and item["history_user_message_count"] == 1
    assert item["models"] == {"llama3.1:8b": 1} and item["average_response_time"] == 3
    export = get(api, user, "/stats/export").json()
    assert export["type"] == "chats" and export["total"] == 1
    assert export["items"][0]["stats"]["history_assistant_message_count"] == 1
    assert get(api, user, f"/stats/export/{chat['id']}").json()["id"] == chat["id"]


def test_delete_one_then_all(api, user):
    one, two, three = new_chat(api, user), new_chat(api, user), new_chat(api, user)
    assert delete(api, user, f"/{one['id']}").json() is True
    assert get(api, user, f"/{one['id']}").status_code == 404
    assert {c["id"] for c in get(api, user, "/").json()} == {two["id"], three["id"]}
    assert delete(api, user, "/").json() is True
    assert get(api, user, "/").json() == [] and Chat.objects.count() == 0


def test_chats_move_between_folders(api, user):
    chat = new_chat(api, user)
    folder = api.post("/api/v1/folders/", json={"name": "Work"}, headers=bearer(user["token"])).json()
    moved = post(api, user, f"/{chat['id']}/folder", {"folder_id": folder["id"]}).json()
    assert moved["folder_id"] == folder["id"]
    assert [c["id"] for c in get(api, user, f"/folder/{folder['id']}").json()] == [chat["id"]]
    assert [c["id"] for c in get(api, user, f"/folder/{folder['id']}/list").json()] == [chat["id"]]
    assert get(api, user, "/list").json() == []  # in a folder: not in the plain list
    assert post(api, user, f"/{chat['id']}/folder", {"folder_id": None}).json()["folder_id"] is None


def test_plain_api_completions_do_not_write_chats(api, user, ollama, admin):
    from models_registry.services import make_public

    connect(ollama)
    make_public(model_ids=list(ollama.models), actor=User.objects.get(id=admin["id"]))
    response = api.post("/api/chat/completions", headers=bearer(user["token"]),
                        json={"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, response.text
    assert Chat.objects.count() == 0


# --- share links ----------------------------------------------------------------------------------


def test_a_share_link_is_read_by_the_owner_and_the_users_it_names_only(api, user, make_user):
    reader, stranger = make_user("Reader"), make_user("Stranger")
    chat = new_chat(api, user)
    shared = post(api, user, f"/{chat['id']}/share", {})
    assert shared.status_code == 200, shared.text
    share_id = shared.json()["share_id"]
    assert get(api, user, f"/share/{share_id}").status_code == 200
    assert get(api, reader, f"/share/{share_id}").status_code == 404  # no grant yet
    granted = post(api, user, f"/shared/{chat['id']}/access/update",
                   {"access_grants": [{"principal_type": "user", "principal_id": reader["id"], "permission": "read"}]})
    assert granted.status_code == 200, granted.text
    seen = get(api, reader, f"/share/{share_id}").json()
    assert seen["id"] == share_id and seen["title"] == "Refund question"
    assert "params" not in seen["chat"] and seen["variables"] == {}  # the owner's settings stay private
    assert get(api, stranger, f"/share/{share_id}").status_code == 404
    assert get(api, reader, f"/{chat['id']}").status_code == 404  # the link, not the live chat
    assert [g["principal_id"] for g in get(api, user, f"/shared/{chat['id']}/access").json()] == [reader["id"]]
    assert [s["share_id"] for s in get(api, user, "/shared").json()] == [share_id]
    clone = post(api, reader, f"/{share_id}/clone/shared").json()
    assert clone["user_id"] == reader["id"] and clone["chat"]["messages"][0]["user_id"] == reader["id"]


def test_a_user_may_not_share_a_chat_with_everyone(api, user):
    chat = new_chat(api, user)
    post(api, user, f"/{chat['id']}/share", {})
    everyone = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
    response = post(api, user, f"/shared/{chat['id']}/access/update", {"access_grants": everyone})
    assert response.status_code == 403


def test_an_unshared_link_is_gone(api, user, make_user):
    reader = make_user("Reader")
    chat = new_chat(api, user)
    share_id = post(api, user, f"/{chat['id']}/share", {}).json()["share_id"]
    post(api, user, f"/shared/{chat['id']}/access/update",
         {"access_grants": [{"principal_type": "user", "principal_id": reader["id"], "permission": "read"}]})
    assert delete(api, user, f"/{chat['id']}/share").json() is True
    assert get(api, reader, f"/share/{share_id}").status_code == 404
    assert get(api, user, f"/{chat['id']}").json()["share_id"] is None


# --- access ---------------------------------------------------------------------------------------


def test_another_user_can_neither_read_list_change_nor_delete_a_chat(api, user, make_user):
    other = make_user("Mallory")
    chat = new_chat(api, user)
    cid = chat["id"]
    answer = chat["chat"]["history"]["currentId"]
    assert get(api, other, f"/{cid}").status_code == 404
    assert get(api, other, "/").json() == [] and get(api, other, "/search", params={"text": "refund"}).json() == []
    for path, payload in [(f"/{cid}", {"chat": {"title": "mine now"}}), (f"/{cid}/pin", None), (f"/{cid}/archive", None),
                          (f"/{cid}/share", {}), (f"/{cid}/tags", {"name": "x"}), (f"/{cid}/clone", {}),
                          (f"/{cid}/messages/{answer}", {"content": "changed"}), (f"/{cid}/folder", {"folder_id": None})]:
        assert post(api, other, path, payload).status_code == 404, path
    assert delete(api, other, f"/{cid}").status_code == 404
    assert get(api, other, f"/stats/export/{cid}").status_code == 404
    stored = Chat.objects.get(id=cid)
    assert stored.title == "Refund question" and not stored.pinned and not stored.archived and stored.share_id is None


def test_an_admin_reads_users_chats_but_cannot_change_them(api, user, admin):
    chat = new_chat(api, user)
    seen = get(api, admin, f"/{chat['id']}")
    assert seen.status_code == 200 and "params" not in seen.json()["chat"]
    assert [c["id"] for c in get(api, admin, f"/list/user/{user['id']}").json()] == [chat["id"]]
    assert post(api, admin, f"/{chat['id']}", {"chat": {"title": "x"}}).status_code == 403
    assert get(api, admin, "/").json() == []  # the admin's own list holds only its chats


def test_without_admin_chat_access_an_admin_sees_nothing_of_users_chats(api, user, admin):
    chat = new_chat(api, user)
    RuntimeSetting.objects.create(key="ENABLE_ADMIN_CHAT_ACCESS", value=False)
    assert get(api, admin, f"/{chat['id']}").status_code == 404
    assert get(api, admin, f"/list/user/{user['id']}").status_code == 401
    assert delete(api, admin, f"/{chat['id']}").status_code == 404


def test_every_chat_in_the_database_is_for_admins_only(api, user, admin):
    new_chat(api, user)
    assert get(api, user, "/all/db").status_code == 401
    assert [c["user_id"] for c in get(api, admin, "/all/db").json()] == [user["id"]]


@pytest.mark.parametrize("method, path", [
    ("GET", "/not-a-uuid"), ("POST", "/not-a-uuid/pin"), ("DELETE", "/not-a-uuid"), ("GET", "/share/not-a-uuid"),
    ("GET", "/folder/not-a-uuid"), ("GET", "/not-a-uuid/tags"), ("POST", "/not-a-uuid/archive"),
])
def test_ids_that_are_not_uuids_are_unknown_ids(api, user, method, path):
    response = api.request(method, f"/api/v1/chats{path}", headers=bearer(user["token"]))
    assert response.status_code == 404 and response.json()["detail"]


def test_pending_users_get_nothing(api, admin):
    pending = factories.session(factories.pending())
    assert get(api, pending, "/").status_code == 401
