"""Issue 12: the rest of /api/v1/knowledge/* (search, search/files, files/pending, reindex, export,
directories and file/move, folder sync)."""

import io
import zipfile

from django.db import connection

from accounts.models import User
from files.models import File
from knowledge.models import KnowledgeDirectory, KnowledgeFile
from tests import factories
from tests.conftest import bearer


def _account(session) -> User:
    return User.objects.get(id=session["id"])


def _dir(api, token, kb, name, parent_id=None):
    response = api.post(f"/api/v1/knowledge/{kb.id}/dirs/create", json={"name": name, "parent_id": parent_id},
                        headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_search_filters_by_text_and_view_option_and_sorts(api, admin, user):
    me, other = _account(admin), _account(user)
    factories.collection(me, name="Zeta policies", description="travel")
    factories.collection(me, name="Alpha", description="refund rules")
    factories.collection(other, name="Bob's notes", description="misc")
    found = api.get("/api/v1/knowledge/search", params={"query": "refund"}, headers=bearer(admin["token"])).json()
    assert [k["name"] for k in found["items"]] == ["Alpha"] and found["total"] == 1
    assert found["items"][0]["write_access"] is True and found["items"][0]["file_count"] == 0
    shared = api.get("/api/v1/knowledge/search", params={"view_option": "shared"}, headers=bearer(admin["token"])).json()
    assert [k["name"] for k in shared["items"]] == ["Bob's notes"]
    by_name = api.get("/api/v1/knowledge/search", params={"view_option": "created", "order_by": "name", "direction": "asc"},
                      headers=bearer(admin["token"])).json()
    assert [k["name"] for k in by_name["items"]] == ["Alpha", "Zeta policies"]
    by_owner = api.get("/api/v1/knowledge/search", params={"query": user["email"]}, headers=bearer(admin["token"])).json()
    assert [k["name"] for k in by_owner["items"]] == ["Bob's notes"]


def test_search_files_finds_files_of_readable_collections_only(api, user, make_user):
    owner = _account(user)
    kb = factories.collection(owner, files=[factories.file(owner, filename="refund-policy.md", content="14 days")])
    factories.collection(owner, name="Other", files=[factories.file(owner, filename="travel.md", content="refund by car")])
    found = api.get("/api/v1/knowledge/search/files", params={"query": "refund"}, headers=bearer(user["token"])).json()
    assert [f["filename"] for f in found["items"]] == ["refund-policy.md"] and found["total"] == 1
    item = found["items"][0]
    assert item["collection"]["id"] == str(kb.id) and item["user"]["id"] == user["id"] and "content" not in item["data"]
    with_text = api.get("/api/v1/knowledge/search/files", params={"query": "refund", "include_content": "true"},
                        headers=bearer(user["token"])).json()
    assert {f["filename"] for f in with_text["items"]} == {"refund-policy.md", "travel.md"}
    stranger = make_user("Eve")
    assert api.get("/api/v1/knowledge/search/files", headers=bearer(stranger["token"])).json()["total"] == 0
    assert api.get("/api/v1/knowledge/search", headers=bearer(stranger["token"])).json()["total"] == 0


def test_pending_lists_files_uploaded_for_the_collection_and_not_yet_in_it(api, user):
    owner = _account(user)
    kb = factories.collection(owner)
    waiting = factories.file(owner, filename="waiting.txt", status=File.Status.PROCESSING, meta={"knowledge_id": str(kb.id)})
    factories.file(owner, filename="done.txt", meta={"knowledge_id": str(kb.id)})
    linked = factories.file(owner, filename="linked.txt", status=File.Status.PENDING, meta={"knowledge_id": str(kb.id)})
    KnowledgeFile.objects.create(knowledge=kb, file=linked)
    pending = api.get(f"/api/v1/knowledge/{kb.id}/files/pending", headers=bearer(user["token"]))
    assert pending.status_code == 200 and [f["id"] for f in pending.json()] == [str(waiting.id)]
    File.objects.filter(id=waiting.id).update(status=File.Status.COMPLETED)
    stream = api.get(f"/api/v1/knowledge/{kb.id}/files/pending", params={"stream": "true"}, headers=bearer(user["token"]))
    assert stream.headers["content-type"].startswith("text/event-stream") and stream.text == "data: []\n\n"


def test_directories_organise_files_and_the_file_list_follows_them(api, user):
    owner = _account(user)
    top_file, deep_file = factories.file(owner, filename="top.md"), factories.file(owner, filename="deep.md")
    kb = factories.collection(owner, files=[top_file, deep_file])
    docs = _dir(api, user["token"], kb, "docs")
    api_dir = _dir(api, user["token"], kb, "api", docs["id"])
    assert api_dir["parent_id"] == docs["id"] and api_dir["knowledge_id"] == str(kb.id)
    moved = api.post(f"/api/v1/knowledge/{kb.id}/file/move", json={"file_id": str(deep_file.id), "directory_id": api_dir["id"]},
                     headers=bearer(user["token"]))
    assert moved.json() == {"status": True}
    inside = api.get(f"/api/v1/knowledge/{kb.id}/files", params={"directory_id": api_dir["id"]}, headers=bearer(user["token"])).json()
    assert [f["filename"] for f in inside["items"]] == ["deep.md"] and inside["items"][0]["directory_path"] == "docs/api"
    assert [b["name"] for b in inside["breadcrumbs"]] == ["docs", "api"]
    root = api.get(f"/api/v1/knowledge/{kb.id}/files", params={"directory_id": ""}, headers=bearer(user["token"])).json()
    assert [f["filename"] for f in root["items"]] == ["top.md"] and [d["name"] for d in root["directories"]] == ["docs"]
    everything = api.get(f"/api/v1/knowledge/{kb.id}/files", headers=bearer(user["token"])).json()
    assert everything["total"] == 2 and everything["items"][0]["user"]["id"] == user["id"]


def test_directory_names_are_unique_per_level_and_moves_cannot_make_cycles(api, user):
    kb = factories.collection(_account(user))
    docs = _dir(api, user["token"], kb, "docs")
    inner = _dir(api, user["token"], kb, "inner", docs["id"])
    again = api.post(f"/api/v1/knowledge/{kb.id}/dirs/create", json={"name": "docs"}, headers=bearer(user["token"]))
    assert again.status_code == 400 and "already exist" in again.json()["detail"]
    cycle = api.post(f"/api/v1/knowledge/{kb.id}/dirs/{docs['id']}/update", json={"parent_id": inner["id"]},
                     headers=bearer(user["token"]))
    assert cycle.status_code == 400 and "circular" in cycle.json()["detail"]
    renamed = api.post(f"/api/v1/knowledge/{kb.id}/dirs/{inner['id']}/update", json={"name": "guides", "parent_id": None},
                       headers=bearer(user["token"])).json()
    assert renamed["name"] == "guides" and renamed["parent_id"] is None
    ghost = api.post(f"/api/v1/knowledge/{kb.id}/dirs/create", json={"name": "x", "parent_id": "not-a-uuid"},
                     headers=bearer(user["token"]))
    assert ghost.status_code == 404 and ghost.json() == {"detail": "Parent directory not found."}


def test_deleting_a_directory_moves_its_files_up_or_removes_them(api, user):
    owner = _account(user)
    kept, dropped = factories.file(owner, filename="kept.md"), factories.file(owner, filename="dropped.md")
    kb = factories.collection(owner, files=[kept, dropped])
    outer = _dir(api, user["token"], kb, "outer")
    inner = _dir(api, user["token"], kb, "inner", outer["id"])
    other = _dir(api, user["token"], kb, "other")
    KnowledgeFile.objects.filter(file=kept).update(directory_id=inner["id"])
    KnowledgeFile.objects.filter(file=dropped).update(directory_id=other["id"])
    up = api.delete(f"/api/v1/knowledge/{kb.id}/dirs/{outer['id']}/delete", headers=bearer(user["token"]))
    assert up.json() == {"status": True, "file_ids": []}
    assert KnowledgeFile.objects.get(file=kept).directory_id is None
    assert not KnowledgeDirectory.objects.filter(id__in=[outer["id"], inner["id"]]).exists()
    gone = api.delete(f"/api/v1/knowledge/{kb.id}/dirs/{other['id']}/delete", params={"move_files": "false"},
                      headers=bearer(user["token"]))
    assert gone.json() == {"status": True, "file_ids": [str(dropped.id)]}
    assert not File.objects.filter(id=dropped.id).exists() and File.objects.filter(id=kept.id).exists()


def test_files_join_a_directory_when_added(api, user):
    owner = _account(user)
    file = factories.file(owner)
    kb = factories.collection(owner)
    docs = _dir(api, user["token"], kb, "docs")
    added = api.post(f"/api/v1/knowledge/{kb.id}/files/batch/add", json=[{"file_id": str(file.id), "directory_id": docs["id"]}],
                     headers=bearer(user["token"]))
    assert added.status_code == 200 and KnowledgeFile.objects.get(file=file).directory_id is not None
    wrong = api.post(f"/api/v1/knowledge/{kb.id}/file/add", json={"file_id": str(file.id), "directory_id": str(kb.id)},
                     headers=bearer(user["token"]))
    assert wrong.status_code == 404 and wrong.json() == {"detail": "Target directory not found."}


def test_reset_keeps_directories_when_asked(api, user):
    kb = factories.collection(_account(user))
    _dir(api, user["token"], kb, "docs")
    api.post(f"/api/v1/knowledge/{kb.id}/reset", params={"include_directories": "false"}, headers=bearer(user["token"]))
    assert KnowledgeDirectory.objects.filter(knowledge=kb).count() == 1
    api.post(f"/api/v1/knowledge/{kb.id}/reset", headers=bearer(user["token"]))
    assert KnowledgeDirectory.objects.filter(knowledge=kb).count() == 0


def test_another_user_cannot_see_or_change_directories_of_a_collection_not_shared(api, user, make_user):
    kb = factories.collection(_account(user))
    docs = _dir(api, user["token"], kb, "docs")
    eve = bearer(make_user("Eve")["token"])
    assert api.get(f"/api/v1/knowledge/{kb.id}/files", headers=eve).status_code == 404
    assert api.get(f"/api/v1/knowledge/{kb.id}/files/pending", headers=eve).status_code == 404
    assert api.post(f"/api/v1/knowledge/{kb.id}/dirs/create", json={"name": "x"}, headers=eve).status_code == 404
    assert api.post(f"/api/v1/knowledge/{kb.id}/dirs/{docs['id']}/update", json={"name": "x"}, headers=eve).status_code == 404
    assert api.delete(f"/api/v1/knowledge/{kb.id}/dirs/{docs['id']}/delete", headers=eve).status_code == 404
    assert api.post(f"/api/v1/knowledge/{kb.id}/sync/diff", json={"manifest": []}, headers=eve).status_code == 404
    factories.share("knowledge", kb.id)  # read for everyone: still no write
    assert api.post(f"/api/v1/knowledge/{kb.id}/dirs/create", json={"name": "x"}, headers=eve).status_code == 403
    assert KnowledgeDirectory.objects.get(id=docs["id"]).name == "docs"


def test_sync_diff_tells_what_to_upload_replace_and_remove(api, user):
    owner = _account(user)
    same = factories.file(owner, filename="same.md", content="same")
    changed = factories.file(owner, filename="changed.md", content="old")
    stale = factories.file(owner, filename="stale.md", content="stale")
    kb = factories.collection(owner, files=[same, changed, stale])
    old_dir = _dir(api, user["token"], kb, "old")
    manifest = [{"filename": "same.md", "path": "", "checksum": same.file_hash, "size": 4},
                {"filename": "changed.md", "path": "", "checksum": "0" * 64, "size": 3},
                {"filename": "new.md", "path": "docs/api", "checksum": "1" * 64, "size": 3}]
    diff = api.post(f"/api/v1/knowledge/{kb.id}/sync/diff", json={"manifest": manifest}, headers=bearer(user["token"])).json()
    assert diff["added"] == [{"filename": "new.md", "path": "docs/api"}]
    assert diff["modified"] == [{"filename": "changed.md", "path": "", "stale_file_id": str(changed.id)}]
    assert diff["deleted"] == [{"file_id": str(stale.id), "filename": "stale.md"}]
    assert diff["mkdir"] == ["docs", "docs/api"] and diff["rmdir"] == [old_dir["id"]] and diff["unmodified_count"] == 1
    cleaned = api.post(f"/api/v1/knowledge/{kb.id}/sync/cleanup", json={"file_ids": [str(stale.id)], "dir_ids": diff["rmdir"]},
                       headers=bearer(user["token"]))
    assert cleaned.json() == {"status": True}
    assert not File.objects.filter(id=stale.id).exists() and not KnowledgeDirectory.objects.filter(knowledge=kb).exists()


def test_export_zips_the_texts_for_admins_only(api, admin, user):
    owner = _account(admin)
    kb = factories.collection(owner, name="Hand/book", files=[factories.file(owner, filename="a.md", content="alpha"),
                                                             factories.file(owner, filename="b.txt", content="beta")])
    response = api.get(f"/api/v1/knowledge/{kb.id}/export", headers=bearer(admin["token"]))
    assert response.status_code == 200 and "Hand_book.zip" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {name: archive.read(name).decode() for name in archive.namelist()} == {"a.md.txt": "alpha", "b.txt": "beta"}
    factories.share("knowledge", kb.id)
    assert api.get(f"/api/v1/knowledge/{kb.id}/export", headers=bearer(user["token"])).status_code == 401


def test_reindex_queues_every_member_file_for_admins_only(api, admin, user):
    owner = _account(user)
    file = factories.file(owner, filename="f.txt", status=File.Status.FAILED)
    factories.collection(owner, files=[file])
    assert api.post("/api/v1/knowledge/reindex", headers=bearer(user["token"])).status_code == 401
    assert api.post("/api/v1/knowledge/metadata/reindex", headers=bearer(user["token"])).status_code == 401
    assert api.post("/api/v1/knowledge/reindex", headers=bearer(admin["token"])).json() is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = %s", [f"file:{file.id}"])
        assert cursor.fetchone()[0] >= 1
    assert api.post("/api/v1/knowledge/metadata/reindex", headers=bearer(admin["token"])).json() == {"total": 1, "success": 1}


def test_external_sources_are_answered_as_absent_not_as_unknown_routes(api, admin, user):
    headers = bearer(admin["token"])
    assert api.get("/api/v1/knowledge/external/connections", headers=headers).json() == {"items": [], "total": 0}
    for method, path in (("POST", "external/connections"), ("POST", "external/knowledge/create"),
                         ("POST", "external/source/create"), ("POST", "external/source/test")):
        response = api.request(method, f"/api/v1/knowledge/{path}", json={}, headers=headers)
        assert response.status_code == 400 and "not supported" in response.json()["detail"], path
    for method, path in (("GET", "external/connections/c1"), ("PATCH", "external/connections/c1"),
                         ("DELETE", "external/connections/c1"), ("POST", "external/connections/c1/test"),
                         ("POST", "external/connections/c1/retrieve-test"), ("PATCH", "external/source/s1")):
        response = api.request(method, f"/api/v1/knowledge/{path}", json={}, headers=headers)
        assert response.status_code == 404 and response.json()["detail"] != "Not Found", path
    assert api.get("/api/v1/knowledge/external/connections", headers=bearer(user["token"])).status_code == 401
    factories.collection(_account(admin))
    assert api.get("/api/v1/knowledge/search", params={"source": "external"}, headers=headers).json()["total"] == 0
    assert api.get("/api/v1/knowledge/search", params={"source": "local"}, headers=headers).json()["total"] == 1
