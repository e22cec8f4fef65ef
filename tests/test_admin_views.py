"""Admin views beyond the changelists: crafted posts fail validation instead of crashing, the
files list finds what needs re-embedding, the download link serves the bytes."""

import re

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User


@pytest.mark.parametrize("url", ["/admin/accounts/apikey/add/", "/admin/files/file/add/", "/admin/knowledge/knowledgebase/add/"])
def test_a_non_uuid_user_id_is_a_form_error(url):
    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    client = Client()
    client.force_login(admin)
    response = client.post(url, {"user": "not-a-uuid", "name": "x"})
    assert response.status_code == 200  # the form again, with its errors
    assert b"errornote" in response.content or b"errorlist" in response.content


def test_files_embedded_with_another_model_can_be_listed():
    from config.runtime.models import RuntimeSetting
    from files.models import Chunk, File

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    for key, value in {"RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "embed-new"}.items():
        RuntimeSetting.objects.create(key=key, value=value)
    for name, model in (("old-model.txt", "embed-old"), ("no-vectors.txt", ""), ("current.txt", "embed-new")):
        file = File.objects.create(user=admin, filename=name, storage_name=name, file_hash="0" * 64, status="completed")
        Chunk.objects.create(file=file, position=0, text="x", embedding_model=model)
    client = Client()
    client.force_login(admin)
    stale = client.get("/admin/files/file/?index=stale").content.decode()
    assert "old-model.txt" in stale and "no-vectors.txt" in stale and "current.txt" not in stale
    current = client.get("/admin/files/file/?index=current").content.decode()
    assert "current.txt" in current and "old-model.txt" not in current


def test_admin_download_serves_the_stored_bytes():
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from files.models import File

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    name = default_storage.save("admin-download-test.txt", ContentFile(b"the bytes"))
    file = File.objects.create(user=admin, filename="report.txt", storage_name=name, file_hash="0" * 64,
                               content_type="text/plain", status="completed")
    client = Client()
    assert client.get(f"/admin/files/file/{file.id}/download/").status_code == 302  # to the login page
    client.force_login(admin)
    response = client.get(f"/admin/files/file/{file.id}/download/")
    assert b"".join(response.streaming_content) == b"the bytes"
    assert 'filename="report.txt"' in response["Content-Disposition"]
    default_storage.delete(name)


def test_a_preset_gets_knowledge_and_sharing_from_its_admin_form():
    from accounts.models import AccessGrant
    from knowledge.models import KnowledgeBase
    from models_registry.models import Model

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    reader = User.objects.create_user("reader@example.com", "pw", name="Reader", role="user")
    handbook = KnowledgeBase.objects.create(user=admin, name="Handbook")
    preset = Model.objects.create(id="helpdesk", base_model_id="llama3.1:8b", name="Helpdesk", user=admin,
                                  meta={"description": "kept", "knowledge": [{"type": "text", "content": "kept too"}]})
    client = Client()
    client.force_login(admin)
    response = client.post(f"/admin/models_registry/model/{preset.pk}/change/", {
        "id": "helpdesk", "user": str(admin.id), "base_model_id": "llama3.1:8b", "name": "Helpdesk", "params": "{}",
        "meta": '{"description": "kept", "knowledge": [{"type": "text", "content": "kept too"}]}', "is_active": "on",
        "version_id": str(preset.version_id), "knowledge": [str(handbook.id)], "everyone": "", "readers": [str(reader.id)],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    preset.refresh_from_db()
    assert preset.meta["description"] == "kept"
    assert preset.meta["knowledge"] == [{"type": "text", "content": "kept too"},
                                        {"type": "collection", "id": str(handbook.id), "name": "Handbook"}]
    assert list(AccessGrant.objects.filter(resource_type="model", resource_id="helpdesk")
                .values_list("principal_id", "permission")) == [(str(reader.id), "read")]
    page = client.get(f"/admin/models_registry/model/{preset.pk}/change/").content.decode()
    assert f'<option value="{handbook.id}" selected>' in page  # the form shows what is attached


def test_retrieval_settings_page_saves_validates_and_reindexes():
    from procrastinate.contrib.django.models import ProcrastinateJob

    from config import runtime
    from files.models import Chunk, File

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    file = File.objects.create(user=admin, filename="old.txt", storage_name="old.txt", file_hash="0" * 64, status="completed")
    Chunk.objects.create(file=file, position=0, text="x", embedding_model="")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/retrieval/")
    assert page.status_code == 200 and page.context["stale_files"] == 0  # keyword-only: nothing is stale
    form = {**page.context["form"].initial, "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "nomic-embed-text",
            "RAG_TOP_K": 5, "ALLOWED_FILE_EXTENSIONS": "md, .PDF", "FILE_MAX_SIZE": ""}
    form = {k: v for k, v in form.items() if v is not None and v is not False}
    response = client.post("/admin/retrieval/", form)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    config = runtime.snapshot()
    assert (config["RAG_EMBEDDING_MODEL"], config["RAG_TOP_K"], config["ALLOWED_FILE_EXTENSIONS"]) == \
        ("nomic-embed-text", 5, ["md", "pdf"])
    assert config["ENABLE_RAG_HYBRID_SEARCH"] is True  # a checked box stays checked

    page = client.get("/admin/retrieval/")
    assert page.context["stale_files"] == 1 and b"Re-index them now" in page.content
    bad = client.post("/admin/retrieval/", {**form, "CHUNK_SIZE": 10, "RAG_TOP_K": 7})
    assert bad.status_code == 200 and "CHUNK_SIZE" in bad.context["form"].errors
    assert runtime.snapshot()["RAG_TOP_K"] == 5  # nothing of a refused form saved
    assert client.post("/admin/retrieval/", {"reindex": "1"}).status_code == 302
    # queued again; a worker of this test process's session (when another test started one) may
    # already be on it, and fails it at once (this file has no stored bytes)
    assert File.objects.get(id=file.id).status in ("pending", "processing", "failed")
    assert ProcrastinateJob.objects.filter(task_name="files.tasks.process_file", args__file_id=str(file.id)).exists()
    assert b"nomic-embed-text" in client.get("/admin/").content  # the dashboard names the engine
    with connection.cursor() as cursor:  # no worker runs for this in-process test: drop the queued job
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'files.tasks.process_file' AND status = 'todo'")


def test_a_group_gets_members_and_permissions_from_its_admin_form():
    from accounts.models import Group

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    member = User.objects.create_user("member@example.com", "pw", name="Member", role="user")
    client = Client()
    client.force_login(admin)
    response = client.post("/admin/accounts/group/add/", {
        "name": "Editors", "description": "", "granted": ["workspace.knowledge", "features.api_keys"],
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0", "memberships-0-user": str(member.id),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    group = Group.objects.get()
    assert group.permissions == {"workspace": {"knowledge": True}, "features": {"api_keys": True}}
    assert list(group.members.all()) == [member] and group.user == admin
    page = client.get(f"/admin/accounts/user/{member.id}/change/").content.decode()
    assert "workspace.knowledge" in page and "Editors" in page  # its permissions and groups, on its page


def test_a_collection_shared_with_writers_and_groups_in_the_admin_keeps_them():
    from accounts.models import AccessGrant, Group
    from knowledge.models import KnowledgeBase

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    writer = User.objects.create_user("writer@example.com", "pw", name="Writer", role="user")
    team = Group.objects.create(name="Team")
    kb = KnowledgeBase.objects.create(user=admin, name="Handbook")
    client = Client()
    client.force_login(admin)
    response = client.post(f"/admin/knowledge/knowledgebase/{kb.pk}/change/", {
        "user": str(admin.id), "name": "Handbook", "description": "", "everyone": "", "writers": [str(writer.id)],
        "reader_groups": [str(team.id)], "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert set(AccessGrant.objects.values_list("principal_type", "principal_id", "permission")) == {
        ("user", str(writer.id), "write"), ("group", str(team.id), "read")}


def test_default_permissions_page_saves_the_tree():
    from accounts import access
    from config import runtime

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    user = User.objects.create_user("user@example.com", "pw", name="User", role="user")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/permissions/").content.decode()
    assert 'name="features" value="api_keys" id="id_features_0" checked' in page  # on by default
    response = client.post("/admin/permissions/", {"workspace": ["knowledge"], "features": ["folders"]})
    assert response.status_code == 302
    saved = runtime.get("USER_PERMISSIONS")
    assert saved["workspace"]["knowledge"] is True and saved["features"]["api_keys"] is False
    assert access.can_create(user, access.KNOWLEDGE) and not access.has_permission(user, "features.api_keys")


def test_the_files_list_and_page_show_how_far_a_processing_file_is():
    from django.utils import timezone

    from files.models import File

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    file = File.objects.create(user=admin, filename="big.txt", storage_name="big.txt", file_hash="0" * 64, status="processing",
                               progress_done=250, progress_total=1000,
                               processing_started_at=timezone.now() - timezone.timedelta(seconds=10))
    with connection.cursor() as cursor:  # a job holds it (in a queue no worker serves): a session worker must not requeue it
        cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, status, args, queueing_lock) "
                       "VALUES ('tests', 'tests.hold', 'todo', '{}', %s)", [f"file:{file.id}"])
    client = Client()
    client.force_login(admin)
    try:
        for url in ("/admin/files/file/", f"/admin/files/file/{file.id}/change/"):
            page = client.get(url).content.decode()
            left = re.search(r"250 of 1,000 chunks \(25%\), about (\d+) s left", page)
            assert left and 30 <= int(left[1]) < 120, url  # 3 × the time since it started (10 s and the test's own)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'tests'")


def test_a_prompt_made_or_changed_in_the_admin_is_versioned_and_shared():
    from accounts.models import AccessGrant
    from chat.prompt_models import Prompt, PromptHistory

    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    reader = User.objects.create_user("reader@example.com", "pw", name="Reader", role="user")
    client = Client()
    client.force_login(admin)
    form = {"user": str(admin.id), "command": "/brief", "name": "Brief", "content": "Be brief.", "tags": '["style"]',
            "is_active": "on", "everyone": "", "readers": [str(reader.id)],
            "history-TOTAL_FORMS": "0", "history-INITIAL_FORMS": "0", "history-MIN_NUM_FORMS": "0", "history-MAX_NUM_FORMS": "0"}
    response = client.post("/admin/chat/prompt/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    prompt = Prompt.objects.get()
    first = PromptHistory.objects.get()
    assert prompt.version_id == first.id and first.snapshot["content"] == "Be brief."
    assert list(AccessGrant.objects.filter(resource_type="prompt").values_list("principal_id", "permission")) == [(str(reader.id), "read")]
    change = {**form, "content": "Be briefer.", "history-TOTAL_FORMS": "1", "history-INITIAL_FORMS": "1",
              "history-0-id": str(first.id), "history-0-prompt": str(prompt.id)}
    response = client.post(f"/admin/chat/prompt/{prompt.pk}/change/", change)
    assert response.status_code == 302, response.content.decode()[:2000]
    prompt.refresh_from_db()
    assert PromptHistory.objects.count() == 2 and prompt.version.snapshot["content"] == "Be briefer."
    assert prompt.version.parent_id == first.id
    page = client.get(f"/admin/chat/prompt/{prompt.pk}/change/").content.decode()
    assert "Be brief." in page and "Changed in the admin" in page  # the versions, read-only
