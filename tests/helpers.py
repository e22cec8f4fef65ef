"""What several test modules share: calls to the live server's API and the texts they use. Test
modules import from here (or conftest/factories), never from one another (tests/test_suite_hygiene.py)."""

import asyncio
import json
import threading
import time
import uuid

from django.db import connection, connections
from django.db.backends.signals import connection_created

from config.runtime.models import RuntimeSetting
from tests import factories
from tests.conftest import bearer

# A long, irrelevant text around what a retrieval test looks for, so the file has several chunks.
FILLER = "The cafeteria serves lunch from noon. Parking is behind building C. " * 30
QUESTION = [{"role": "user", "content": "How many days does a refund take?"}]

PRESET = {"id": "support-bot", "base_model_id": "llama3.1:8b", "name": "Support Bot",
          "meta": {"description": "helps", "tags": [{"name": "support"}]}, "params": {"system": "Be kind.", "temperature": 0.2}}


def upload(api, token, name="notes.txt", data=b"hello world", content_type="text/plain", **params):
    return api.post("/api/v1/files/", files={"file": (name, data, content_type)}, params=params, headers=bearer(token))


def wait_done(api, token, file_id, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.get(f"/api/v1/files/{file_id}/process/status", headers=bearer(token)).json()["status"]
        if status in ("completed", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError("processing did not finish")


def ready_file(api, token, marker: str, name="refunds.md"):
    """A markdown file uploaded and processed, whose one relevant chunk holds `marker`."""
    text = f"{FILLER}\n\nRefunds are processed within 14 days. {marker}\n\n{FILLER}"
    body = upload(api, token, name=name, data=text.encode(), content_type="text/markdown").json()
    assert wait_done(api, token, body["id"]) == "completed"
    return body


def create_knowledge(api, token, name="Handbook", **extra):
    return api.post("/api/v1/knowledge/create", json={"name": name, "description": "Policies", **extra}, headers=bearer(token))


def use_engine(upstream, kind="ollama", batch=2):
    """Embed with a fake upstream's embedding endpoint."""
    for key, value in {"RAG_EMBEDDING_ENGINE": kind, "RAG_EMBEDDING_MODEL": "embed-small", "RAG_EMBEDDING_BATCH_SIZE": batch,
                       "RAG_OLLAMA_BASE_URL" if kind == "ollama" else "RAG_OPENAI_API_BASE_URL": upstream.url}.items():
        RuntimeSetting.objects.update_or_create(key=key, defaults={"value": value})


def ws_url(gateway, token=None):
    base = gateway.url.replace("http://", "ws://") + "/ws/chat/"
    return f"{base}?token={token}" if token else base


class AllQueries:
    """Every query this process runs while the block runs, on any thread: the request path does its
    database work on pool threads (config.common.db.db_call, in_parallel), each unit on a connection it
    opens for the unit, so Django's CaptureQueriesContext (one thread's connection) would miss it.
    Counts what goes through Django's cursors, as CaptureQueriesContext does (not connection set-up)."""

    def __init__(self):
        self.queries: list[str] = []
        self._lock = threading.Lock()
        self._wrapped: list = []

    def __call__(self, execute, sql, params, many, context):
        if threading.current_thread().name != "usage-ledger":  # batched ledger writes: off the request path
            with self._lock:
                self.queries.append(sql)
        return execute(sql, params, many, context)

    def _watch(self, connection, **_) -> None:
        with self._lock:
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)
                self._wrapped.append(connection)

    def __len__(self) -> int:
        return len(self.queries)

    def __enter__(self):
        connection_created.connect(self._watch)
        for alias in connections:  # this thread's connections, which may be open already
            self._watch(connections[alias])
        return self

    def __exit__(self, *exc):
        connection_created.disconnect(self._watch)
        with self._lock:
            for connection in self._wrapped:
                if self in connection.execute_wrappers:
                    connection.execute_wrappers.remove(self)


def ws_frame(text: str) -> dict:
    """A server WebSocket message without its `request_id` (each carries one, a non-empty string)."""
    message = json.loads(text)
    request_id = message.pop("request_id")
    assert isinstance(request_id, str) and request_id, message
    return message


# --- chat history --------------------------------------------------------------------------------


def chat_body(title="Refund question", question="How do I get a refund?", answer="Send the receipt to billing.",
              model="llama3.1:8b") -> dict:
    """Open WebUI's chat JSON: a user message and its answer, in `history` and in `messages`."""
    q, a = str(uuid.uuid4()), str(uuid.uuid4())
    messages = {
        q: {"id": q, "parentId": None, "childrenIds": [a], "role": "user", "content": question, "timestamp": 1700000000},
        a: {"id": a, "parentId": q, "childrenIds": [], "role": "assistant", "content": answer, "model": model,
            "timestamp": 1700000003},
    }
    return {"title": title, "models": [model], "history": {"messages": messages, "currentId": a},
            "messages": [messages[q], messages[a]], "tags": [], "params": {"temperature": 0.2}, "timestamp": 1700000000000}


def new_chat(api, session, **fields) -> dict:
    """POST /api/v1/chats/new with `chat_body(**fields)`; the saved chat."""
    response = api.post("/api/v1/chats/new", json={"chat": chat_body(**fields)}, headers=bearer(session["token"]))
    assert response.status_code == 200, response.text
    return response.json()


# --- query counts (tests/test_query_counts.py and the families' own) ---------------------------------


def session_headers(account) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.session(account)['token']}"}


async def _joined(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def count_get(client, url, headers) -> tuple[int, dict]:
    """The queries of a GET, including those its streamed body makes (files' texts: files.streaming)."""
    with AllQueries() as queries:
        response = client.get(url, **headers)
        if not response.streaming:
            content = response.content
        elif response.is_async:
            content = asyncio.run(_joined(response.streaming_content))
        else:
            content = b"".join(response.streaming_content)
        body = json.loads(content)
    assert response.status_code == 200, body
    return len(queries), body


HELLO = [{"role": "user", "content": "hello there"}]


def chat(api, token, model="llama3.1:8b", **body):
    return api.post("/api/chat/completions", json={"model": model, "messages": HELLO, **body}, headers=bearer(token))


def fresh_minute() -> None:
    """Per-minute windows: start a test well inside one, so its requests share it."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def vector_index_definition(dims: int, timeout: float = 30) -> str:
    """The definition of the dimension's HNSW index once it is valid: a file says completed as soon
    as its chunks are in, and the index is built (or rebuilt) right after."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "WHERE c.relname = %s AND i.indisvalid", [f"chunk_embedding_hnsw_{dims}"])
            row = cursor.fetchone()
        if row:
            return row[0]
        assert time.monotonic() < deadline, f"no valid vector index for {dims} dimensions"
        time.sleep(0.05)
