import hashlib

import pytest
from django.db import connection

from config.runtime.models import RuntimeSetting
from files import embeddings
from files.models import Chunk, File
from tests.conftest import bearer, connect
from tests.helpers import FILLER, QUESTION, upload, use_engine, vector_index_definition, wait_done
from tests.upstreams import bag_of_words


def test_chunks_are_embedded_in_batches_with_model_and_dimension(api, user, ollama):
    use_engine(ollama)
    body = upload(api, user["token"], data=(FILLER + "\nline two").encode()).json()
    assert wait_done(api, user["token"], body["id"]) == "completed"
    chunks = list(Chunk.objects.filter(file_id=body["id"]).order_by("position"))
    assert len(chunks) >= 3
    assert all(c.embedding_model == "embed-small" and c.dimensions == 384 for c in chunks)
    assert list(chunks[0].embedding) == bag_of_words(chunks[0].text.replace("\n", " "))
    batches = [b for _, p, b in ollama.requests if p == "/api/embed"]
    assert all(len(b["input"]) <= 2 for b in batches) and sum(len(b["input"]) for b in batches) == len(chunks)
    assert not any("\n" in t for b in batches for t in b["input"])


def test_chat_uses_hybrid_search_with_a_query_vector(api, admin, openai_upstream):
    connect(openai_upstream)
    use_engine(openai_upstream, kind="openai")
    text = f"{FILLER}\n\nRefunds are processed within 14 days. MARKER-HYBRID\n\n{FILLER}"
    body = upload(api, admin["token"], data=text.encode()).json()
    assert wait_done(api, admin["token"], body["id"]) == "completed"
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "gpt-4o", "messages": QUESTION, "files": [{"type": "file", "id": body["id"]}]})
    assert "MARKER-HYBRID" in openai_upstream.last("/v1/chat/completions")["messages"][-1]["content"]
    assert openai_upstream.last("/v1/embeddings")["input"] == [QUESTION[0]["content"]]
    assert response.json()["sources"][0]["distances"][0] > 0


def test_unreachable_embedder_falls_back_to_keywords(api, user, ollama):
    use_engine(ollama)
    ollama.fail_status = 500
    body = upload(api, user["token"], data=b"keyword only MARKER-KW").json()
    assert wait_done(api, user["token"], body["id"]) == "completed"
    assert Chunk.objects.get(file_id=body["id"]).embedding is None


def test_an_embedder_failing_mid_file_leaves_no_half_written_vectors(api, user, ollama):
    """Chunks are written while their vectors arrive (one streamed COPY): a batch failing after
    rows went out ends that COPY with nothing of it kept, and the file is stored for keywords."""
    use_engine(ollama)  # batches of 2, 4 in flight
    ollama.fail_status, ollama.fail_after = 500, 6
    text = "\n\n".join(f"Section {i}. {FILLER}" for i in range(20)) + "\n\nMARKER-HALF"
    body = upload(api, user["token"], data=text.encode()).json()
    assert wait_done(api, user["token"], body["id"]) == "completed"
    chunks = Chunk.objects.filter(file_id=body["id"])
    assert chunks.count() > 14 and not chunks.filter(embedding__isnull=False).exists()
    assert chunks.filter(position=0).exists() and chunks.filter(text__contains="MARKER-HALF").exists()
    assert len([p for _, p, _ in ollama.requests if p == "/api/embed"]) > 6


def test_instruction_prefixes_reach_the_embedder(api, admin, ollama):
    use_engine(ollama, batch=8)
    for key, value in {"RAG_EMBEDDING_QUERY_PREFIX": "search_query: ", "RAG_EMBEDDING_CONTENT_PREFIX": "search_document: "}.items():
        RuntimeSetting.objects.update_or_create(key=key, defaults={"value": value})
    body = upload(api, admin["token"], data=b"Refunds take 14 days.").json()
    assert wait_done(api, admin["token"], body["id"]) == "completed"
    assert ollama.last("/api/embed")["input"] == ["search_document: Refunds take 14 days."]
    assert Chunk.objects.get(file_id=body["id"]).text == "Refunds take 14 days."  # stored without it
    api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]),
             json={"collection_name": f"file-{body['id']}", "query": "refund time"})
    assert ollama.last("/api/embed")["input"] == ["search_query: refund time"]

    RuntimeSetting.objects.update_or_create(key="RAG_EMBEDDING_PREFIX_FIELD_NAME", defaults={"value": "prefix"})
    api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]),
             json={"collection_name": f"file-{body['id']}", "query": "refund time"})
    sent = ollama.last("/api/embed")
    assert sent["input"] == ["refund time"] and sent["prefix"] == "search_query: "


@pytest.mark.parametrize("dims, column_type", [(768, "vector(768)"), (3072, "halfvec(3072)")])
def test_realistic_dimensions_are_ingested_indexed_and_searched(api, admin, ollama, dims, column_type):
    """768 (nomic-embed-text, bge-base) and 3,072 (text-embedding-3-large, indexed as halfvec) dimensions
    through upload, the dimension's HNSW index, and hybrid and vector-only search."""
    ollama.embedding_dims = dims
    use_engine(ollama, batch=32)
    paragraphs = [f"Section {i}. {FILLER}" for i in range(120)]
    paragraphs[77] = "Refunds are processed within 14 days of the request. MARKER-DIMS"
    body = upload(api, admin["token"], data="\n\n".join(paragraphs).encode()).json()
    assert wait_done(api, admin["token"], body["id"], timeout=60) == "completed"
    assert set(Chunk.objects.filter(file_id=body["id"]).values_list("dimensions", flat=True)) == {dims}
    definition = vector_index_definition(dims)
    assert column_type in definition and "hnsw" in definition
    with connection.cursor() as cursor:  # in the row: exact searches read no TOAST (what fits in a page)
        cursor.execute("SELECT count(*) FILTER (WHERE pg_column_toast_chunk_id(embedding) IS NULL), count(*) "
                       "FROM files_chunk WHERE file_id = %s", [body["id"]])
        inline, chunks = cursor.fetchone()
    assert inline == chunks or dims * 4 > 8000

    query = {"collection_name": f"file-{body['id']}", "query": "Refunds are processed within how many days?", "k": 3}
    for hybrid in (True, False):
        RuntimeSetting.objects.update_or_create(key="ENABLE_RAG_HYBRID_SEARCH", defaults={"value": hybrid})
        found = api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]), json=query).json()
        assert "MARKER-DIMS" in found["documents"][0][0], (hybrid, found["documents"][0])
    assert len(ollama.last("/api/embed")["input"]) == 1  # the query, embedded at the same dimension


def test_a_file_of_a_few_mb_is_stored_with_every_vector_and_metadata_the_embedder_gave(api, admin, ollama):
    """3 MB at 384 dimensions through the COPY write path and concurrent embedding batches: every chunk
    arrives, in order, with the vector the embedder returned for its text and the metadata of its file."""
    use_engine(ollama, batch=64)
    lines = [f"Line {i}: refund {i % 7} shipping {i % 13} warranty {i % 29} invoice {i % 31} order {i}.\n" for i in range(45_000)]
    data = "".join(lines).encode()[:3 << 20]
    body = upload(api, admin["token"], name="big.txt", data=data).json()
    assert wait_done(api, admin["token"], body["id"], timeout=120) == "completed"

    chunks = list(Chunk.objects.filter(file_id=body["id"]).order_by("position"))
    sent = [t for _, p, b in ollama.requests if p == "/api/embed" for t in b["input"]]
    assert len(chunks) == len(sent) > 2000
    # a small first batch (writing starts sooner), then full ones
    sizes = [len(b["input"]) for _, p, b in ollama.requests if p == "/api/embed"]
    assert embeddings.FIRST_BATCH in sizes and max(sizes) == 64 and sizes.count(64) >= len(sizes) - 2
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.dimensions == 384 and c.embedding_model == "embed-small" for c in chunks)
    file = File.objects.get(id=body["id"])
    expected = {"name": "big.txt", "file_id": body["id"], "source": "big.txt", "created_by": str(file.user_id),
                "hash": hashlib.sha256(file.content.encode()).hexdigest(), "content_type": "text/plain", "size": len(data)}
    starts = [c.metadata["start_index"] for c in chunks]
    assert starts == sorted(starts) and starts[0] == 0
    for chunk in chunks[::97] + chunks[-1:]:
        assert chunk.metadata == {**expected, "start_index": chunk.metadata["start_index"]}
        assert file.content[chunk.metadata["start_index"]:].startswith(chunk.text)
        assert list(chunk.embedding) == bag_of_words(chunk.text.replace("\n", " "))
