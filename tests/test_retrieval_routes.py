"""Issue 12: /api/v1/retrieval/process/*, /delete and /reset/* over files indexed once and
collections as memberships."""

from accounts.models import User
from files.models import Chunk, File
from knowledge.models import KnowledgeBase, KnowledgeFile
from tests import factories
from tests.conftest import bearer
from tests.helpers import upload


def _account(session) -> User:
    return User.objects.get(id=session["id"])


def _query(api, token, name, text):
    return api.post("/api/v1/retrieval/query/doc", json={"collection_name": name, "query": text}, headers=bearer(token))


def test_process_file_indexes_now_and_answers_the_text(api, user):
    body = upload(api, user["token"], name="refunds.txt", data=b"Refunds take 14 days.", process="false").json()
    response = api.post("/api/v1/retrieval/process/file", json={"file_id": body["id"]}, headers=bearer(user["token"]))
    assert response.status_code == 200
    assert response.json() == {"status": True, "collection_name": f"file-{body['id']}", "filename": "refunds.txt",
                               "content": "Refunds take 14 days."}
    assert File.objects.get(id=body["id"]).status == "completed"
    assert _query(api, user["token"], f"file-{body['id']}", "refunds").json()["documents"] == [["Refunds take 14 days."]]


def test_process_file_with_content_replaces_the_text_and_joins_the_collection(api, user):
    owner = _account(user)
    file = factories.file(owner, content="old words", chunks=["old words"])
    kb = factories.collection(owner)
    response = api.post("/api/v1/retrieval/process/file",
                        json={"file_id": str(file.id), "content": "new words", "collection_name": str(kb.id)},
                        headers=bearer(user["token"]))
    assert response.status_code == 200 and response.json()["content"] == "new words"
    assert response.json()["collection_name"] == str(kb.id)
    assert KnowledgeFile.objects.filter(knowledge=kb, file=file).exists()
    assert [c.text for c in Chunk.objects.filter(file=file)] == ["new words"]


def test_process_file_that_fails_is_a_400_with_its_error(api, user):
    body = upload(api, user["token"], name="pic.png", data=b"\x89PNG\r\n", content_type="image/png", process="false").json()
    response = api.post("/api/v1/retrieval/process/file", json={"file_id": body["id"]}, headers=bearer(user["token"]))
    assert response.status_code == 400 and "not supported" in response.json()["detail"]


def test_process_text_makes_a_searchable_file_of_the_callers(api, user):
    response = api.post("/api/v1/retrieval/process/text", json={"name": "memo", "content": "The vault code is 4412."},
                        headers=bearer(user["token"]))
    assert response.status_code == 200
    name = response.json()["collection_name"]
    assert name.startswith("file-") and response.json()["content"] == "The vault code is 4412."
    file = File.objects.get(id=name[5:])
    assert file.user_id == _account(user).id and file.filename == "memo" and file.status == "completed"
    assert _query(api, user["token"], name, "vault").json()["documents"] == [["The vault code is 4412."]]


def test_process_files_batch_indexes_each_and_reports_failures(api, user, make_user):
    owner = _account(user)
    kb = factories.collection(owner)
    good = factories.file(owner, filename="good.txt", status=File.Status.FAILED)
    foreign = factories.file(_account(make_user("Eve")), filename="theirs.txt")
    body = {"collection_name": str(kb.id), "files": [
        {"id": str(good.id), "data": {"content": "batch text"}}, {"id": str(foreign.id)}, {"id": "not-a-uuid"}]}
    response = api.post("/api/v1/retrieval/process/files/batch", json=body, headers=bearer(user["token"]))
    assert response.status_code == 200
    assert response.json()["results"] == [{"file_id": str(good.id), "status": "completed", "error": None}]
    assert [e["file_id"] for e in response.json()["errors"]] == [str(foreign.id), "not-a-uuid"]
    assert list(KnowledgeFile.objects.filter(knowledge=kb).values_list("file_id", flat=True)) == [good.id]


def test_processing_into_a_collection_needs_write_access(api, user, make_user):
    kb = factories.collection(_account(user))
    eve = make_user("Eve")
    file = factories.file(_account(eve))
    hidden = api.post("/api/v1/retrieval/process/file", json={"file_id": str(file.id), "collection_name": str(kb.id)},
                      headers=bearer(eve["token"]))
    assert hidden.status_code == 404
    factories.share("knowledge", kb.id)
    read_only = api.post("/api/v1/retrieval/process/text", json={"name": "x", "content": "y", "collection_name": str(kb.id)},
                         headers=bearer(eve["token"]))
    assert read_only.status_code == 403
    not_mine = api.post("/api/v1/retrieval/process/file", json={"file_id": str(factories.file(_account(user)).id)},
                        headers=bearer(eve["token"]))
    assert not_mine.status_code == 404
    assert not KnowledgeFile.objects.filter(knowledge=kb).exists()


def test_delete_takes_a_file_out_of_a_collection_for_admins(api, admin, user):
    owner = _account(user)
    file = factories.file(owner)
    kb = factories.collection(owner, files=[file])
    body = {"collection_name": str(kb.id), "file_id": str(file.id)}
    assert api.post("/api/v1/retrieval/delete", json=body, headers=bearer(user["token"])).status_code == 401
    assert api.post("/api/v1/retrieval/delete", json=body, headers=bearer(admin["token"])).json() == {"status": True}
    assert not KnowledgeFile.objects.filter(knowledge=kb).exists() and File.objects.filter(id=file.id).exists()
    again = api.post("/api/v1/retrieval/delete", json=body, headers=bearer(admin["token"]))
    assert again.json() == {"status": False}
    unknown = api.post("/api/v1/retrieval/delete", json={**body, "file_id": "nope"}, headers=bearer(admin["token"]))
    assert unknown.status_code == 404


def test_reset_db_deletes_collections_and_reindexes_files_for_admins_only(api, admin, user):
    owner = _account(user)
    file = factories.file(owner, chunks=["some text"])
    factories.collection(owner, files=[file])
    assert api.post("/api/v1/retrieval/reset/db", headers=bearer(user["token"])).status_code == 401
    assert KnowledgeBase.objects.count() == 1
    assert api.post("/api/v1/retrieval/reset/db", headers=bearer(admin["token"])).json() is True
    assert KnowledgeBase.objects.count() == 0 and File.objects.filter(id=file.id).exists()
    # its chunks are gone and it is queued again (its bytes were never stored here: it fails, not completes)
    assert not Chunk.objects.filter(file=file).exists() and File.objects.get(id=file.id).status != "completed"


def test_reset_uploads_deletes_every_file_for_admins_only(api, admin, user):
    body = upload(api, user["token"], process="false").json()
    kb = factories.collection(_account(user), files=[File.objects.get(id=body["id"])])
    assert api.post("/api/v1/retrieval/reset/uploads", headers=bearer(user["token"])).status_code == 401
    assert File.objects.count() == 1
    assert api.post("/api/v1/retrieval/reset/uploads", headers=bearer(admin["token"])).json() is True
    assert File.objects.count() == 0 and KnowledgeBase.objects.filter(id=kb.id).exists()
