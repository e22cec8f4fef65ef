"""The embedding engine of the runtime settings (API.md §6.2), called through its provider in
batches. The engine's endpoint (RAG_OLLAMA_BASE_URL or RAG_OPENAI_API_BASE_URL and its key) need not
be a connection: it gets a provider of its own with pooled clients. No engine configured means
keyword-only retrieval (DECISIONS #17)."""

import contextvars
from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from config import runtime
from models_registry import providers
from models_registry.providers import UpstreamError

ENDPOINT = "rag-embedding"  # names the engine's pooled clients
MAX_CONCURRENT = 16  # in flight at once when RAG_EMBEDDING_CONCURRENT_REQUESTS is 0 (Open WebUI's "no limit")
FIRST_BATCH = 8  # texts in the first of a stream's batches (`stream`)


class EmbeddingError(Exception):
    pass


@dataclass(frozen=True)
class Engine:
    provider: providers.Provider
    model: str
    batch_size: int
    query_prefix: str = ""  # instruction prefixes some models want (e.g. "search_query: ")
    content_prefix: str = ""
    prefix_field: str = ""  # when set, the prefix goes in this body field instead of before each text
    concurrent: int = 1  # batch requests in flight at once

    def request(self, texts: list[str], purpose: str) -> tuple[list[str], dict]:
        """The texts as the embedder sees them, and the extra body fields."""
        texts = [t.replace("\n", " ") for t in texts]  # only what the embedder sees; stored text keeps them
        prefix = self.query_prefix if purpose == "query" else self.content_prefix
        if prefix and not self.prefix_field:
            return [prefix + t for t in texts], {}
        return texts, {self.prefix_field: prefix} if prefix else {}


def engine(config: dict | None = None) -> Engine | None:
    """The configured engine (from `config`, the runtime settings, when given), or None."""
    config = config or runtime.snapshot()
    kind, model = config["RAG_EMBEDDING_ENGINE"], config["RAG_EMBEDDING_MODEL"]
    if not kind or not model:
        return None
    return Engine(providers.from_settings(ENDPOINT, kind, config), model, config["RAG_EMBEDDING_BATCH_SIZE"], config["RAG_EMBEDDING_QUERY_PREFIX"],
                  config["RAG_EMBEDDING_CONTENT_PREFIX"], config["RAG_EMBEDDING_PREFIX_FIELD_NAME"],
                  config.get("RAG_EMBEDDING_CONCURRENT_REQUESTS", 1) or MAX_CONCURRENT)


def embed(engine: Engine, texts: list[str], *, timeout: float = 120, purpose: str = "content") -> list[list[float]]:
    """Embed texts in batches, one request after the other (synchronous: sync views)."""
    return [vector for start in range(0, len(texts), engine.batch_size)
            for vector in _batch(engine, texts[start:start + engine.batch_size], timeout, purpose)]


def stream(engine: Engine, texts: list[str], *, timeout: float = 120, purpose: str = "content") -> Generator[list[float]]:
    """The texts' vectors in order, as their batches arrive: up to `engine.concurrent` batch requests
    in flight, so a caller writing the vectors overlaps with the next ones being computed, and at
    most that many batches are held at once. EmbeddingError from the first batch that fails."""
    if len(texts) <= engine.batch_size or engine.concurrent <= 1:
        for start in range(0, len(texts), engine.batch_size):
            yield from _batch(engine, texts[start:start + engine.batch_size], timeout, purpose)
        return
    # The first batch is small: the caller starts writing when it arrives, not a whole batch later
    # (1 MB of text: the first 64 vectors took 35 ms to arrive, bench.ingest).
    first = min(FIRST_BATCH, engine.batch_size)
    spans = iter([(0, first), *((start, start + engine.batch_size) for start in range(first, len(texts), engine.batch_size))])
    with ThreadPoolExecutor(engine.concurrent, thread_name_prefix="embed") as pool:
        in_flight: deque[Future] = deque()

        def send_next() -> None:
            span = next(spans, None)
            if span is not None:
                in_flight.append(pool.submit(contextvars.copy_context().run, _batch, engine,  # the caller, for the ledger
                                             texts[span[0]:span[1]], timeout, purpose))

        for _ in range(engine.concurrent):
            send_next()
        try:
            while in_flight:
                vectors = in_flight.popleft().result()
                send_next()
                yield from vectors
        finally:  # stopped early (an error, here or in the caller): send nothing more
            for future in in_flight:
                future.cancel()


def _batch(engine: Engine, texts: list[str], timeout: float, purpose: str) -> list[list[float]]:
    batch, extra = engine.request(texts, purpose)
    try:
        return engine.provider.embed(engine.model, batch, extra=extra, timeout=timeout)
    except UpstreamError as exc:
        raise EmbeddingError(f"Embedding failed: {exc.detail}") from exc


async def embed_queries(engine: Engine, texts: list[str], *, timeout: float = 10) -> list[list[float]]:
    """Query vectors on the request path, in one call."""
    batch, extra = engine.request(texts, "query")
    try:
        return await engine.provider.aembed(engine.model, batch, extra=extra, timeout=timeout)
    except UpstreamError as exc:
        raise EmbeddingError(f"Embedding failed: {exc.detail}") from exc
