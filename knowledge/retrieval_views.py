"""/api/v1/retrieval/* (API.md §6.1, §6.3): embedding settings (admin) and direct queries."""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config import runtime
from config.common.db import in_parallel
from config.common.errors import ApplicationError
from config.common.values import as_uuid, mask_secret
from files import embeddings
from files import services as file_services
from files.selectors import files_for
from knowledge import rag_config, retrieval, selectors
from knowledge.models import KnowledgeFile

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
EMBEDDING_KEYS = ("RAG_EMBEDDING_ENGINE", "RAG_EMBEDDING_MODEL", "RAG_EMBEDDING_BATCH_SIZE", "RAG_EMBEDDING_CONCURRENT_REQUESTS")


def _embedding_out() -> dict:
    config = runtime.snapshot()
    return {
        "status": True, **{k: config[k] for k in EMBEDDING_KEYS},
        "ENABLE_ASYNC_EMBEDDING": True,
        "openai_config": {"url": config["RAG_OPENAI_API_BASE_URL"], "key": mask_secret(config["RAG_OPENAI_API_KEY"])},
        "ollama_config": {"url": config["RAG_OLLAMA_BASE_URL"], "key": mask_secret(config["RAG_OLLAMA_API_KEY"])},
    }


class EmbeddingConfigView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return Response(_embedding_out())

    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        values = {k: data[k] for k in EMBEDDING_KEYS if k in data}
        for section, prefix in (("openai_config", "RAG_OPENAI_API"), ("ollama_config", "RAG_OLLAMA")):
            part = data.get(section) or {}
            if "url" in part:
                values[f"{prefix}_BASE_URL"] = part["url"]
            if part.get("key") and "…" not in part["key"] and part["key"] != "•••":
                values[f"{prefix}_KEY" if prefix == "RAG_OPENAI_API" else "RAG_OLLAMA_API_KEY"] = part["key"]
        errors = [e for e in (runtime.validation_error(k, v) for k, v in values.items()) if e]
        if errors:
            raise ValidationError("; ".join(errors))
        runtime.update(values)
        return Response(_embedding_out())


class ReindexView(APIView):
    """Queue every file whose chunks were embedded with another model (or none) than the current one."""

    permission_classes = [IsAdmin]

    def post(self, request):
        return Response({"status": True, "queued": file_services.reindex_stale()})


def _scope(user, name: str) -> list[str]:
    """File ids behind a collection name the caller may read: `file-<id>` or a knowledge id."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ApplicationError(403, "Invalid collection name.")
    if name.startswith("file-"):
        file_id = as_uuid(name[5:])
        if not (file_id and files_for(user).filter(id=file_id).exists()):
            raise ApplicationError(403, "You do not have access to this collection.")
        return [str(file_id)]
    kb_id = as_uuid(name)
    kb = selectors.readable(user).filter(id=kb_id).first() if kb_id else None
    if kb is None:
        raise ApplicationError(403, "You do not have access to this collection.")
    return [str(f) for f in KnowledgeFile.objects.filter(knowledge=kb).values_list("file_id", flat=True)]


def _search(request, names: list[str]) -> tuple[list[retrieval.Hit], bool]:
    """The hits for a query body, and whether they came from the hybrid path."""
    data = request.data if isinstance(request.data, dict) else {}
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("query is required.")
    config = runtime.snapshot()
    k = data.get("k") or config["RAG_TOP_K"]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise ValidationError("k must be an integer from 1 to 1000.")
    threshold = data.get("r") or config["RAG_RELEVANCE_THRESHOLD"]
    weight = data.get("hybrid_bm25_weight")
    weight = config["RAG_HYBRID_BM25_WEIGHT"] if weight is None else weight
    for name, value in (("r", threshold), ("hybrid_bm25_weight", weight)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ValidationError(f"{name} must be a number from 0 to 1.")
    engine = embeddings.engine(config)
    # the query is embedded while the collections are looked up
    embedding = in_parallel(lambda: embeddings.embed(engine, [query], timeout=10, purpose="query")) if engine else None
    scope = [file_id for name in names for file_id in _scope(request.user, name)]
    try:
        vector = embedding.result()[0] if embedding else None
    except embeddings.EmbeddingError:
        vector = None
    hybrid = config["ENABLE_RAG_HYBRID_SEARCH"] and data.get("hybrid") is not False
    hits = retrieval.search(scope, query, vector, engine.model if engine else "", k,
                            hybrid=hybrid, keyword_weight=weight, threshold=threshold)
    return hits, hybrid or vector is None


def _metadata(hit: retrieval.Hit, scored: bool) -> dict:
    return {**hit.metadata, "score": hit.score} if scored else hit.metadata


class QueryDocView(APIView):
    def post(self, request):
        name = request.data.get("collection_name") if isinstance(request.data, dict) else None
        hits, fused = _search(request, [name])
        # `ids` on every path (Open WebUI has them on the vector path only): a superset no client minds
        return Response({"ids": [[h.id for h in hits]], "documents": [[h.text for h in hits]],
                         "metadatas": [[_metadata(h, fused) for h in hits]], "distances": [[h.score for h in hits]]})


class QueryCollectionView(APIView):
    def post(self, request):
        names = request.data.get("collection_names") if isinstance(request.data, dict) else None
        if not isinstance(names, list) or not names:
            raise ValidationError("collection_names must be a non-empty list.")
        hits, fused = _search(request, names)
        return Response({"documents": [[h.text for h in hits]], "metadatas": [[_metadata(h, fused) for h in hits]],
                         "distances": [[h.score for h in hits]]})


class RetrievalConfigView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return Response(rag_config.config_out())

    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError("The body must be a JSON object.")
        errors = rag_config.update(request.data)
        if errors:
            raise ValidationError("; ".join(errors))
        return Response(rag_config.config_out())
