"""Retrieval-augmented prompts: resolve the request's `files` (and a preset's knowledge), search
them, inject the context into the last user message and build `sources` (API.md §3.6, §3.7)."""

from django.conf import settings

from config.values import as_uuid
from files import embeddings
from files.models import File
from files.selectors import files_for
from knowledge import retrieval
from knowledge import selectors as knowledge_selectors
from knowledge.models import KnowledgeFile

TEMPLATE = """Use the sources below to answer the user's question. Each source is inside a <source> tag \
with an id. Cite the sources you use as [id] right after the sentence that relies on them. If the \
sources do not contain the answer, say so plainly and answer from what you know, without citations. \
Answer in the language of the question.

<context>
{context}
</context>

"""


class UnknownSource(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


async def query_vector(messages: list[dict]) -> tuple[list[float] | None, str]:
    """The last user message embedded with the configured engine, or (None, "") for keywords only."""
    from config.db import db_call

    engine = await db_call(embeddings.engine)()
    text = last_user_text(messages)
    if engine is None or not text:
        return None, ""
    try:
        return await embeddings.embed_query(engine, text), engine.model
    except embeddings.EmbeddingError:
        return None, ""


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
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            return content or ""
    return ""


def gather(user, body: dict, preset_knowledge: list, vector: list[float] | None = None, model: str = "") -> list[dict]:
    """The `sources` for a request (one entry per item with results). Unknown or forbidden ids are
    an error, with the same message either way (DECISIONS #5). One unit of database work."""
    items = _items(body, preset_knowledge)
    if not items:
        return []
    query = last_user_text(body.get("messages") or [])
    file_ids = [str(i.get("id")) for i in items if i["type"] == "file"]
    kb_ids = [str(i.get("id")) for i in items if i["type"] == "collection"]
    files = {str(f.id): f for f in files_for(user).filter(id__in=[u for u in map(as_uuid, file_ids) if u])}
    kbs = {str(k.id): k for k in knowledge_selectors.readable(user).filter(id__in=[u for u in map(as_uuid, kb_ids) if u])}
    for file_id in file_ids:
        if file_id not in files:
            raise UnknownSource(f"File not found: {file_id}")
    for kb_id in kb_ids:
        if kb_id not in kbs:
            raise UnknownSource(f"Knowledge not found: {kb_id}")
    members: dict[str, list[str]] = {k: [] for k in kbs}
    for kb_id, file_id in KnowledgeFile.objects.filter(knowledge_id__in=list(kbs)).values_list("knowledge_id", "file_id"):
        members[str(kb_id)].append(str(file_id))
    sources = []
    for item in items:
        source = {k: v for k, v in item.items() if k != "data"}
        if item["type"] == "text":
            if item.get("content"):
                sources.append({"source": source, "document": [item["content"]], "metadata": [{"name": item.get("name", "")}]})
            continue
        scope = [str(item["id"])] if item["type"] == "file" else members[str(item["id"])]
        if item.get("context") == "full":
            full = File.objects.filter(id__in=scope, status=File.Status.COMPLETED).values_list("filename", "content", "id")
            docs = [(c, {"name": n, "file_id": str(i), "source": n}) for n, c, i in full if c]
            if docs:
                sources.append({"source": source, "document": [d for d, _ in docs], "metadata": [m for _, m in docs]})
            continue
        hits = retrieval.hybrid_search(scope, query, vector, model, settings.RAG_TOP_K)
        if hits:
            sources.append({"source": source, "document": [h.text for h in hits], "metadata": [h.metadata for h in hits],
                            "distances": [h.score for h in hits]})
    return sources


def inject(messages: list[dict], sources: list[dict]) -> list[dict]:
    """The RAG template, with numbered <source> tags, before the last user message's text."""
    ids: dict[str, int] = {}
    lines = []
    for entry in sources:
        for document, metadata in zip(entry["document"], entry["metadata"]):
            name = metadata.get("name") or metadata.get("source") or entry["source"].get("name") or "source"
            number = ids.setdefault(metadata.get("file_id") or name, len(ids) + 1)
            lines.append(f'<source id="{number}" name="{_escape(name)}">{document}</source>')
    prompt = TEMPLATE.format(context="\n".join(lines))
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


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
