"""List endpoints make a bounded number of queries, whatever the number of rows (no N+1).
Run in-process (Django's test client) so the queries can be counted."""

import asyncio

import pytest
from django.test import AsyncClient

from accounts import api_keys
from accounts.models import AccessGrant, User
from models_registry.models import Model
from tests import factories
from tests.conftest import connect
from tests.helpers import FILLER, QUESTION, AllQueries, count_get, session_headers


def _admin_with_key():
    admin = User.objects.create_user("admin@example.com", "pw", name="Admin", role="admin")
    return admin, {"HTTP_AUTHORIZATION": f"Bearer {api_keys.create(user=admin, name='t')[1]}"}


def test_user_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(25):
        User.objects.create_user(f"u{i}@example.com", "pw", name=f"U{i}", role="user")
    with django_assert_max_num_queries(7):
        response = client.get("/api/v1/users/", **headers)
    assert response.json()["total"] == 26


def _users_in_groups(n: int):
    users = [User.objects.create_user(f"g{i}@example.com", "pw", name=f"G{i}", role="user") for i in range(n)]
    for i in range(n):
        factories.group(name=f"Group {i}", members=users[: i + 1], permissions={"chat": {"delete": True}})
    return users


@pytest.mark.parametrize("url", ["/api/v1/users/", "/api/v1/users/all", "/api/v1/users/search", "/api/v1/groups/"])
def test_user_and_group_lists_queries_do_not_grow(client, django_assert_max_num_queries, url):
    admin, headers = _admin_with_key()
    _users_in_groups(20)
    with django_assert_max_num_queries(7):
        response = client.get(url, **headers)
    assert response.status_code == 200


def test_a_group_s_member_lists_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    users = _users_in_groups(20)
    group = factories.group(name="All", members=users)
    for method, url in [("post", f"/api/v1/groups/id/{group.id}/users"), ("get", f"/api/v1/groups/id/{group.id}/members"),
                        ("get", f"/api/v1/groups/id/{group.id}/export"), ("get", "/api/v1/users/groups")]:
        with django_assert_max_num_queries(7):
            assert getattr(client, method)(url, **headers).status_code == 200


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


def test_webhook_list_queries_do_not_grow(client, django_assert_max_num_queries):
    from config.events import services as events

    admin, headers = _admin_with_key()
    for i in range(20):
        events.create_webhook(url=f"http://127.0.0.1:9/{i}", events=["file.completed"])
    with django_assert_max_num_queries(6):
        response = client.get("/api/events/webhooks", **headers)
    assert len(response.json()) == 20


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


# --- files and knowledge lists (issue 11) ---------------------------------------------------------
# Zulip style: the exact number, the same for a few rows and for many. A change in these numbers is
# a change to review (a new query per request, or one per row).


def test_file_list_queries_do_not_grow(client):
    owner = factories.user()
    headers = session_headers(owner)
    for i in range(3):
        factories.file(owner, filename=f"f{i}.txt", content=f"text {i}", chunks=[f"text {i}"])
    few, body = count_get(client, "/api/v1/files/?content=false", headers)
    assert body["total"] == 3
    for i in range(3, 40):
        factories.file(owner, filename=f"f{i}.txt", content=f"text {i}", chunks=[f"text {i}"])
    factories.file(factories.user(name="Other"), filename="foreign.txt")  # not listed
    many, body = count_get(client, "/api/v1/files/?content=false", headers)
    assert body["total"] == 40 and len(body["items"]) == 40
    # the session's user, the page, the total
    assert few == many == 3


def test_file_list_with_texts_reads_each_text_apart(client):
    """With content (Open WebUI's default), each text is streamed from the database in slices, one
    query a slice, so a page of large files never sits in memory whole: the queries grow with the
    page (50 files at most), by one per text, and by nothing else."""
    owner = factories.user()
    headers = session_headers(owner)
    for i in range(40):
        factories.file(owner, filename=f"f{i}.txt", content=f"text {i}")
    without, _ = count_get(client, "/api/v1/files/?content=false", headers)
    with_texts, body = count_get(client, "/api/v1/files/", headers)
    assert body["items"][0]["data"]["content"].startswith("text ")
    assert with_texts == without + 40


def test_knowledge_list_queries_do_not_grow(client):
    """As a user (not an admin): the grants decide what is listed and what is writable."""
    owner, reader = factories.admin(), factories.user(name="Reader")
    headers = session_headers(reader)

    def add(n, start):
        for i in range(start, start + n):
            files = [factories.file(owner, filename=f"k{i}-{j}.txt") for j in range(3)]
            kb = factories.collection(owner, name=f"KB {i}", files=files)
            factories.share("knowledge", kb.id, principal_id="*", permission="read")
            if i % 2:
                factories.share("knowledge", kb.id, principal_id=reader.id, permission="write")
        factories.collection(owner, name=f"private {start}")  # not listed

    add(2, 0)
    few, body = count_get(client, "/api/v1/knowledge/", headers)
    assert body["total"] == 2 and all(item["file_count"] == 3 for item in body["items"])
    add(20, 2)
    many, body = count_get(client, "/api/v1/knowledge/", headers)
    assert body["total"] == 22 and len(body["items"]) == 22
    assert sum(item["write_access"] for item in body["items"]) == 11
    # the session's user, the page (readable through an EXISTS on grants), the page's writable ones
    # (write_access), the page's grants, the total
    assert few == many == 5


def test_prompt_list_queries_do_not_grow(client):
    """As a user: the grants decide what is listed and what is writable (issue 12)."""
    owner, reader = factories.admin(), factories.user(name="Reader")
    headers = session_headers(reader)

    def add(n, start):
        for i in range(start, start + n):
            prompt = factories.prompt(owner, command=f"/p{i}", tags=["t"])
            factories.share("prompt", prompt.id, principal_id="*", permission="read")
            if i % 2:
                factories.share("prompt", prompt.id, principal_id=reader.id, permission="write")
        factories.prompt(owner, command=f"/private-{start}")  # not listed

    add(2, 0)
    few, body = count_get(client, "/api/v1/prompts/list", headers)
    assert body["total"] == 2 and all(item["user"]["id"] == str(owner.id) for item in body["items"])
    add(20, 2)
    many, body = count_get(client, "/api/v1/prompts/list", headers)
    assert body["total"] == 22 and sum(item["write_access"] for item in body["items"]) == 11
    # the session's user, the page (owners joined, readable through an EXISTS on grants), the page's
    # writable ones, the page's grants, the total
    assert few == many == 5
    few_all, _ = count_get(client, "/api/v1/prompts/", headers)
    add(5, 22)
    many_all, body = count_get(client, "/api/v1/prompts/", headers)
    assert len(body) == 27 and few_all == many_all == 3  # the user, the prompts, their grants


# --- a chat with N files (DESIGN.md: "One chat request makes a bounded number of database queries,
# whatever the number of files or models") ----------------------------------------------------------
# The whole request in this process (Django's async test client: middleware, authentication, the
# view, the upstream call to a fake Ollama), counting the queries of every thread it uses.

REFUNDS = "Refunds are processed within 14 days."


def _chat_queries(ollama, files_for_request) -> list[int]:
    """The queries of one warm-up chat, then of one chat per list of `files` items."""
    connect(ollama)
    owner = factories.user()
    factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama")
    factories.share("model", "llama3.1:8b")
    headers = {"Authorization": f"Bearer {factories.session(owner)['token']}"}
    requests = files_for_request(owner)

    async def run():
        client = AsyncClient()
        counts = []
        # A first round fills this process's caches: the model list, the search's term statistics
        # and each scope's width (kept 300 s by knowledge.retrieval, so they stay warm for the
        # requests measured).
        for files in [*requests, *requests]:
            with AllQueries() as queries:
                response = await client.post("/api/chat/completions", {"model": "llama3.1:8b", "messages": QUESTION,
                                             "files": files}, content_type="application/json", headers=headers)
            assert response.status_code == 200, response.content
            assert REFUNDS in ollama.last("/api/chat")["messages"][-1]["content"]
            assert len(response.json()["sources"]) == len(files)
            counts.append(len(queries))
        return counts[len(requests):]

    return asyncio.run(run())


def _refund_files(owner, n):
    return [factories.file(owner, filename=f"refunds-{i}.md", content=f"{REFUNDS} MARKER-{i}",
                           chunks=[f"{REFUNDS} MARKER-{i}", FILLER[:200]]) for i in range(n)]


def test_a_chat_with_a_collection_of_n_files_makes_the_same_queries(ollama):
    def requests(owner):
        sizes = (1, 10)
        kbs = [factories.collection(owner, name=f"KB {n}", files=_refund_files(owner, n)) for n in sizes]
        return [[{"type": "collection", "id": str(kb.id)}] for kb in kbs]

    one, ten = _chat_queries(ollama, requests)
    # the session's user, the runtime settings, the model snapshot (connections, rows, grants), the
    # runtime settings again (retrieval), the collections in scope with their members (grants checked
    # in the same statement), the search (its keyword and its vector side, each one statement with
    # its settings sent with it; term statistics cached since the warm-up), the usage limits and prices (two; once a
    # request, and cached STATE_CACHE_SECONDS, which is 0 here)
    assert one == ten == 10


def test_a_chat_with_n_files_makes_the_same_queries(ollama):
    """Ten `files` items are searched as one: each side of the search is one statement for all of them
    (each item keeps its own best chunks: _chat_queries checks a source per item)."""
    def requests(owner):
        one, ten = _refund_files(owner, 1), _refund_files(owner, 10)
        return [[{"type": "file", "id": str(f.id)} for f in files] for files in (one, ten)]

    one, ten = _chat_queries(ollama, requests)
    assert one == ten == 10


def test_a_chat_with_n_whole_files_makes_the_same_queries(ollama):
    """Files given whole (`context: full`) are read in one query, however many."""
    def requests(owner):
        one, ten = _refund_files(owner, 1), _refund_files(owner, 10)
        return [[{"type": "file", "id": str(f.id), "context": "full"} for f in files] for files in (one, ten)]

    one, ten = _chat_queries(ollama, requests)
    assert one == ten


# --- provider surface: lists and embeddings -------------------------------------------------------


def _warm_counts(path: str, token: str, bodies: list[dict | None]) -> list[int]:
    """Queries of each request after a warm-up one (GET when the body is None)."""

    async def run():
        client, counts = AsyncClient(), []
        headers = {"Authorization": f"Bearer {token}"}
        for body in [bodies[0], *bodies]:
            with AllQueries() as queries:
                if body is None:
                    response = await client.get(path, headers=headers)
                else:
                    response = await client.post(path, body, content_type="application/json", headers=headers)
            assert response.status_code == 200, response.content
            counts.append(len(queries))
        return counts[1:]

    return asyncio.run(run())


def test_ollama_v1_model_list_queries_do_not_grow(ollama):
    connect(ollama)
    user = factories.user()
    token = factories.session(user)["token"]
    factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama")
    factories.share("model", "llama3.1:8b")
    few = _warm_counts("/ollama/v1/models", token, [None])
    for i in range(20):
        factories.preset(None, id=f"preset-{i}", base_model_id="llama3.1:8b", name=f"P{i}")
        factories.share("model", f"preset-{i}")
    many = _warm_counts("/ollama/v1/models", token, [None])
    assert few == many


def test_embeddings_make_the_same_queries_for_one_input_or_hundreds(ollama):
    connect(ollama)
    admin = factories.admin()
    token = factories.session(admin)["token"]
    one, many = _warm_counts("/api/embeddings", token, [{"model": "llama3.1:8b", "input": "x"},
                                                        {"model": "llama3.1:8b", "input": ["x"] * 600}])
    assert one == many


def test_usage_limit_and_price_lists_queries_do_not_grow(client, django_assert_max_num_queries):
    from accounts.models import ModelPrice, UsageLimit

    admin, headers = _admin_with_key()
    for i in range(20):
        UsageLimit.objects.create(scope_type="model", scope_id=f"m{i}", requests_per_minute=i + 1)
        ModelPrice.objects.create(model=f"m{i}", input_per_million=1, output_per_million=2)
    for url, count in [("/api/v1/usage/limits", 20), ("/api/v1/usage/limits/status", 20), ("/api/v1/usage/prices", 20)]:
        with django_assert_max_num_queries(5):
            response = client.get(url, **headers)
        assert len(response.json()) == count
