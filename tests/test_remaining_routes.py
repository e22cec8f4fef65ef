"""The last routes of Open WebUI 0.12.4's list: the user's status and prompt variables, a user's
preview and OAuth sessions, a tool call's resolution, the changelog, the unified model unload, and
the web UI's own routes with nothing behind them here (outlet filters, actions, background tasks)."""

import uuid

from accounts.models import User
from tests import factories
from tests.conftest import bearer, connect
from tests.helpers import count_get, new_chat, session_headers

# --- /users/user/status, /users/user/variables ------------------------------------------------------


def test_a_user_sets_its_status_and_reads_it_back(api, user):
    token = bearer(user["token"])
    status = {"status_emoji": "🌴", "status_message": "On leave", "status_expires_at": 1900000000}
    updated = api.post("/api/v1/users/user/status/update", headers=token, json=status)
    assert updated.status_code == 200
    assert {k: updated.json()[k] for k in status} == status
    read = api.get("/api/v1/users/user/status", headers=token).json()
    assert {k: read[k] for k in (*status, "id")} == {**status, "id": user["id"]}


def test_a_status_shows_in_the_users_info(api, admin, user):
    api.post("/api/v1/users/user/status/update", headers=bearer(user["token"]), json={"status_message": "Busy"})
    info = api.get(f"/api/v1/users/{user['id']}/info", headers=bearer(admin["token"])).json()
    assert (info["status_message"], info["status_emoji"]) == ("Busy", None)


def test_a_bad_status_is_refused_and_the_old_one_kept(api, user):
    token = bearer(user["token"])
    api.post("/api/v1/users/user/status/update", headers=token, json={"status_message": "Busy"})
    response = api.post("/api/v1/users/user/status/update", headers=token, json={"status_expires_at": "soon"})
    assert response.status_code == 400 and "status_expires_at" in response.json()["detail"]
    assert api.get("/api/v1/users/user/status", headers=token).json()["status_message"] == "Busy"


def test_a_pending_user_has_no_status_route(api, admin):
    pending = factories.session(factories.pending())
    assert api.get("/api/v1/users/user/status", headers=bearer(pending["token"])).status_code == 401


def test_a_user_saves_its_variables_and_reads_them_back(api, user):
    token = bearer(user["token"])
    assert api.get("/api/v1/users/user/variables", headers=token).json() == {"variables": {}}
    saved = api.post("/api/v1/users/user/variables/update", headers=token,
                     json={"variables": {"team": "Billing", "signature": "Bob\r\nSupport"}})
    assert saved.json() == {"variables": {"team": "Billing", "signature": "Bob\nSupport"}}
    assert api.get("/api/v1/users/user/variables", headers=token).json() == saved.json()


def test_variables_are_each_users_own(api, make_user):
    alice, bob = make_user("Alice"), make_user("Bob")
    api.post("/api/v1/users/user/variables/update", headers=bearer(alice["token"]), json={"variables": {"team": "Ops"}})
    assert api.get("/api/v1/users/user/variables", headers=bearer(bob["token"])).json() == {"variables": {}}


def test_a_bad_variable_name_or_value_is_refused_and_nothing_stored(api, user):
    token = bearer(user["token"])
    api.post("/api/v1/users/user/variables/update", headers=token, json={"variables": {"team": "Ops"}})
    for bad in ({"Team Name": "x"}, {"team": 3}, "not an object"):
        response = api.post("/api/v1/users/user/variables/update", headers=token, json={"variables": bad})
        assert response.status_code == 400, bad
    assert User.objects.get(pk=user["id"]).variables == {"team": "Ops"}


# --- /users/{id}/preview, /users/{id}/oauth/sessions -------------------------------------------------


def test_the_preview_lists_what_a_user_reaches(api, admin, user):
    owner = User.objects.get(pk=admin["id"])
    bob = User.objects.get(pk=user["id"])
    team = factories.group(name="Support", members=[bob])
    factories.preset(owner, id="shared-bot", name="Shared Bot")
    factories.preset(owner, id="private-bot", name="Private Bot")
    factories.share("model", "shared-bot", principal_id=team.pk, principal_type="group")
    kb = factories.collection(bob, name="Bob's notes")
    factories.collection(owner, name="Admin only")
    body = api.get(f"/api/v1/users/{user['id']}/preview", headers=bearer(admin["token"])).json()
    assert body["user"] == {"id": user["id"], "name": "Bob"}
    assert body["groups"] == [{"id": str(team.pk), "name": "Support"}]
    assert body["models"] == {"items": [{"id": "shared-bot", "name": "Shared Bot"}], "total": 2}
    assert body["knowledge"] == {"items": [{"id": str(kb.pk), "name": "Bob's notes"}], "total": 2}
    assert body["tools"] == {"items": [], "total": 0}


def test_the_preview_and_oauth_sessions_are_for_admins_only(api, admin, user):
    for path in ("preview", "oauth/sessions"):
        assert api.get(f"/api/v1/users/{admin['id']}/{path}", headers=bearer(user["token"])).status_code == 401


def test_an_unknown_user_has_no_preview_nor_oauth_sessions(api, admin):
    for path in ("preview", "oauth/sessions"):
        for user_id in (uuid.uuid4(), "not-a-uuid"):
            response = api.get(f"/api/v1/users/{user_id}/{path}", headers=bearer(admin["token"]))
            assert response.status_code == 404 and response.json()["detail"] == "User not found"


def test_no_user_has_oauth_sessions(api, admin, user):
    assert api.get(f"/api/v1/users/{user['id']}/oauth/sessions", headers=bearer(admin["token"])).json() == []


# --- /chats/{id}/messages/{message_id}/resolve ---------------------------------------------------------


def _chat_awaiting_a_tool(api, session) -> tuple[str, str]:
    chat = new_chat(api, session)
    answer_id = chat["chat"]["history"]["currentId"]
    output = [{"type": "function_call", "call_id": "call-1", "name": "search", "status": "requires_approval"}]
    api.post(f"/api/v1/chats/{chat['id']}", headers=bearer(session["token"]),
             json={"chat": {"history": {"messages": {answer_id: {**chat["chat"]["history"]["messages"][answer_id],
                                                                 "output": output}}}}})
    return chat["id"], answer_id


def test_a_tool_call_awaiting_approval_is_rejected(api, user):
    chat_id, message_id = _chat_awaiting_a_tool(api, user)
    url = f"/api/v1/chats/{chat_id}/messages/{message_id}/resolve"
    response = api.post(url, headers=bearer(user["token"]), json={"call_id": "call-1", "action": "reject"})
    assert response.json() == {"status": True, "chat_id": chat_id, "message_id": message_id, "task_ids": []}
    saved = api.get(f"/api/v1/chats/{chat_id}", headers=bearer(user["token"])).json()
    assert saved["chat"]["history"]["messages"][message_id]["output"][0]["status"] == "rejected"
    again = api.post(url, headers=bearer(user["token"]), json={"call_id": "call-1", "action": "reject"})
    assert again.status_code == 409


def test_a_tool_call_cannot_be_approved_since_no_tool_runs_here(api, user):
    chat_id, message_id = _chat_awaiting_a_tool(api, user)
    response = api.post(f"/api/v1/chats/{chat_id}/messages/{message_id}/resolve", headers=bearer(user["token"]),
                        json={"call_id": "call-1", "action": "approve"})
    assert response.status_code == 400 and "runs no tools" in response.json()["detail"]


def test_an_unknown_message_or_tool_call_is_not_found(api, user):
    chat_id, message_id = _chat_awaiting_a_tool(api, user)
    for path, call in ((f"{uuid.uuid4()}", "call-1"), (message_id, "call-2")):
        response = api.post(f"/api/v1/chats/{chat_id}/messages/{path}/resolve", headers=bearer(user["token"]),
                            json={"call_id": call, "action": "reject"})
        assert response.status_code == 404


def test_another_user_cannot_resolve_a_tool_call_of_my_chat(api, make_user):
    owner, other = make_user("Alice"), make_user("Mallory")
    chat_id, message_id = _chat_awaiting_a_tool(api, owner)
    response = api.post(f"/api/v1/chats/{chat_id}/messages/{message_id}/resolve", headers=bearer(other["token"]),
                        json={"call_id": "call-1", "action": "reject"})
    assert response.status_code == 404


def test_a_resolution_without_an_action_is_refused(api, user):
    chat_id, message_id = _chat_awaiting_a_tool(api, user)
    response = api.post(f"/api/v1/chats/{chat_id}/messages/{message_id}/resolve", headers=bearer(user["token"]),
                        json={"call_id": "call-1", "action": "maybe"})
    assert response.status_code == 400 and "action" in response.json()["detail"]


# --- /api/chat/completed, /api/chat/actions/{id} --------------------------------------------------------


def test_completed_returns_the_data_unchanged(api, user):
    chat = new_chat(api, user)
    data = {"model": "llama3.1:8b", "chat_id": chat["id"], "id": "m1",
            "messages": [{"role": "assistant", "content": "Hi"}], "model_item": {"id": "llama3.1:8b"}}
    response = api.post("/api/chat/completed", headers=bearer(user["token"]), json=data)
    assert response.status_code == 200
    assert response.json() == {k: v for k, v in data.items() if k != "model_item"}


def test_completed_refuses_another_users_chat(api, make_user):
    owner, other = make_user("Alice"), make_user("Mallory")
    chat = new_chat(api, owner)
    response = api.post("/api/chat/completed", headers=bearer(other["token"]), json={"chat_id": chat["id"], "messages": []})
    assert response.status_code == 404


def test_every_action_is_unknown(api, user):
    response = api.post("/api/chat/actions/summarize.short", headers=bearer(user["token"]), json={"messages": []})
    assert response.status_code == 400 and response.json()["detail"] == "Action not found: summarize"


def test_an_action_on_another_users_chat_is_not_found(api, make_user):
    owner, other = make_user("Alice"), make_user("Mallory")
    chat = new_chat(api, owner)
    response = api.post("/api/chat/actions/summarize", headers=bearer(other["token"]), json={"chat_id": chat["id"]})
    assert response.status_code == 404


# --- /api/tasks ---------------------------------------------------------------------------------------


def test_no_background_task_runs(api, admin):
    assert api.get("/api/tasks", headers=bearer(admin["token"])).json() == {"tasks": []}
    response = api.post(f"/api/tasks/stop/{uuid.uuid4()}", headers=bearer(admin["token"]))
    assert response.status_code == 404 and response.json()["detail"].startswith("Task with ID")


def test_the_task_list_and_stopping_a_task_are_for_admins_only(api, user):
    assert api.get("/api/tasks", headers=bearer(user["token"])).status_code == 401
    assert api.post(f"/api/tasks/stop/{uuid.uuid4()}", headers=bearer(user["token"])).status_code == 401


def test_a_chat_has_no_tasks_and_stopping_them_finds_none(api, user):
    chat = new_chat(api, user)
    token = bearer(user["token"])
    assert api.get(f"/api/tasks/chat/{chat['id']}", headers=token).json() == {"task_ids": []}
    assert api.post(f"/api/tasks/chat/{chat['id']}/stop", headers=token).json() == {"status": True, "message": "No tasks found."}


def test_another_user_cannot_stop_the_tasks_of_my_chat(api, make_user):
    owner, other = make_user("Alice"), make_user("Mallory")
    chat = new_chat(api, owner)
    assert api.post(f"/api/tasks/chat/{chat['id']}/stop", headers=bearer(other["token"])).status_code == 404
    assert api.get(f"/api/tasks/chat/{chat['id']}", headers=bearer(other["token"])).json() == {"task_ids": []}


# --- /api/changelog, /api/models/unload -----------------------------------------------------------------


def test_the_changelog_is_empty_and_public(api):
    response = api.get("/api/changelog")
    assert response.status_code == 200 and response.json() == {}


def test_unloading_a_model_asks_its_ollama_server_to_let_it_go(api, admin, ollama):
    connect(ollama)
    response = api.post("/api/models/unload", headers=bearer(admin["token"]), json={"model": "llama3.1:8b"})
    assert response.json() == {"status": True}
    assert ollama.last("/api/generate") == {"model": "llama3.1:8b", "keep_alive": 0, "prompt": "", "stream": False}


def test_unloading_an_unknown_model_is_refused(api, admin, ollama):
    connect(ollama)
    response = api.post("/api/models/unload", headers=bearer(admin["token"]), json={"model": "nope:1b"})
    assert response.status_code == 400 and "nope:1b" in response.json()["detail"]


def test_unloading_a_model_is_for_admins_only(api, user, ollama):
    connect(ollama)
    response = api.post("/api/models/unload", headers=bearer(user["token"]), json={"model": "llama3.1:8b"})
    assert response.status_code == 401
    assert ollama.requests == [] or all(p != "/api/generate" for _, p, _ in ollama.requests)


def _preview_queries(client, admin, bob, n: int) -> int:
    for i in range(n):
        team = factories.group(name=f"Team {i}-{n}", members=[bob])
        factories.preset(admin, id=f"bot-{n}-{i}", name=f"Bot {i}")
        factories.share("model", f"bot-{n}-{i}", principal_id=team.pk, principal_type="group")
        factories.collection(bob, name=f"Notes {n}-{i}")
    queries, body = count_get(client, f"/api/v1/users/{bob.pk}/preview", session_headers(admin))
    assert len(body["models"]["items"]) >= n
    return queries


def test_the_preview_queries_do_not_grow(client):
    admin, bob = factories.admin(), factories.user(name="Bob")
    assert _preview_queries(client, admin, bob, 1) == _preview_queries(client, admin, bob, 10)
