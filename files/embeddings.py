"""Embedding engines (API.md §6.2): Ollama `/api/embed` and OpenAI-compatible `/embeddings`, in
batches. No engine configured means keyword-only retrieval (DECISIONS #17)."""

from dataclasses import dataclass

import httpx

from config import runtime


class EmbeddingError(Exception):
    pass


@dataclass(frozen=True)
class Engine:
    kind: str
    model: str
    url: str
    key: str
    batch_size: int
    query_prefix: str = ""  # instruction prefixes some models want (e.g. "search_query: ")
    content_prefix: str = ""
    prefix_field: str = ""  # when set, the prefix goes in this body field instead of before each text

    @property
    def path(self) -> str:
        return "/api/embed" if self.kind == "ollama" else "/embeddings"

    def body(self, texts: list[str], purpose: str = "content") -> dict:
        texts = [t.replace("\n", " ") for t in texts]  # only what the embedder sees; stored text keeps them
        prefix = self.query_prefix if purpose == "query" else self.content_prefix
        if prefix and not self.prefix_field:
            texts = [prefix + t for t in texts]
        body = {"model": self.model, "input": texts}
        if prefix and self.prefix_field:
            body[self.prefix_field] = prefix
        if self.kind == "ollama":
            body["truncate"] = True
        return body

    def vectors(self, data: dict, expected: int) -> list[list[float]]:
        if self.kind == "ollama":
            vectors = data.get("embeddings")
        else:
            vectors = [item["embedding"] for item in sorted(data.get("data", []), key=lambda i: i.get("index", 0))]
        if not isinstance(vectors, list) or len(vectors) != expected:
            raise EmbeddingError("The embedding upstream returned an unexpected answer.")
        return vectors

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


def engine(config: dict | None = None) -> Engine | None:
    """The configured engine (from `config`, the runtime settings, when given), or None."""
    config = config or runtime.snapshot()
    kind, model = config["RAG_EMBEDDING_ENGINE"], config["RAG_EMBEDDING_MODEL"]
    if not kind or not model:
        return None
    url = config["RAG_OLLAMA_BASE_URL"] if kind == "ollama" else config["RAG_OPENAI_API_BASE_URL"]
    key = config["RAG_OLLAMA_API_KEY"] if kind == "ollama" else config["RAG_OPENAI_API_KEY"]
    return Engine(kind, model, url.rstrip("/"), key, config["RAG_EMBEDDING_BATCH_SIZE"],
                  config["RAG_EMBEDDING_QUERY_PREFIX"], config["RAG_EMBEDDING_CONTENT_PREFIX"],
                  config["RAG_EMBEDDING_PREFIX_FIELD_NAME"])


_sync_clients: dict[tuple, httpx.Client] = {}


def embed(engine: Engine, texts: list[str], *, timeout: float = 120, purpose: str = "content") -> list[list[float]]:
    """Embed texts in batches (synchronous: the worker and sync views; pooled per endpoint)."""
    key = (engine.url, engine.key)
    client = _sync_clients.get(key)
    if client is None:
        client = _sync_clients[key] = httpx.Client(base_url=engine.url, headers=engine.headers)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), engine.batch_size):
        batch = texts[start:start + engine.batch_size]
        try:
            response = client.post(engine.path, json=engine.body(batch, purpose), timeout=timeout)
            response.raise_for_status()
            vectors.extend(engine.vectors(response.json(), len(batch)))
        except (httpx.HTTPError, ValueError) as exc:
            raise EmbeddingError(f"Embedding failed: {exc.__class__.__name__}") from exc
    return vectors


_async_clients: dict[tuple, httpx.AsyncClient] = {}


async def embed_queries(engine: Engine, texts: list[str], *, timeout: float = 10) -> list[list[float]]:
    """Query vectors on the request path, in one call (pooled async client)."""
    key = (engine.url, engine.key)
    client = _async_clients.get(key)
    if client is None or client.is_closed:
        client = _async_clients[key] = httpx.AsyncClient(base_url=engine.url, headers=engine.headers, timeout=timeout)
    try:
        response = await client.post(engine.path, json=engine.body(texts, "query"))
        response.raise_for_status()
        return engine.vectors(response.json(), len(texts))
    except (httpx.HTTPError, ValueError) as exc:
        raise EmbeddingError(f"Embedding failed: {exc.__class__.__name__}") from exc
