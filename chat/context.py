"""Retrieval-augmented prompts: resolve the request's `files` (and a preset's knowledge), search
them, inject the context into the last user message and build `sources` (API.md §3.6, §3.7)."""

import asyncio
from dataclasses import dataclass

from config.common.db import db_call
from config.common.values import as_uuid
from files import embeddings
from files.models import File
from files.selectors import files_for
from knowledge import retrieval
from knowledge import selectors as knowledge_selectors


class UnknownSource(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Queries:
    """What to search for: texts, their vectors as they are being computed (None: keywords only),
    and the embedding model."""
    texts: list[str]
    vectors: asyncio.Future
    model: str = ""

    async def vector(self, n: int) -> list[float] | None:
        vectors = await self.vectors
        return vectors[n] if vectors else None

    def cancel(self) -> None:
        """Stop the embedding if it is still running (the request failed or went away)."""
        self.vectors.cancel()


def embed(texts: list[str], config: dict) -> Queries:
    """Start embedding the query texts with the configured engine, when there is one; searches
    await the vectors (None if the engine fails): their keyword side need not."""
    engine = embeddings.engine(config)
    if engine is None or not texts:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return Queries(texts, done)
    return Queries(texts, asyncio.ensure_future(_vectors(engine, texts)), engine.model)


async def _vectors(engine: embeddings.Engine, texts: list[str]) -> list[list[float]] | None:
    try:
        return await embeddings.embed_queries(engine, texts)
    except embeddings.EmbeddingError:
        return None


def _items(body: dict, preset_knowledge: list) -> list[dict]:
    items, seen = [], set()
    for item in [*(body.get("files") or []), *preset_knowledge]:
        if not isinstance(item, dict) or item.get("type") not in ("file", "collection", "text"):
            continue
        key = (item.get("type"), item.get("id"), item.get("content"))
        if key not in seen:
            seen.add(key)
            items.append(item)
    return items


def last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def message_text(content) -> str:
    """The text of a message's content, plain or in parts."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content if isinstance(content, str) else ""


@dataclass(frozen=True)
class Source:
    """A request item with the ids of the files it covers (None for inline text)."""
    item: dict
    scope: list[str] | None


def resolve(user, body: dict, preset_knowledge: list) -> list[Source]:
    """Each item of the request with what it covers. Unknown or forbidden ids are an error, with the
    same message either way (DECISIONS #5). One unit of database work, which needs no query vector:
    it runs while the query is being embedded (`embed`)."""
    items = _items(body, preset_knowledge)
    if not items:
        return []
    file_ids = [str(i.get("id")) for i in items if i["type"] == "file"]
    kb_ids = [str(i.get("id")) for i in items if i["type"] == "collection"]
    files = {str(i) for i in files_for(user).filter(id__in=[u for u in map(as_uuid, file_ids) if u]).values_list("id", flat=True)}
    members = knowledge_selectors.readable_members(user, [u for u in map(as_uuid, kb_ids) if u]) if kb_ids else {}
    for file_id in file_ids:
        if file_id not in files:
            raise UnknownSource(f"File not found: {file_id}")
    for kb_id in kb_ids:
        if kb_id not in members:
            raise UnknownSource(f"Knowledge not found: {kb_id}")
    return [Source(item, None if item["type"] == "text" else [str(item["id"])] if item["type"] == "file"
                   else members[str(item["id"])]) for item in items]


async def collect(resolved: list[Source], queries: Queries, config: dict) -> list[dict]:
    """The `sources` for the resolved items (one entry per item with results): whole documents or
    the best chunks. A bounded number of queries whatever the number of items: one for all the
    whole documents, and each search covers every searched item."""
    scoped = [(n, s) for n, s in enumerate(resolved) if s.scope is not None]
    searched = [n for n, s in scoped if _searched(s.item, config)]
    whole = [f for _, s in scoped if not _searched(s.item, config) for f in s.scope]
    documents = await db_call(_whole_documents)(whole) if whole else {}
    found = dict(zip(searched, await _search([resolved[n].scope for n in searched], queries, config))) if searched else {}
    sources = []
    for n, resolved_item in enumerate(resolved):
        item, scope = resolved_item.item, resolved_item.scope
        source = {k: v for k, v in item.items() if k != "data"}
        if scope is None:
            if item.get("content"):
                sources.append({"source": source, "document": [item["content"]], "metadata": [{"name": item.get("name", "")}]})
        elif n in found:
            hits = found[n]
            if hits:
                sources.append({"source": source, "document": [h.text for h in hits], "metadata": [h.metadata for h in hits],
                                "distances": [h.score for h in hits]})
        else:
            docs = [documents[f] for f in scope if f in documents]
            if docs:
                sources.append({"source": source, "document": [d for d, _ in docs], "metadata": [m for _, m in docs]})
    return sources


def _searched(item: dict, config: dict) -> bool:
    """Whether the item's best chunks are searched for (not its whole documents)."""
    return item.get("context") != "full" and not config["RAG_FULL_CONTEXT"]


def needs_search(body: dict, preset_knowledge: list) -> bool:
    """Whether any item is searched (not text, not whole documents): only then are queries needed."""
    return any(i["type"] != "text" and i.get("context") != "full" for i in _items(body, preset_knowledge))


def _whole_documents(file_ids: list[str]) -> dict[str, tuple[str, dict]]:
    """The completed files' texts with their metadata, by file id."""
    full = File.objects.filter(id__in=file_ids, status=File.Status.COMPLETED).values_list("filename", "content", "id")
    return {str(i): (c, {"name": n, "file_id": str(i), "source": n}) for n, c, i in full if c}


async def _search(scopes: list[list[str]], queries: Queries, config: dict) -> list[list[retrieval.Hit]]:
    """Each scope's best chunks for the queries, merged keeping each chunk's best score, best first
    (API.md §3.6): a search a query, over every scope at once."""
    k = config["RAG_TOP_K"]
    best: list[dict[str, retrieval.Hit]] = [{} for _ in scopes]
    for n, text in enumerate(queries.texts):
        found = await retrieval.asearch(scopes, text, queries.vector(n), queries.model, k, hybrid=config["ENABLE_RAG_HYBRID_SEARCH"],
                                        keyword_weight=config["RAG_HYBRID_BM25_WEIGHT"], threshold=config["RAG_RELEVANCE_THRESHOLD"])
        for kept, hits in zip(best, found):
            for hit in hits:
                if hit.id not in kept or hit.score > kept[hit.id].score:
                    kept[hit.id] = hit
    return [sorted(kept.values(), key=lambda h: h.score, reverse=True)[:k] for kept in best]


def inject(messages: list[dict], sources: list[dict], template: str) -> list[dict]:
    """The RAG template, with numbered <source> tags, before the last user message's text."""
    ids: dict[str, int] = {}
    lines = []
    for entry in sources:
        for document, metadata in zip(entry["document"], entry["metadata"]):
            name = metadata.get("name") or metadata.get("source") or entry["source"].get("name") or "source"
            number = ids.setdefault(metadata.get("file_id") or name, len(ids) + 1)
            lines.append(f'<source id="{number}" name="{_escape(name)}">{document}</source>')
    prompt = _render(template, "\n".join(lines), last_user_text(messages))
    messages = [dict(m) for m in messages]
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                message["content"] = [
                    {**p, "text": prompt + p.get("text", "")} if isinstance(p, dict) and p.get("type") == "text" else p
                    for p in content
                ]
            else:
                message["content"] = prompt + (content or "")
            return messages
    return [*messages, {"role": "user", "content": prompt}]


def _render(template: str, context: str, query: str) -> str:
    """Open WebUI's placeholders: {{CONTEXT}} or [context], {{QUERY}} or [query]."""
    for mark in ("{{CONTEXT}}", "[context]"):
        template = template.replace(mark, context)
    for mark in ("{{QUERY}}", "[query]"):
        template = template.replace(mark, query)
    return template


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
