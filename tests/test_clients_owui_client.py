"""`owui-client` (PyPI), the async client generated from Open WebUI's routers, against the live server:
each test drives one family the way the client does, and the client parses every answer into its
Pydantic models of Open WebUI 0.12.4's shapes. tests/support/CLIENT_CALLS.md lists its endpoints."""

import asyncio
import uuid

from owui_client import OpenWebUI
from owui_client.models.auths import AddUserForm
from owui_client.models.chats import ChatForm
from owui_client.models.folders import FolderForm
from owui_client.models.groups import GroupForm, UserIdsForm
from owui_client.models.knowledge import KnowledgeForm
from owui_client.models.models import ModelForm
from owui_client.models.prompts import PromptForm
from owui_client.models.retrieval import QueryDocForm

from tests.conftest import connect
from tests.helpers import wait_done

HELLO = [{"role": "user", "content": "hello there"}]


def client(gateway, token) -> OpenWebUI:
    return OpenWebUI(api_url=f"{gateway.url}/api", api_key=token)


def run(coroutine):
    return asyncio.run(coroutine)


def test_root_routes_version_config_models_and_chat(gateway, admin, ollama):
    connect(ollama)

    async def go():
        owui = client(gateway, admin["token"])
        version = await owui.root.get_version()
        config = await owui.root.get_config()
        models = await owui.root.get_models()
        reply = await owui.root.chat_completions({"model": "llama3.1:8b", "messages": HELLO})
        return version, config, models, reply

    version, config, models, reply = run(go())
    assert version["version"]
    assert config["status"] is True
    assert {m["id"] for m in models["data"]} == {"llama3.1:8b", "qwen3:4b"}
    assert reply["choices"][0]["message"]["content"] == "Echo: hello there"


def test_root_embeddings(gateway, admin, ollama):
    connect(ollama)
    answer = run(client(gateway, admin["token"]).root.embeddings({"model": "llama3.1:8b", "input": ["one", "two"]}))
    assert [e["index"] for e in answer["data"]] == [0, 1]


def test_auths_session_add_user_and_api_key(gateway, admin):
    async def go():
        owui = client(gateway, admin["token"])
        me = await owui.auths.get_session_user()
        added = await owui.auths.add_user(AddUserForm(name="Carol", email=f"carol-{uuid.uuid4().hex[:6]}@example.com",
                                                      password="a-long-password-1", role="user"))
        details = await owui.auths.get_admin_details()
        key = await owui.auths.generate_api_key()
        return me, added, details, key

    me, added, details, key = run(go())
    assert me.id == admin["id"] and me.role == "admin"
    assert added.role == "user" and added.token
    assert details.email
    assert key.api_key.startswith("sk-")


def test_users_list_get_update_and_self_service(gateway, admin, user):
    async def go():
        owui = client(gateway, admin["token"])
        listed = await owui.users.get_users()
        found = await owui.users.get_user_by_id(user["id"])
        searched = await owui.users.search_users(query="Bob")
        settings = await owui.users.get_user_settings()
        permissions = await owui.users.get_user_permissions()
        return listed, found, searched, settings, permissions

    listed, found, searched, settings, permissions = run(go())
    assert {u.id for u in listed.users} >= {admin["id"], user["id"]}
    assert found.name == "Bob"
    assert [u.id for u in searched.users] == [user["id"]]
    assert isinstance(permissions, dict)


def test_groups_create_add_member_and_list(gateway, admin, user):
    async def go():
        owui = client(gateway, admin["token"])
        group = await owui.groups.create_new_group(GroupForm(name="Support", description="First line"))
        await owui.groups.add_user_to_group(group.id, UserIdsForm(user_ids=[user["id"]]))
        members = await owui.groups.get_users_in_group(group.id)
        groups = await owui.groups.get_groups()
        user_groups = await owui.users.get_user_groups_by_id(user["id"])
        return group, members, groups, user_groups

    group, members, groups, user_groups = run(go())
    assert [m.id for m in members] == [user["id"]]
    assert [g.id for g in groups] == [group.id]
    assert [g.id for g in user_groups] == [group.id]


def test_models_presets_create_get_toggle_delete(gateway, admin, ollama):
    connect(ollama)

    async def go():
        owui = client(gateway, admin["token"])
        created = await owui.models.create_new_model(ModelForm(
            id="support-bot", base_model_id="llama3.1:8b", name="Support Bot",
            meta={"description": "helps"}, params={"system": "Be kind."}))
        fetched = await owui.models.get_model_by_id("support-bot")
        listed = await owui.models.get_models()
        base = await owui.models.get_base_models()
        toggled = await owui.models.toggle_model_by_id("support-bot")
        deleted = await owui.models.delete_model_by_id("support-bot")
        return created, fetched, listed, base, toggled, deleted

    created, fetched, listed, base, toggled, deleted = run(go())
    assert created.id == fetched.id == "support-bot"
    assert [m.id for m in listed.items] == ["support-bot"]
    assert base == []  # /models/base lists base models' own rows (none here), not the upstreams' models
    assert toggled.is_active is False
    assert deleted is True


def test_files_upload_get_search_content_delete(gateway, api, admin):
    async def go():
        owui = client(gateway, admin["token"])
        uploaded = await owui.files.upload_file(("notes.txt", b"hello from the client", "text/plain"))
        assert wait_done(api, admin["token"], uploaded.id) == "completed"
        fetched = await owui.files.get_file_by_id(uploaded.id)
        listed = await owui.files.list_files()
        found = await owui.files.search_files(filename="notes*")
        content = await owui.files.get_file_content_by_id(uploaded.id)
        deleted = await owui.files.delete_file_by_id(uploaded.id)
        return uploaded, fetched, listed, found, content, deleted

    uploaded, fetched, listed, found, content, deleted = run(go())
    assert fetched.filename == "notes.txt"
    assert [f.id for f in listed] == [uploaded.id] == [f.id for f in found]
    assert content == b"hello from the client"
    assert deleted


def test_knowledge_create_add_file_query_delete(gateway, api, admin):
    async def go():
        owui = client(gateway, admin["token"])
        uploaded = await owui.files.upload_file(("refunds.txt", b"Refunds take 14 days. MARKER-KB", "text/plain"))
        assert wait_done(api, admin["token"], uploaded.id) == "completed"
        kb = await owui.knowledge.create_new_knowledge(KnowledgeForm(name="Handbook", description="Policies"))
        with_file = await owui.knowledge.add_file_to_knowledge(kb.id, file_id=uploaded.id)
        listed = await owui.knowledge.get_knowledge()
        hits = await owui.retrieval.query_doc(QueryDocForm(collection_name=f"file-{uploaded.id}", query="refunds", k=1))
        deleted = await owui.knowledge.delete_knowledge_by_id(kb.id)
        return kb, with_file, listed, hits, deleted

    kb, with_file, listed, hits, deleted = run(go())
    assert [f.id for f in with_file.files] != []
    assert [k.id for k in listed.items] == [kb.id]
    assert "MARKER-KB" in hits["documents"][0][0]
    assert deleted is True


def test_chats_new_list_get_update_search_pin_archive_delete(gateway, admin):
    async def go():
        owui = client(gateway, admin["token"])
        chat = await owui.chats.create_new(ChatForm(chat={"title": "Trip to Lisbon", "messages": [], "history": {}}))
        await owui.chats.update(chat.id, ChatForm(chat={"title": "Trip to Porto"}))
        fetched = await owui.chats.get(chat.id)
        listed = await owui.chats.get_list()
        found = await owui.chats.search(text="Porto")
        pinned = await owui.chats.pin(chat.id)
        archived = await owui.chats.archive(chat.id)
        deleted = await owui.chats.delete(chat.id)
        return chat, fetched, listed, found, pinned, archived, deleted

    chat, fetched, listed, found, pinned, archived, deleted = run(go())
    assert fetched.title == "Trip to Porto"
    assert [c.id for c in listed] == [chat.id] == [c.id for c in found]
    assert pinned.pinned is True and archived.archived is True
    assert deleted is True


def test_folders_create_list_delete(gateway, admin):
    async def go():
        owui = client(gateway, admin["token"])
        folder = await owui.folders.create_folder(FolderForm(name="Work"))
        listed = await owui.folders.get_folders()
        deleted = await owui.folders.delete_folder_by_id(folder.id)
        return folder, listed, deleted

    folder, listed, deleted = run(go())
    assert [f.id for f in listed] == [folder.id]
    assert deleted is True


def test_prompts_create_get_update_list_delete(gateway, admin):
    async def go():
        owui = client(gateway, admin["token"])
        prompt = await owui.prompts.create_new_prompt(PromptForm(command="summary", name="Summary",
                                                                 content="Summarise: {{text}}"))
        fetched = await owui.prompts.get_prompt_by_id(prompt.id)
        await owui.prompts.update_prompt_by_id(prompt.id, PromptForm(command="summary", name="Summary",
                                                                     content="Summarise briefly: {{text}}"))
        listed = await owui.prompts.get_prompts()
        deleted = await owui.prompts.delete_prompt_by_id(prompt.id)
        return prompt, fetched, listed, deleted

    prompt, fetched, listed, deleted = run(go())
    assert fetched.command == "summary"
    assert [p.content for p in listed] == ["Summarise briefly: {{text}}"]
    assert deleted is True


def test_tasks_config_and_title(gateway, admin, ollama):
    connect(ollama)
    ollama.reply = '{"title": "Lisbon trip"}'

    async def go():
        owui = client(gateway, admin["token"])
        config = await owui.tasks.get_config()
        title = await owui.tasks.generate_title({"model": "llama3.1:8b", "messages": HELLO})
        return config, title

    config, title = run(go())
    assert "TASK_MODEL" in config
    assert "Lisbon trip" in title["choices"][0]["message"]["content"]


def test_ollama_and_openai_passthroughs(gateway, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)

    async def go():
        owui = client(gateway, admin["token"])
        status = await owui.ollama.get_status()
        tags = await owui.ollama.get_models()
        version = await owui.ollama.get_version()
        openai_models = await owui.openai.get_models()
        reply = await owui.openai.chat_completions({"model": "gpt-4o", "messages": HELLO})
        return status, tags, version, openai_models, reply

    status, tags, version, openai_models, reply = run(go())
    assert status == {"status": True}
    assert {m["name"] for m in tags["models"]} == {"llama3.1:8b", "qwen3:4b"}
    assert version["version"]
    assert {m["id"] for m in openai_models["data"]} == {"gpt-4o-mini", "gpt-4o"}
    assert reply["choices"][0]["message"]["content"] == "Echo: hello there"
