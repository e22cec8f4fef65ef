"""A concurrent HNSW build that dies leaves an invalid index, which Postgres keeps but never uses for
searches: it is rebuilt (issue 10, item 9)."""

import threading
import time

import pytest
from django.db import DataError, connection, connections

from config.runtime.models import RuntimeSetting
from files import vector_index
from files.models import Chunk, File
from tests.conftest import bearer
from tests.helpers import upload, use_engine, wait_done

NAME = "chunk_embedding_hnsw_384"


def _state():
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.indexrelid, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = %s", [NAME])
        return cursor.fetchone()


def _failed_concurrent_build(user_id):
    """A real interrupted build: CREATE INDEX CONCURRENTLY fails on a row it cannot index, and leaves
    the index behind, invalid. The row then goes, as a build killed for any reason leaves the table."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {NAME}")
    file = File.objects.create(user_id=user_id, filename="bad.txt", storage_name="bad.txt", file_hash="0" * 64, status="completed")
    bad = Chunk.objects.create(file=file, position=0, text="bad", embedding=[0.5] * 8, embedding_model="m", dimensions=384)
    with pytest.raises(DataError), connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX CONCURRENTLY {NAME} ON files_chunk "
                       "USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimensions = 384")
    bad.delete()
    oid, valid = _state()
    assert valid is False
    return oid


def _wait_for_a_new_valid_index(old_oid, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (state := _state()) is None or not state[1] or state[0] == old_oid:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def test_ingestion_rebuilds_an_index_a_dead_build_left_invalid(api, admin, ollama):
    headers = bearer(admin["token"])
    api.post("/api/v1/retrieval/embedding/update", headers=headers, json={
        "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "embed-small", "ollama_config": {"url": ollama.url, "key": ""}})
    leftover = _failed_concurrent_build(admin["id"])
    body = upload(api, admin["token"], data=b"refunds take fourteen days").json()
    assert wait_done(api, admin["token"], body["id"]) == "completed"
    assert Chunk.objects.filter(file_id=body["id"], dimensions=384).exists()
    _wait_for_a_new_valid_index(leftover)  # built right after the file says completed


def test_an_index_being_built_is_left_alone_and_repair_rebuilds_a_leftover(admin):
    leftover = _failed_concurrent_build(admin["id"])
    with connection.cursor() as cursor:  # as a builder holds it while it builds
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [NAME])

    def other_process():
        try:
            vector_index.ensure(384)
        finally:
            connections.close_all()

    try:
        thread = threading.Thread(target=other_process)
        thread.start()
        thread.join()
        assert _state() == (leftover, False)  # not dropped under a build in progress
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [NAME])
    assert vector_index.repair() == [384]
    oid, valid = _state()
    assert valid is True and oid != leftover
    assert vector_index.repair() == []


def test_a_build_leaves_the_connection_with_its_own_maintenance_memory(admin):
    """The build raises maintenance_work_mem (VECTOR_INDEX_BUILD_MEMORY) for itself only: a pooled
    connection must not keep 512 MB for every later sort and vacuum."""
    def setting():
        with connection.cursor() as cursor:
            cursor.execute("SHOW maintenance_work_mem")
            return cursor.fetchone()[0]

    before = setting()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {NAME}")
    vector_index.ensure(384)
    assert _state()[1] is True
    assert setting() == before


def _query(api, token, file_id, text):
    return api.post("/api/v1/retrieval/query/doc", headers=bearer(token),
                    json={"collection_name": f"file-{file_id}", "query": text, "k": 3}).json()["documents"][0]


def test_a_big_file_next_to_a_small_index_gets_one_build_while_searches_go_on(api, admin, ollama):
    """The live server's VECTOR_INDEX_REBUILD_MIN_ROWS is 100: a file of more chunks next to an index of
    one has the index dropped while it is written (other files' vector searches go on, exact) and built
    once over everything. The file says completed as soon as its chunks are in, before the build: it is
    searchable at once (exactly), and the index comes back holding both files."""
    use_engine(ollama, batch=4)
    RuntimeSetting.objects.update_or_create(key="ENABLE_RAG_HYBRID_SEARCH", defaults={"value": False})
    token = admin["token"]
    small = upload(api, token, name="small.txt", data=b"Refunds are processed within 14 days. MARKER-SMALL").json()
    assert wait_done(api, token, small["id"]) == "completed"
    before, valid = _state()
    assert valid is True
    ollama.latency = 0.3  # the big file's write lasts seconds
    paragraph = "Warehouse hours and parking notes for the handbook, said once more. " * 20 + "\n\n"
    big = upload(api, token, name="big.txt", data=(paragraph * 150).encode()).json()
    deadline = time.monotonic() + 60
    while not (status := api.get(f"/api/v1/files/{big['id']}/process/status", headers=bearer(token)).json()).get("progress", {}).get("done"):
        assert time.monotonic() < deadline and status["status"] in ("pending", "processing"), status
        time.sleep(0.05)
    assert _state() is None  # dropped for the load
    assert "MARKER-SMALL" in _query(api, token, small["id"], "How long do refunds take?")[0]
    assert api.get(f"/api/v1/files/{big['id']}/process/status", headers=bearer(token)).json()["status"] == "processing"

    assert wait_done(api, token, big["id"], timeout=90) == "completed"
    assert "Warehouse hours" in _query(api, token, big["id"], "When is the warehouse open?")[0]
    _wait_for_a_new_valid_index(before)  # the build, after the file says completed
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [NAME])
        indexed = cursor.fetchone()[0]
    assert indexed == Chunk.objects.filter(dimensions=384).count() > 100  # both files, from one build
    assert "Warehouse hours" in _query(api, token, big["id"], "When is the warehouse open?")[0]
