"""No changelist (nor the dashboard) makes a query per row: the count with many rows equals the
count with a few."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import api_keys, grants
from accounts.models import Group, GroupMember, ModelPrice, UsageLimit, UsageRecord, User
from config.runtime.models import RuntimeSetting
from files.models import File
from knowledge.models import KnowledgeBase, KnowledgeFile
from models_registry.models import Connection, Model
from tests import factories

PAGES = [
    "/admin/", "/admin/accounts/user/", "/admin/accounts/apikey/", "/admin/accounts/accessgrant/",
    "/admin/models_registry/connection/", "/admin/models_registry/model/", "/admin/files/file/",
    "/admin/knowledge/knowledgebase/", "/admin/config/runtimesetting/", "/admin/chat/prompt/",
    "/admin/accounts/group/", "/admin/accounts/group/?q=u1",
    "/admin/accounts/usagelimit/", "/admin/accounts/modelprice/", "/admin/accounts/usagerecord/",
]


def _rows(admin, n, start):
    for i in range(start, start + n):
        user = User.objects.create_user(f"u{i}@example.com", "pw", name=f"U{i}", role="pending" if i % 2 else "user")
        api_keys.create(user=user, name=f"key {i}")
        Connection.objects.create(kind="ollama", base_url=f"http://127.0.0.1:{1000 + i}", last_error="refused" if i % 2 else "",
                                  last_checked_at=timezone.now(), models_found=["a", "b"])
        Model.objects.create(id=f"preset-{i}", base_model_id="llama3", name=f"Preset {i}", user=user)
        grants.add("model", f"preset-{i}", principal_id="*", permission="read")
        file = File.objects.create(user=user, filename=f"f{i}.txt", storage_name=f"f{i}", file_hash="0" * 64,
                                   status="failed" if i % 3 == 0 else "completed", error="boom" if i % 3 == 0 else "")
        kb = KnowledgeBase.objects.create(user=user, name=f"KB {i}")
        KnowledgeFile.objects.create(knowledge=kb, file=file)
        RuntimeSetting.objects.create(key=f"SETTING_{i}", value=i)
        factories.prompt(user, command=f"/p{i}")
        group = Group.objects.create(name=f"Group {i}", permissions={"features": {"api_keys": True}})
        GroupMember.objects.bulk_create([GroupMember(group=group, user=user), GroupMember(group=group, user=admin)])
        key = user.api_keys.get()
        UsageRecord.objects.create(created_at=timezone.now(), user_id=user.id, api_key_id=key.id, model=f"preset-{i}",
                                   endpoint="chat", prompt_tokens=5, completion_tokens=5, total_tokens=10, status="ok")
        UsageLimit.objects.create(scope_type="user", scope_id=str(user.id), token_budget=1000)
        UsageLimit.objects.create(scope_type="key", scope_id=str(key.id), requests_per_minute=10)
        ModelPrice.objects.create(model=f"preset-{i}", input_per_million=1, output_per_million=2)


def _counts(client):
    counts = {}
    for url in PAGES:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        counts[url] = len(captured.captured_queries)
    return counts


def test_changelists_query_count_does_not_grow_with_rows():
    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    client = Client()
    client.force_login(admin)
    _rows(admin, 3, 0)
    few = _counts(client)
    _rows(admin, 12, 3)
    many = _counts(client)
    assert many == few
