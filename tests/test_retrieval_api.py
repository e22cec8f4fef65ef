from files.models import Chunk
from tests.conftest import bearer
from tests.helpers import FILLER, upload, wait_done
from tests.helpers import create_knowledge as create


def _file(api, token, marker):
    body = upload(api, token, data=f"{FILLER}\n\nRefund window is 14 days {marker}\n\n{FILLER}".encode()).json()
    assert wait_done(api, token, body["id"]) == "completed"
    return body


def test_query_doc_and_collection(api, admin):
    file = _file(api, admin["token"], "MARKER-Q")
    kb = create(api, admin["token"]).json()
    api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}, headers=bearer(admin["token"]))
    doc = api.post("/api/v1/retrieval/query/doc", json={"collection_name": f"file-{file['id']}", "query": "refund window", "k": 2},
                   headers=bearer(admin["token"])).json()
    assert len(doc["ids"][0]) == len(doc["documents"][0]) == len(doc["distances"][0]) <= 2
    assert "MARKER-Q" in doc["documents"][0][0]
    col = api.post("/api/v1/retrieval/query/collection", json={"collection_names": [kb["id"]], "query": "refund window"},
                   headers=bearer(admin["token"])).json()
    assert "ids" not in col and "MARKER-Q" in col["documents"][0][0]


def test_query_access_is_checked(api, make_user):
    alice, bob = make_user("Alice"), make_user("Bob")
    file = _file(api, alice["token"], "MARKER-PRIVATE")
    for name in (f"file-{file['id']}", "knowledge-bases", "bad name!"):
        response = api.post("/api/v1/retrieval/query/doc", json={"collection_name": name, "query": "refund"},
                            headers=bearer(bob["token"]))
        assert response.status_code == 403, name
    assert api.post("/api/v1/retrieval/query/doc", json={"collection_name": f"file-{file['id']}"},
                    headers=bearer(alice["token"])).status_code == 400


def test_embedding_settings_and_reindex(api, admin, user, ollama):
    headers = bearer(admin["token"])
    file = _file(api, admin["token"], "MARKER-RE")
    assert Chunk.objects.filter(file_id=file["id"], embedding__isnull=True).exists()
    updated = api.post("/api/v1/retrieval/embedding/update", headers=headers, json={
        "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "embed-small", "ollama_config": {"url": ollama.url, "key": ""}}).json()
    assert updated["RAG_EMBEDDING_ENGINE"] == "ollama" and updated["ollama_config"]["url"] == ollama.url
    assert api.post("/api/v1/retrieval/embedding/update", headers=headers, json={"RAG_EMBEDDING_ENGINE": "magic"}).status_code == 400
    assert api.get("/api/v1/retrieval/embedding", headers=bearer(user["token"])).status_code == 401
    assert api.post("/api/v1/retrieval/reindex", headers=headers).json() == {"status": True, "queued": 1}
    assert wait_done(api, admin["token"], file["id"]) == "completed"
    import time

    deadline = time.monotonic() + 20
    while Chunk.objects.filter(file_id=file["id"], embedding_model="").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert set(Chunk.objects.filter(file_id=file["id"]).values_list("embedding_model", flat=True)) == {"embed-small"}


def _waiting_jobs() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT args->>'file_id', count(*) FROM procrastinate_jobs "
                       "WHERE task_name = 'files.tasks.process_file' AND status = 'todo' GROUP BY 1")
        return dict(cursor.fetchall())


def test_reindex_queues_one_job_per_file_however_often_it_is_called(api, gateway, admin, ollama):
    """Issue 10: three calls queued three jobs a file, and new uploads waited behind them all."""
    headers = bearer(admin["token"])
    files = [upload(api, admin["token"], name=f"f{i}.txt", data=f"{FILLER} MARKER-{i}".encode()).json() for i in range(8)]
    for file in files:
        assert wait_done(api, admin["token"], file["id"]) == "completed"
    api.post("/api/v1/retrieval/embedding/update", headers=headers, json={
        "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "embed-small", "ollama_config": {"url": ollama.url, "key": ""}})
    gateway.worker.terminate()  # nothing runs while the calls queue, so every job they add stays waiting
    gateway.worker.wait(10)
    try:
        for _ in range(3):
            assert api.post("/api/v1/retrieval/reindex", headers=headers).json() == {"status": True, "queued": 8}
        late = upload(api, admin["token"], name="late.txt", data=b"uploaded after the re-index calls").json()
        waiting = _waiting_jobs()
        assert {file["id"]: waiting.get(file["id"]) for file in files} == {file["id"]: 1 for file in files}
        assert waiting[late["id"]] == 1
    finally:
        gateway.worker = gateway.start_worker()
    for file in [*files, late]:
        assert wait_done(api, admin["token"], file["id"], timeout=60) == "completed"
    assert set(Chunk.objects.values_list("embedding_model", flat=True)) == {"embed-small"}
