from knowledge.models import KnowledgeBase, KnowledgeFile
from tests.conftest import bearer
from tests.helpers import create_knowledge as create
from tests.helpers import upload, wait_done


def test_admin_creates_a_private_collection_and_adds_files(api, admin, user):
    kb = create(api, admin["token"]).json()
    assert kb["files"] is None and kb["access_grants"] == []
    file = upload(api, admin["token"], data=b"refunds within 14 days").json()
    added = api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}, headers=bearer(admin["token"])).json()
    assert [f["id"] for f in added["files"]] == [file["id"]]  # allowed while processing (DECISIONS #7)
    listing = api.get("/api/v1/knowledge/", headers=bearer(admin["token"])).json()
    assert listing["total"] == 1 and listing["items"][0]["file_count"] == 1 and listing["items"][0]["write_access"] is True
    assert api.get(f"/api/v1/knowledge/{kb['id']}", headers=bearer(user["token"])).status_code == 404
    assert api.get("/api/v1/knowledge/", headers=bearer(user["token"])).json()["total"] == 0


def test_users_need_permission_to_create(api, user):
    assert create(api, user["token"]).status_code == 401
    assert not KnowledgeBase.objects.exists()


def test_read_grant_allows_reading_but_not_writing(api, admin, user):
    kb = create(api, admin["token"], access_grants=[{"principal_type": "user", "principal_id": user["id"], "permission": "read"}]).json()
    assert api.get(f"/api/v1/knowledge/{kb['id']}", headers=bearer(user["token"])).json()["write_access"] is False
    response = api.post(f"/api/v1/knowledge/{kb['id']}/update", json={"name": "x", "description": ""}, headers=bearer(user["token"]))
    assert response.status_code == 403
    assert api.delete(f"/api/v1/knowledge/{kb['id']}/delete", headers=bearer(user["token"])).status_code == 403
    assert KnowledgeBase.objects.get().name == "Handbook"


def test_cannot_add_someone_elses_file(api, admin, user):
    kb = create(api, admin["token"], access_grants=[{"principal_type": "user", "principal_id": user["id"], "permission": "write"},
                                                    {"principal_type": "user", "principal_id": user["id"], "permission": "read"}]).json()
    foreign = upload(api, admin["token"]).json()
    response = api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": foreign["id"]}, headers=bearer(user["token"]))
    assert response.status_code == 400
    assert response.json() == {"detail": f"File not found: {foreign['id']}"}


def test_duplicate_content_is_skipped_with_a_warning(api, admin):
    kb = create(api, admin["token"]).json()
    first, second = (upload(api, admin["token"], name=n, data=b"same text").json() for n in ("a.txt", "b.txt"))
    wait_done(api, admin["token"], first["id"]), wait_done(api, admin["token"], second["id"])
    response = api.post(f"/api/v1/knowledge/{kb['id']}/files/batch/add", json=[{"file_id": first["id"]}, {"file_id": second["id"]}],
                        headers=bearer(admin["token"])).json()
    assert [f["id"] for f in response["files"]] == [first["id"]]
    assert "Duplicate content" in response["warnings"][0]


def test_remove_reset_and_delete(api, admin):
    kb = create(api, admin["token"]).json()
    keep, drop = upload(api, admin["token"], data=b"keep").json(), upload(api, admin["token"], data=b"drop").json()
    api.post(f"/api/v1/knowledge/{kb['id']}/files/batch/add", json=[{"file_id": keep["id"]}, {"file_id": drop["id"]}], headers=bearer(admin["token"]))
    removed = api.post(f"/api/v1/knowledge/{kb['id']}/file/remove?delete_file=false", json={"file_id": drop["id"]},
                       headers=bearer(admin["token"])).json()
    assert [f["id"] for f in removed["files"]] == [keep["id"]]
    assert api.get(f"/api/v1/files/{drop['id']}", headers=bearer(admin["token"])).status_code == 200
    assert api.post(f"/api/v1/knowledge/{kb['id']}/reset", headers=bearer(admin["token"])).status_code == 200
    assert not KnowledgeFile.objects.exists()
    assert api.delete(f"/api/v1/knowledge/{kb['id']}/delete", headers=bearer(admin["token"])).json() is True
    assert api.get(f"/api/v1/knowledge/{kb['id']}", headers=bearer(admin["token"])).status_code == 404
