"""`openwebui-chat-client` (PyPI) against the live server: its model catalogue and workspace models,
`chat` and `stream_chat` (with and without `rag_files`), which find or create the chat by title
(`/api/v1/chats/search`, `/api/v1/chats/new`), stream the completion and store both messages in the
chat (`POST /api/v1/chats/{id}`), then chat management (list, folders, tags, rename, archive), users,
groups and knowledge bases. Its prompts calls (`/api/v1/prompts/command/...`), `get_knowledge_base_by_name`
(`/api/v1/knowledge/list`, so `rag_collections` too) and `update_user_role` (`/users/{id}/update/role`)
name routes Open WebUI 0.12.4 does not have; notes are out of scope. tests/support/CLIENT_CALLS.md
lists its endpoints."""

import pytest
from openwebui_chat_client import OpenWebUIClient

from tests.conftest import bearer, connect
from tests.helpers import FILLER

STREAM = {"wait_before_request": 0, "placeholder_pool_size": 2, "min_available_messages": 1}


@pytest.fixture
def client(gateway, admin, ollama):
    connect(ollama)
    return OpenWebUIClient(gateway.url, admin["token"], "llama3.1:8b")


def _stored(api, admin, chat_id) -> dict:
    response = api.get(f"/api/v1/chats/{chat_id}", headers=bearer(admin["token"]))
    assert response.status_code == 200, response.text
    return response.json()


def _drain(generator) -> tuple[str, dict]:
    """A stream_chat generator's chunks, joined, and the dict it returns at the end."""
    chunks = []
    try:
        while True:
            chunks.append(next(generator))
    except StopIteration as done:
        assert done.value is not None, "stream_chat ended without an answer (its log says why)"
        return "".join(chunks), done.value


def test_model_catalogue(client):
    assert {m["id"] for m in client.list_models()} == {"llama3.1:8b", "qwen3:4b"}
    assert {m["id"] for m in client.list_base_models()} == {"llama3.1:8b", "qwen3:4b"}


def test_workspace_model_create_get_update(client):
    """Not `delete_model`: it sends the id in the query string, Open WebUI 0.12.4 wants `{"id"}` as the body."""
    created = client.create_model(model_id="support-bot", name="Support Bot", base_model_id="llama3.1:8b",
                                  description="helps", params={"system": "Be kind."})
    assert created["id"] == "support-bot"
    assert client.get_model("support-bot")["name"] == "Support Bot"
    assert client.update_model("support-bot", name="Support")["name"] == "Support"


def test_chat_answers_and_stores_the_turn(client, api, admin):
    result = client.chat("hello there", "Greeting")
    assert result, "chat() answered nothing (its log says why)"
    assert result["response"] == "Echo: hello there"
    stored = _stored(api, admin, result["chat_id"])
    assert stored["title"] == "Greeting"
    contents = [m["content"] for m in stored["chat"]["history"]["messages"].values()]
    assert "hello there" in contents and "Echo: hello there" in contents


def test_chat_finds_the_chat_again_by_its_title(client):
    first = client.chat("hello there", "Same title")
    second = client.chat("hello again", "Same title")
    assert first["chat_id"] == second["chat_id"]


def test_stream_chat_streams_and_stores_the_turn(client, api, admin):
    text, result = _drain(client.stream_chat("hello there", "Streamed", **STREAM))
    assert text == result["response"] == "Echo: hello there"
    stored = _stored(api, admin, client.chat_id)
    assert "Echo: hello there" in [m["content"] for m in stored["chat"]["history"]["messages"].values()]


def test_stream_chat_with_rag_files_uploads_and_attaches_them(client, api, admin, ollama, tmp_path):
    path = tmp_path / "refunds.md"
    path.write_text(f"{FILLER}\n\nRefunds are processed within 14 days. MARKER-RAG\n\n{FILLER}")
    text, result = _drain(client.stream_chat("How long do refunds take?", "With a file", rag_files=[str(path)], **STREAM))
    assert text == result["response"]
    files = api.get("/api/v1/files/", headers=bearer(admin["token"])).json()["items"]
    assert [f["filename"] for f in files] == ["refunds.md"]
    stored = _stored(api, admin, client.chat_id)
    attached = [f["id"] for m in stored["chat"]["history"]["messages"].values() for f in m.get("files") or []]
    assert attached == [files[0]["id"]]


def test_chat_management_list_folder_tags_rename_archive(client, api, admin):
    chat_id = client.chat("hello there", "To organise")["chat_id"]
    assert [c["id"] for c in client.list_chats()] == [chat_id]
    folder_id = client.create_folder("Work")
    client.move_chat_to_folder(chat_id, folder_id)
    assert [c["id"] for c in client.get_chats_by_folder(folder_id)] == [chat_id]
    client.set_chat_tags(chat_id, ["travel"])
    assert client.rename_chat(chat_id, "Organised") is True
    assert client.archive_chat(chat_id) is True
    stored = _stored(api, admin, chat_id)
    # archiving takes a chat out of its folder, as Open WebUI's toggle_chat_archive_by_id does
    assert (stored["title"], stored["archived"], stored["folder_id"]) == ("Organised", True, None)
    tags = api.get(f"/api/v1/chats/{chat_id}/tags", headers=bearer(admin["token"])).json()
    assert [t["name"] for t in tags] == ["travel"]
    assert client.delete_all_chats() is True


def test_users_and_groups(client, user):
    assert {u["id"] for u in client.get_users()["users"]} >= {user["id"]}
    assert client.get_user_by_id(user["id"])["name"] == "Bob"
    assert client.list_groups() == []
    assert client.delete_user(user["id"]) is True


def test_knowledge_base_create_and_delete(client, api, admin):
    kb = client.create_knowledge_base("Handbook", "Policies")
    assert kb["name"] == "Handbook"
    assert client.delete_knowledge_base(kb["id"]) is True
    assert api.get("/api/v1/knowledge/", headers=bearer(admin["token"])).json()["items"] == []


def test_add_file_to_knowledge_base_uploads_it_into_a_new_base(client, api, admin, tmp_path):
    """It looks the base up with /knowledge/list, which Open WebUI 0.12.4 does not have: as there,
    the lookup finds nothing and the client creates the base, then uploads and adds the file."""
    path = tmp_path / "handbook.md"
    path.write_text("Holidays: 25 days a year.")
    assert client.add_file_to_knowledge_base(str(path), "Handbook") is True
    [kb] = api.get("/api/v1/knowledge/", headers=bearer(admin["token"])).json()["items"]
    files = api.get(f"/api/v1/knowledge/{kb['id']}/files", headers=bearer(admin["token"])).json()["items"]
    assert (kb["name"], [f["filename"] for f in files]) == ("Handbook", ["handbook.md"])
