"""List endpoints make a bounded number of queries, whatever the number of rows (no N+1).
Run in-process (Django's test client) so the queries can be counted."""

from accounts import api_keys
from accounts.models import AccessGrant, User
from models_registry.models import Model


def _admin_with_key():
    admin = User.objects.create_user("admin@example.com", "pw", name="Admin", role="admin")
    return admin, {"HTTP_AUTHORIZATION": f"Bearer {api_keys.create(user=admin, name='t')[1]}"}


def test_user_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(25):
        User.objects.create_user(f"u{i}@example.com", "pw", name=f"U{i}", role="user")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/users/", **headers)
    assert response.json()["total"] == 26


def test_preset_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(25):
        Model.objects.create(id=f"p{i}", base_model_id="base", name=f"P{i}", user=admin)
        AccessGrant.objects.create(resource_type="model", resource_id=f"p{i}", principal_id="*", permission="read")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/models/list", **headers)
    assert response.json()["total"] == 25
    assert all(item["access_grants"] for item in response.json()["items"])


def test_api_key_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(20):
        api_keys.create(user=admin, name=f"k{i}")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/auths/api_keys", **headers)
    assert len(response.json()) == 21


def test_file_and_collection_views_never_read_text_they_do_not_return(client):
    """A file's extracted text can be megabytes: only the views that return it may select it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from files.models import File
    from knowledge.models import KnowledgeBase

    admin, headers = _admin_with_key()
    files = [File.objects.create(user=admin, filename=f"f{i}.txt", storage_name=f"f{i}", file_hash="0" * 64,
                                 status="completed", hash=f"{i}" * 64, content=f"text {i} " * 1000) for i in range(3)]
    kb = KnowledgeBase.objects.create(user=admin, name="KB")
    json = {"content_type": "application/json"}
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/files/?content=false", **headers).status_code == 200
        assert client.get(f"/api/v1/files/{files[0].id}/process/status", **headers).status_code == 200
        for file in files:
            assert client.post(f"/api/v1/knowledge/{kb.id}/file/add", {"file_id": str(file.id)}, **json, **headers).status_code == 200
        assert client.post(f"/api/v1/knowledge/{kb.id}/update", {"name": "KB", "description": "x"}, **json, **headers).status_code == 200
        assert client.get(f"/api/v1/knowledge/{kb.id}/files", **headers).json()["total"] == 3
        assert client.get("/api/v1/knowledge/", **headers).status_code == 200
        assert client.post("/api/v1/retrieval/query/doc", {"collection_name": f"file-{files[0].id}", "query": "text"},
                           **json, **headers).status_code == 200
        assert client.post(f"/api/v1/knowledge/{kb.id}/file/remove?delete_file=true", {"file_id": str(files[2].id)},
                           **json, **headers).status_code == 200
    reads = [q["sql"] for q in captured.captured_queries if '"files_file"."content"' in q["sql"]]
    assert reads == []
