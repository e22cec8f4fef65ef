"""Issue 12's new list endpoints of files, knowledge and models make the same number of queries for a
few rows and for many (Zulip style: the exact number; a change in it is a change to review)."""

import pytest

from files.models import File
from knowledge.models import KnowledgeDirectory, KnowledgeFile
from tests import factories
from tests.helpers import count_get, session_headers


def _same(client, url, headers, grow) -> tuple[int, dict]:
    few, _ = count_get(client, url, headers)
    grow()
    many, body = count_get(client, url, headers)
    assert few == many, (few, many)
    return many, body


@pytest.mark.parametrize("url", ["/api/v1/files/search?filename=*&content=false", "/api/v1/files/user/search"])
def test_file_searches_queries_do_not_grow(client, url):
    owner = factories.user()
    factories.file(owner, filename="f-0.txt")
    queries, body = _same(client, url, session_headers(owner),
                          lambda: [factories.file(owner, filename=f"f-{i}.txt") for i in range(1, 30)])
    assert len(body) == 30
    assert queries == 2  # the session's user, the page


def test_knowledge_search_queries_do_not_grow(client):
    owner, reader = factories.admin(), factories.user(name="Reader")

    def add(start, n):
        for i in range(start, start + n):
            kb = factories.collection(owner, name=f"Policies {i}", files=[factories.file(owner, filename=f"p{i}.txt")])
            factories.share("knowledge", kb.id)

    add(0, 2)
    queries, body = _same(client, "/api/v1/knowledge/search?query=policies", session_headers(reader), lambda: add(2, 20))
    assert body["total"] == 22
    assert queries == 5  # the session's user, the page, its writable ones, its grants, the total


def test_knowledge_search_files_queries_do_not_grow(client):
    owner = factories.user()

    def add(start, n):
        for i in range(start, start + n):
            factories.collection(owner, name=f"KB {i}", files=[factories.file(owner, filename=f"guide-{i}.md")])

    add(0, 2)
    queries, body = _same(client, "/api/v1/knowledge/search/files?query=guide", session_headers(owner), lambda: add(2, 20))
    assert body["total"] == 22 and body["items"][0]["collection"]["name"].startswith("KB")
    assert queries == 4  # the session's user, the page (files, owners, collections joined), their grants, the total


def test_knowledge_files_with_directories_queries_do_not_grow(client):
    owner = factories.user()
    kb = factories.collection(owner)
    parent = KnowledgeDirectory.objects.create(knowledge=kb, name="docs", user=owner)

    def add(start, n):
        for i in range(start, start + n):
            directory = KnowledgeDirectory.objects.create(knowledge=kb, parent=parent, name=f"d{i}", user=owner)
            KnowledgeFile.objects.create(knowledge=kb, file=factories.file(owner, filename=f"f{i}.md"), directory=directory)

    add(0, 2)
    queries, body = _same(client, f"/api/v1/knowledge/{kb.id}/files", session_headers(owner), lambda: add(2, 20))
    assert body["total"] == 22 and body["items"][0]["directory_path"].startswith("docs/d")
    # the session's user, the collection, the page (files and owners joined), the directories, the total
    assert queries == 5


def test_knowledge_pending_files_queries_do_not_grow(client):
    owner = factories.user()
    kb = factories.collection(owner)

    def add(start, n):
        for i in range(start, start + n):
            factories.file(owner, filename=f"w{i}.txt", status=File.Status.PROCESSING, meta={"knowledge_id": str(kb.id)})

    add(0, 2)
    queries, body = _same(client, f"/api/v1/knowledge/{kb.id}/files/pending", session_headers(owner), lambda: add(2, 20))
    assert len(body) == 22
    assert queries == 3  # the session's user, the collection, the pending files


@pytest.mark.parametrize("url", ["/api/v1/models/all", "/api/v1/models/base", "/api/v1/models/export"])
def test_model_lists_queries_do_not_grow(client, url):
    admin = factories.admin()

    def add(start, n):
        for i in range(start, start + n):
            factories.preset(admin, id=f"m{i}", base_model_id=None if url.endswith("base") else "llama3.1:8b")
            factories.share("model", f"m{i}")

    add(0, 2)
    queries, body = _same(client, url, session_headers(admin), lambda: add(2, 20))
    assert len(body) == 22 and all(m["access_grants"] for m in body)
    assert queries == 3  # the session's user, the rows, their grants


def test_model_history_queries_do_not_grow(client):
    from models_registry import services

    admin = factories.admin()
    factories.preset(admin, id="bot")

    def change(n):
        for i in range(n):
            model = services.update(user=admin, data={"id": "bot", "name": f"Bot {i}", "meta": {}, "params": {"n": i}})
            assert model.name == f"Bot {i}"

    change(2)
    queries, body = _same(client, "/api/v1/models/model/history?id=bot", session_headers(admin), lambda: change(15))
    assert len(body) == 17 and body[0]["user"] == {"name": "Admin"}
    assert queries == 3  # the session's user, the model, the page of versions with their authors
