"""/api/v1/retrieval/* (API.md §6.1, §6.3): embedding settings (admin) and direct queries."""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config import runtime
from config.common.db import in_parallel
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.values import as_uuid, mask_secret
from files import embeddings
from files import services as file_services
from files.selectors import files_for
from files.streaming import Text, json_response
from knowledge import indexing, rag_config, retrieval, selectors
from knowledge.models import KnowledgeFile
from knowledge.serializers import (
    DeleteEntriesIn,
    EmbeddingConfigIn,
    ProcessBatchIn,
    ProcessFileIn,
    ProcessTextIn,
    QueryCollectionIn,
    QueryDocIn,
    RetrievalConfigIn,
)

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

    @extend_schema(request=EmbeddingConfigIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        runtime.update(validated(EmbeddingConfigIn, request.data, status=400))
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


def _search(request, data: dict, names: list[str]) -> tuple[list[retrieval.Hit], bool]:
    """The hits for a validated query body (knowledge.serializers), and whether they came from the hybrid path."""
    query = data["query"]
    config = runtime.snapshot()
    k = data.get("k") or config["RAG_TOP_K"]
    threshold = data.get("r") or config["RAG_RELEVANCE_THRESHOLD"]
    weight = data.get("hybrid_bm25_weight")
    weight = config["RAG_HYBRID_BM25_WEIGHT"] if weight is None else weight
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
    @extend_schema(request=QueryDocIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(QueryDocIn, request.data, status=400)
        hits, fused = _search(request, data, [data["collection_name"]])
        # `ids` on every path (Open WebUI has them on the vector path only): a superset no client minds
        return Response({"ids": [[h.id for h in hits]], "documents": [[h.text for h in hits]],
                         "metadatas": [[_metadata(h, fused) for h in hits]], "distances": [[h.score for h in hits]]})


class QueryCollectionView(APIView):
    @extend_schema(request=QueryCollectionIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(QueryCollectionIn, request.data, status=400)
        hits, fused = _search(request, data, data["collection_names"])
        return Response({"documents": [[h.text for h in hits]], "metadatas": [[_metadata(h, fused) for h in hits]],
                         "distances": [[h.score for h in hits]]})


class RetrievalConfigView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return Response(rag_config.config_out())

    @extend_schema(request=RetrievalConfigIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        rag_config.update(validated(RetrievalConfigIn, request.data, status=400))
        return Response(rag_config.config_out())


class ProcessFileView(APIView):
    """Index a file now (from `content` when sent) and, with a knowledge id as `collection_name`, add it there."""

    @extend_schema(request=ProcessFileIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ProcessFileIn, request.data, status=400)
        file = indexing.process_file(user=request.user, file_id=data["file_id"], content=data.get("content"),
                                     collection_name=data.get("collection_name"))
        return json_response({"status": True, "collection_name": data.get("collection_name") or f"file-{file.id}",
                              "filename": file.filename, "content": Text(file.id)})


class ProcessTextView(APIView):
    """The text becomes a file of the caller's, indexed now; its `file-<id>` is the collection to query."""

    @extend_schema(request=ProcessTextIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ProcessTextIn, request.data, status=400)
        file = indexing.process_text(user=request.user, name=data["name"], content=data["content"],
                                     collection_name=data.get("collection_name"))
        return Response({"status": True, "collection_name": data.get("collection_name") or f"file-{file.id}",
                         "content": data["content"]})


class ProcessBatchView(APIView):
    @extend_schema(request=ProcessBatchIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ProcessBatchIn, request.data, status=400)
        results, errors = indexing.process_batch(user=request.user, items=data["files"],
                                                 collection_name=data["collection_name"])
        return Response({"results": results, "errors": errors})


class DeleteEntriesView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=DeleteEntriesIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(DeleteEntriesIn, request.data, status=400)
        return Response({"status": indexing.remove(user=request.user, collection_name=data["collection_name"],
                                                   file_id=data["file_id"])})


class ResetIndexView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=OpenApiTypes.BOOL)
    def post(self, request):
        indexing.reset_index(user=request.user)
        return Response(True)


class ResetUploadsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=OpenApiTypes.BOOL)
    def post(self, request):
        indexing.reset_uploads(user=request.user)
        return Response(True)
