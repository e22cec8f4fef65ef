"""`openwebui-sdk` (PyPI) against the live server: sign-in and session, the model picker, streamed
and whole chat completions, workspace models (presets), and the create-then-save chat flow the web
UI uses (chats/new, a title from the task model, the chat updated with both messages). Its tools and
functions calls are Open WebUI plugins, out of scope (DECISIONS.md); its `delete_model` sends DELETE,
which Open WebUI 0.12.4 does not serve (it deletes with POST)."""

import uuid

from openwebui_sdk import OpenWebUIClient

from tests.conftest import PASSWORD, bearer, connect

HELLO = [{"role": "user", "content": "hello there"}]


def sdk(gateway, token=None) -> OpenWebUIClient:
    return OpenWebUIClient(gateway.url, token=token, timeout=30)


def test_signin_then_session_name_the_user(gateway, admin):
    client = sdk(gateway)
    signed_in = client.signin(admin["email"], PASSWORD)
    session = client.session()
    assert signed_in.token and signed_in.user_id == admin["id"] == session.user_id
    assert session.role == "admin"


def test_model_picker_lists_and_finds_models(gateway, admin, ollama):
    connect(ollama)
    client = sdk(gateway, admin["token"])
    assert {m.id for m in client.list_models()} == {"llama3.1:8b", "qwen3:4b"}
    assert client.get_model("qwen3:4b").name


def test_chat_streamed_and_whole(gateway, admin, ollama):
    connect(ollama)
    client = sdk(gateway, admin["token"])
    assert "".join(client.chat_stream(model="llama3.1:8b", messages=HELLO)) == "Echo: hello there"
    assert client.chat_once(model="llama3.1:8b", messages=HELLO) == "Echo: hello there"
    assert client.run_chat(model="llama3.1:8b", messages=HELLO).answer == "Echo: hello there"


def test_workspace_model_create_read_update(gateway, admin, ollama):
    connect(ollama)
    client = sdk(gateway, admin["token"])
    created = client.create_model(id="support-bot", name="Support Bot", base_model_id="llama3.1:8b",
                                  system="Be kind.", description="helps")
    assert created.id == "support-bot"
    updated = client.update_model("support-bot", name="Support", system="Be brief.")
    assert (updated.name, updated.system) == ("Support", "Be brief.")
    assert client.get_model_config("support-bot").description == "helps"


def test_create_and_save_a_chat_with_a_generated_title(gateway, api, admin, ollama):
    connect(ollama)
    ollama.reply = '{"title": "Greetings"}'
    client = sdk(gateway, admin["token"])
    chat_id = client.create_chat(model="llama3.1:8b")
    title = client.save_chat(chat_id=chat_id, message_id=str(uuid.uuid4()), model="llama3.1:8b",
                             prompt_text="hello there", answer="Hi!")
    assert title == "Greetings"
    stored = api.get(f"/api/v1/chats/{chat_id}", headers=bearer(admin["token"])).json()
    assert stored["title"] == "Greetings"
    assert [m["content"] for m in stored["chat"]["messages"]] == ["hello there", "Hi!"]
