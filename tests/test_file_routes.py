"""Issue 12: the rest of /api/v1/files/* (search, count, rename, content/html, content/{name})."""

from accounts.models import User
from files.models import File
from tests import factories
from tests.conftest import bearer
from tests.helpers import upload


def _owned(account_id) -> User:
    return User.objects.get(id=account_id)


def test_search_matches_a_filename_glob_case_insensitively(api, user):
    owner = _owned(user["id"])
    factories.file(owner, filename="Report-2024.TXT", content="alpha")
    factories.file(owner, filename="report_2025.md", content="beta")
    factories.file(owner, filename="notes.txt", content="gamma")
    found = api.get("/api/v1/files/search", params={"filename": "report*.txt"}, headers=bearer(user["token"]))
    assert found.status_code == 200
    assert [f["filename"] for f in found.json()] == ["Report-2024.TXT"]
    assert found.json()[0]["data"]["content"] == "alpha"
    one_char = api.get("/api/v1/files/search", params={"filename": "report?2025.md", "content": "false"},
                       headers=bearer(user["token"])).json()
    assert [f["filename"] for f in one_char] == ["report_2025.md"] and "content" not in one_char[0]["data"]


def test_search_treats_like_wildcards_as_plain_characters(api, user):
    owner = _owned(user["id"])
    factories.file(owner, filename="a_b.txt")
    factories.file(owner, filename="axb.txt")
    found = api.get("/api/v1/files/search", params={"filename": "a_b*"}, headers=bearer(user["token"])).json()
    assert [f["filename"] for f in found] == ["a_b.txt"]


def test_search_without_a_match_is_404_and_without_a_pattern_400(api, user):
    none = api.get("/api/v1/files/search", params={"filename": "*.pdf"}, headers=bearer(user["token"]))
    assert none.status_code == 404 and none.json() == {"detail": "No files found matching the pattern."}
    missing = api.get("/api/v1/files/search", headers=bearer(user["token"]))
    assert missing.status_code == 400 and "filename" in missing.json()["detail"]
    bad_limit = api.get("/api/v1/files/search", params={"filename": "*", "limit": "0"}, headers=bearer(user["token"]))
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json()["detail"]


def test_user_search_and_counts_separate_own_files_from_what_an_admin_sees(api, admin, user):
    owner = _owned(user["id"])
    for name in ("a.txt", "b.txt"):
        factories.file(owner, filename=name)
    factories.file(_owned(admin["id"]), filename="admin.txt")
    assert api.get("/api/v1/files/count", headers=bearer(user["token"])).json() == 2
    assert api.get("/api/v1/files/count", headers=bearer(admin["token"])).json() == 3
    assert api.get("/api/v1/files/user/count", headers=bearer(admin["token"])).json() == 1
    mine = api.get("/api/v1/files/user/search", headers=bearer(admin["token"])).json()
    assert [f["filename"] for f in mine] == ["admin.txt"] and "content" not in mine[0]["data"]
    everyone = api.get("/api/v1/files/search", params={"filename": "*"}, headers=bearer(admin["token"])).json()
    assert len(everyone) == 3


def test_another_user_cannot_find_count_rename_or_read_a_file(api, user, make_user):
    file = factories.file(_owned(user["id"]), filename="secret.txt")
    other = make_user("Eve")
    assert api.get("/api/v1/files/search", params={"filename": "*"}, headers=bearer(other["token"])).status_code == 404
    assert api.get("/api/v1/files/user/search", headers=bearer(other["token"])).json() == []
    assert api.get("/api/v1/files/count", headers=bearer(other["token"])).json() == 0
    renamed = api.post(f"/api/v1/files/{file.id}/rename", json={"filename": "mine.txt"}, headers=bearer(other["token"]))
    assert renamed.status_code == 404
    for path in ("content/html", "content/secret.txt"):
        assert api.get(f"/api/v1/files/{file.id}/{path}", headers=bearer(other["token"])).status_code == 404
    assert File.objects.get(id=file.id).filename == "secret.txt"


def test_rename_changes_the_name_and_answers_the_record(api, user):
    body = upload(api, user["token"], name="draft.txt", process="false").json()
    renamed = api.post(f"/api/v1/files/{body['id']}/rename", json={"filename": "final.txt"}, headers=bearer(user["token"]))
    assert renamed.status_code == 200
    assert renamed.json()["filename"] == "final.txt" and renamed.json()["meta"]["name"] == "final.txt"
    download = api.get(f"/api/v1/files/{body['id']}/content", params={"attachment": "true"}, headers=bearer(user["token"]))
    assert "final.txt" in download.headers["content-disposition"] and download.content == b"hello world"
    empty = api.post(f"/api/v1/files/{body['id']}/rename", json={"filename": " "}, headers=bearer(user["token"]))
    assert empty.status_code == 400 and "filename" in empty.json()["detail"]


def test_content_under_any_name_is_an_attachment_and_falls_back_to_the_text(api, user):
    body = upload(api, user["token"], name="page.md", data=b"# Hi", content_type="text/markdown", process="false").json()
    named = api.get(f"/api/v1/files/{body['id']}/content/whatever.md", headers=bearer(user["token"]))
    assert named.status_code == 200 and named.content == b"# Hi"
    assert named.headers["content-disposition"].startswith("attachment")
    gone = factories.file(_owned(user["id"]), filename="lost.txt", content="the extracted text")  # no stored bytes
    fallback = api.get(f"/api/v1/files/{gone.id}/content/lost.txt", headers=bearer(user["token"]))
    assert fallback.status_code == 200 and fallback.text == "the extracted text"
    assert fallback.headers["content-type"].startswith("text/plain")


def test_content_html_serves_only_files_an_admin_uploaded(api, admin, user):
    page = b"<html><body>Report</body></html>"
    mine = upload(api, admin["token"], name="report.html", data=page, content_type="text/html", process="false").json()
    served = api.get(f"/api/v1/files/{mine['id']}/content/html", headers=bearer(admin["token"]))
    assert served.status_code == 200 and served.content == page
    assert served.headers["content-type"].startswith("text/html")
    assert "sandbox" in served.headers["content-security-policy"]
    theirs = upload(api, user["token"], name="x.html", data=page, content_type="text/html", process="false").json()
    refused = api.get(f"/api/v1/files/{theirs['id']}/content/html", headers=bearer(user["token"]))
    assert refused.status_code == 404
