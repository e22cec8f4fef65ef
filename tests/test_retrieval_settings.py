"""Retrieval settings (API.md §6.1 /retrieval/config) and what they change: top k, relevance
threshold, hybrid or vector search, the RAG template, query generation (DECISIONS #4), and the
collection endpoints that depend on them (file/update, delete)."""


from files.models import Chunk
from models_registry.models import Model
from tests.conftest import bearer, connect
from tests.helpers import FILLER, QUESTION, upload, use_engine, vector_index_definition, wait_done
from tests.helpers import create_knowledge as create
from tests.helpers import ready_file as _ready_file


def configure(api, admin, **values):
    response = api.post("/api/v1/retrieval/config/update", headers=bearer(admin["token"]), json=values)
    assert response.status_code == 200, response.text
    return response.json()


def test_config_reads_and_saves_only_what_was_sent(api, admin, user):
    headers = bearer(admin["token"])
    config = api.get("/api/v1/retrieval/config", headers=headers).json()
    assert config["status"] is True
    assert (config["TOP_K"], config["RELEVANCE_THRESHOLD"], config["CHUNK_SIZE"], config["CHUNK_OVERLAP"]) == (3, 0.0, 1000, 100)
    assert config["FILE_MAX_SIZE"] is None and config["ALLOWED_FILE_EXTENSIONS"] == []
    assert "{{CONTEXT}}" in config["RAG_TEMPLATE"] and config["ENABLE_RETRIEVAL_QUERY_GENERATION"] is False

    saved = configure(api, admin, TOP_K=5, FILE_MAX_SIZE=2, ALLOWED_FILE_EXTENSIONS=["txt", "md"])
    assert (saved["TOP_K"], saved["FILE_MAX_SIZE"], saved["CHUNK_SIZE"]) == (5, 2, 1000)
    assert configure(api, admin, FILE_MAX_SIZE="")["FILE_MAX_SIZE"] is None
    # a client posting the whole config back (with our built-in template) changes nothing else
    assert configure(api, admin, **{k: v for k, v in saved.items() if k != "FILE_MAX_SIZE"})["TOP_K"] == 5

    for bad in ({"TOP_K": 0}, {"TOP_K": "3"}, {"RELEVANCE_THRESHOLD": 2}, {"RAG_RERANKING_MODEL": "bge-reranker"},
                {"TOP_K": 4, "CHUNK_SIZE": -1}):
        response = api.post("/api/v1/retrieval/config/update", headers=headers, json=bad)
        assert response.status_code == 400 and response.json()["detail"], bad
    assert api.get("/api/v1/retrieval/config", headers=headers).json()["TOP_K"] == 5  # nothing of a refused update saved
    assert api.get("/api/v1/retrieval/config", headers=bearer(user["token"])).status_code == 401
    assert api.post("/api/v1/retrieval/config/update", headers=bearer(user["token"]), json={"TOP_K": 1}).status_code == 401


def test_upload_limits_come_from_the_config(api, admin):
    configure(api, admin, FILE_MAX_SIZE=0.001, ALLOWED_FILE_EXTENSIONS=["md"])
    assert upload(api, admin["token"], name="a.txt").status_code == 400
    too_big = upload(api, admin["token"], name="a.md", data=b"x" * 2000)
    assert too_big.status_code == 413 and "0.001 MB" in too_big.json()["detail"]
    assert upload(api, admin["token"], name="a.md", data=b"small").status_code == 200


def test_top_k_and_template_shape_the_injected_context(api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-TOPK")
    configure(api, admin, TOP_K=1, RAG_TEMPLATE="Answer from: {{CONTEXT}} -- question was: {{QUERY}}\n")
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "messages": QUESTION, "files": [{"type": "file", "id": file["id"]}]}).json()
    assert len(response["sources"][0]["document"]) == 1 and "MARKER-TOPK" in response["sources"][0]["document"][0]
    sent = ollama.last("/api/chat")["messages"][-1]["content"]
    assert sent.startswith("Answer from: <source id=\"1\"") and f"question was: {QUESTION[0]['content']}" in sent
    assert sent.endswith(QUESTION[0]["content"])


def test_threshold_and_hybrid_switch_on_the_query_endpoint(api, admin, ollama):
    use_engine(ollama)
    file = _ready_file(api, admin["token"], "MARKER-THRESHOLD")
    body = {"collection_name": f"file-{file['id']}", "query": "How many days does a refund take?", "k": 3}
    hybrid = api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]), json=body).json()
    assert "MARKER-THRESHOLD" in hybrid["documents"][0][0]
    assert all("score" in m for m in hybrid["metadatas"][0])  # fused scores, as Open WebUI's hybrid path

    vector = api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]), json={**body, "hybrid": False}).json()
    assert len(vector["ids"][0]) == 3 and all(0.5 <= d <= 1 for d in vector["distances"][0])
    assert vector["distances"][0] == sorted(vector["distances"][0], reverse=True)
    best = vector["distances"][0][0]
    strict = api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]),
                      json={**body, "hybrid": False, "r": (best + vector["distances"][0][1]) / 2}).json()
    assert strict["distances"][0] == [best]  # the threshold keeps only what is relevant enough

    configure(api, admin, ENABLE_RAG_HYBRID_SEARCH=False)  # then requests cannot turn hybrid on
    off = api.post("/api/v1/retrieval/query/doc", headers=bearer(admin["token"]), json={**body, "hybrid": True}).json()
    assert off["distances"] == vector["distances"]


def test_embedded_chunks_get_an_hnsw_index_for_their_dimension(api, user, ollama):
    use_engine(ollama)
    body = upload(api, user["token"], data=b"indexed text").json()
    assert wait_done(api, user["token"], body["id"]) == "completed"
    definition = vector_index_definition(384)
    assert "hnsw" in definition and "vector(384)" in definition and "dimensions = 384" in definition


def test_query_generation_searches_with_the_models_queries(api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-GENERATED")
    configure(api, admin, ENABLE_RETRIEVAL_QUERY_GENERATION=True)
    ollama.reply = '{"queries": ["MARKER-GENERATED refunds"]}'
    question = [{"role": "user", "content": "Tell me what matters here"}]  # matches nothing by itself
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "messages": question, "files": [{"type": "file", "id": file["id"]}]})
    assert response.status_code == 200
    chats = [body for _, path, body in ollama.requests if path == "/api/chat"]
    assert len(chats) == 2 and "search queries" in chats[0]["messages"][0]["content"]
    assert "MARKER-GENERATED" in chats[1]["messages"][-1]["content"]
    assert response.json()["sources"][0]["document"]


def test_query_generation_failure_falls_back_to_the_last_message(api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-FALLBACK")
    configure(api, admin, ENABLE_RETRIEVAL_QUERY_GENERATION=True, TASK_MODEL="no-such-model")
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "messages": QUESTION, "files": [{"type": "file", "id": file["id"]}]})
    assert response.status_code == 200
    assert "MARKER-FALLBACK" in ollama.last("/api/chat")["messages"][-1]["content"]

    configure(api, admin, TASK_MODEL="")
    ollama.reply = "not JSON at all"
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "messages": QUESTION, "files": [{"type": "file", "id": file["id"]}]})
    assert response.status_code == 200
    assert "MARKER-FALLBACK" in ollama.last("/api/chat")["messages"][-1]["content"]


def test_file_update_reembeds_stale_chunks_only(api, admin, make_user, ollama):
    headers = bearer(admin["token"])
    file = upload(api, admin["token"], data=f"{FILLER}\nMARKER-UPDATE".encode()).json()
    assert wait_done(api, admin["token"], file["id"]) == "completed"
    kb = create(api, admin["token"]).json()
    api.post(f"/api/v1/knowledge/{kb['id']}/file/add", headers=headers, json={"file_id": file["id"]})
    assert set(Chunk.objects.filter(file_id=file["id"]).values_list("embedding_model", flat=True)) == {""}

    use_engine(ollama)
    response = api.post(f"/api/v1/knowledge/{kb['id']}/file/update", headers=headers, json={"file_id": file["id"]})
    assert response.status_code == 200 and [f["id"] for f in response.json()["files"]] == [file["id"]]
    assert set(Chunk.objects.filter(file_id=file["id"]).values_list("embedding_model", flat=True)) == {"embed-small"}
    embeds = len([p for _, p, _ in ollama.requests if p == "/api/embed"])
    api.post(f"/api/v1/knowledge/{kb['id']}/file/update", headers=headers, json={"file_id": file["id"]})
    assert len([p for _, p, _ in ollama.requests if p == "/api/embed"]) == embeds  # up to date: nothing to do

    other = upload(api, admin["token"], data=b"not a member").json()
    assert api.post(f"/api/v1/knowledge/{kb['id']}/file/update", headers=headers, json={"file_id": other["id"]}).status_code == 400
    stranger = make_user("Mallory")
    assert api.post(f"/api/v1/knowledge/{kb['id']}/file/update", headers=bearer(stranger["token"]),
                    json={"file_id": file["id"]}).status_code == 404


def test_deleting_a_collection_detaches_it_from_presets(api, admin, ollama):
    connect(ollama)
    headers = bearer(admin["token"])
    kb, kept = create(api, admin["token"]).json(), create(api, admin["token"], name="Kept").json()
    api.post("/api/v1/models/create", headers=headers, json={
        "id": "helpdesk", "base_model_id": "llama3.1:8b", "name": "Helpdesk", "params": {},
        "meta": {"knowledge": [{"type": "collection", "id": kb["id"]}, {"type": "collection", "id": kept["id"]}]}})
    assert api.delete(f"/api/v1/knowledge/{kb['id']}/delete", headers=headers).json() is True
    assert Model.objects.get(id="helpdesk").meta["knowledge"] == [{"type": "collection", "id": kept["id"]}]
    response = api.post("/api/chat/completions", headers=headers, json={"model": "helpdesk", "messages": QUESTION})
    assert response.status_code == 200  # the preset still answers, without the deleted collection


def test_query_generation_with_a_preset_that_has_knowledge_asks_once(api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-PRESET-GEN")
    kb = create(api, admin["token"]).json()
    api.post(f"/api/v1/knowledge/{kb['id']}/file/add", headers=bearer(admin["token"]), json={"file_id": file["id"]})
    api.post("/api/v1/models/create", headers=bearer(admin["token"]), json={
        "id": "helpdesk", "base_model_id": "llama3.1:8b", "name": "Helpdesk", "params": {},
        "meta": {"knowledge": [{"type": "collection", "id": kb["id"]}]}})
    configure(api, admin, ENABLE_RETRIEVAL_QUERY_GENERATION=True)  # the chat model (the preset) writes the queries
    ollama.reply = '{"queries": ["MARKER-PRESET-GEN"]}'
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "helpdesk", "messages": [{"role": "user", "content": "Anything to know?"}]})
    assert response.status_code == 200
    chats = [body for _, path, body in ollama.requests if path == "/api/chat"]
    assert len(chats) == 2  # the task request did not search (nor write queries) itself
    assert "<source" not in chats[0]["messages"][-1]["content"]
    assert "MARKER-PRESET-GEN" in chats[1]["messages"][-1]["content"]


def _chunk_texts(api, token, text: str) -> list[str]:
    body = upload(api, token, data=text.encode()).json()
    assert wait_done(api, token, body["id"]) == "completed"
    return list(Chunk.objects.filter(file_id=body["id"]).order_by("position").values_list("text", flat=True))


def test_token_splitting_counts_tokens_not_characters(api, admin):
    text = "café crème brûlée " * 120  # 2-byte letters: tokens of a byte-level encoding outnumber characters
    configure(api, admin, CHUNK_SIZE=100, CHUNK_OVERLAP=0)
    by_characters = _chunk_texts(api, admin["token"], text)
    assert max(len(c) for c in by_characters) > 90 and any(len(c.encode()) > 100 for c in by_characters)
    saved = configure(api, admin, TEXT_SPLITTER="token", TIKTOKEN_ENCODING_NAME="gateway_bytes")
    assert saved["TEXT_SPLITTER"] == "token"
    by_tokens = _chunk_texts(api, admin["token"], text)
    assert all(len(c.encode()) <= 100 for c in by_tokens) and len(by_tokens) > len(by_characters)
    assert "".join(by_tokens).replace(" ", "") == text.replace(" ", "")  # nothing lost (no overlap asked)


def test_an_unavailable_encoding_fails_the_file_readably(api, admin):
    configure(api, admin, TEXT_SPLITTER="token", TIKTOKEN_ENCODING_NAME="no_such_encoding")
    body = upload(api, admin["token"], data=b"some text").json()
    assert wait_done(api, admin["token"], body["id"]) == "failed"
    error = api.get(f"/api/v1/files/{body['id']}", headers=bearer(admin["token"])).json()["data"]["error"]
    assert "no_such_encoding" in error
    assert api.post("/api/v1/retrieval/config/update", headers=bearer(admin["token"]),
                    json={"TEXT_SPLITTER": "sentencepiece"}).status_code == 400
