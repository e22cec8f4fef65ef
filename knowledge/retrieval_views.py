"""/api/v1/retrieval/* (API.md §6.1, §6.3): embedding settings (admin) and direct queries."""

import re

from django.conf import settings
from django.db import transaction
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Forbidden, IsAdmin
from config import runtime
from config.values import as_uuid, mask_secret
from files import embeddings
from files.models import Chunk, File
from files.selectors import files_for
from files.tasks import process_file
from knowledge import retrieval, selectors
from knowledge.models import KnowledgeFile

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
EMBEDDING_KEYS = ("RAG_EMBEDDING_ENGINE", "RAG_EMBEDDING_MODEL", "RAG_EMBEDDING_BATCH_SIZE")


def _embedding_out() -> dict:
    config = runtime.snapshot()
    return {
        "status": True, **{k: config[k] for k in EMBEDDING_KEYS},
        "ENABLE_ASYNC_EMBEDDING": True, "RAG_EMBEDDING_CONCURRENT_REQUESTS": 0,
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
        engine = embeddings.engine()
        model = engine.model if engine else ""
        stale = set(Chunk.objects.exclude(embedding_model=model).values_list("file_id", flat=True).distinct())
        with transaction.atomic():
            File.objects.filter(id__in=stale).update(status=File.Status.PENDING, error="")
            for file_id in stale:
                process_file.defer(file_id=str(file_id))
        return Response({"status": True, "queued": len(stale)})


def _scope(user, name: str) -> list[str]:
    """File ids behind a collection name the caller may read: `file-<id>` or a knowledge id."""
    if not isinstance(name, str) or not NAME.match(name):
        raise Forbidden("Invalid collection name.")
    if name.startswith("file-"):
        file_id = as_uuid(name[5:])
        file = files_for(user).filter(id=file_id).first() if file_id else None
        if file is None:
            raise Forbidden("You do not have access to this collection.")
        return [str(file.id)]
    kb_id = as_uuid(name)
    kb = selectors.readable(user).filter(id=kb_id).first() if kb_id else None
    if kb is None:
        raise Forbidden("You do not have access to this collection.")
    return [str(f) for f in KnowledgeFile.objects.filter(knowledge=kb).values_list("file_id", flat=True)]


def _search(request, names: list[str]) -> list[retrieval.Hit]:
    data = request.data if isinstance(request.data, dict) else {}
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("query is required.")
    k = data.get("k") or settings.RAG_TOP_K
    if not isinstance(k, int) or k < 1:
        raise ValidationError("k must be a positive integer.")
    scope = [file_id for name in names for file_id in _scope(request.user, name)]
    engine = embeddings.engine()
    vector = None
    if engine is not None and data.get("hybrid") is not False:
        try:
            vector = embeddings.embed(engine, [query], timeout=10)[0]
        except embeddings.EmbeddingError:
            vector = None
    return retrieval.hybrid_search(scope, query, vector, engine.model if engine else "", k)


class QueryDocView(APIView):
    def post(self, request):
        name = request.data.get("collection_name") if isinstance(request.data, dict) else None
        hits = _search(request, [name])
        return Response({"ids": [[h.id for h in hits]], "documents": [[h.text for h in hits]],
                         "metadatas": [[h.metadata for h in hits]], "distances": [[h.score for h in hits]]})


class QueryCollectionView(APIView):
    def post(self, request):
        names = request.data.get("collection_names") if isinstance(request.data, dict) else None
        if not isinstance(names, list) or not names:
            raise ValidationError("collection_names must be a non-empty list.")
        hits = _search(request, names)
        return Response({"documents": [[h.text for h in hits]], "metadatas": [[h.metadata for h in hits]],
                         "distances": [[h.score for h in hits]]})
