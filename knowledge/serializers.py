from rest_framework import serializers

from accounts import access, grants
from accounts.serializers import ts
from config import runtime
from config.runtime.serializers import SettingField, UnsupportedField, settings_serializer
from files.serializers import file_out
from knowledge import rag_config
from knowledge.models import KnowledgeBase


class KnowledgeIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True)
    access_grants = serializers.JSONField(required=False)


class AccessIn(serializers.Serializer):
    access_grants = serializers.JSONField(required=False)


class FileIdIn(serializers.Serializer):
    """A file id (any text: one that names no file is answered as not found, never as malformed)."""

    file_id = serializers.CharField(max_length=100)
    directory_id = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)


class DirectoryIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    parent_id = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)


class DirectoryUpdateIn(serializers.Serializer):
    """`parent_id` absent: the directory stays where it is; null: it moves to the root."""

    name = serializers.CharField(max_length=255, required=False, allow_null=True)
    parent_id = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)


class _ManifestEntry(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    path = serializers.CharField(max_length=4000, allow_blank=True)  # "docs/api", "" for the root
    checksum = serializers.CharField(max_length=128)  # SHA-256 of the bytes
    size = serializers.IntegerField(min_value=0)


class ManifestIn(serializers.Serializer):
    manifest = _ManifestEntry(many=True, max_length=100000)


class CleanupIn(serializers.Serializer):
    file_ids = serializers.ListField(child=serializers.CharField(max_length=100), max_length=10000)
    dir_ids = serializers.ListField(child=serializers.CharField(max_length=100), max_length=10000, required=False,
                                    default=list)


class ProcessFileIn(serializers.Serializer):
    file_id = serializers.CharField(max_length=100)
    content = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    collection_name = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)

    def validate_content(self, content):
        if content is not None and not content.strip():
            raise serializers.ValidationError("must not be empty.")
        return content


class ProcessTextIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    content = serializers.CharField(trim_whitespace=False)
    collection_name = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)


class _BatchFile(serializers.Serializer):
    """A file record as the client has it (Open WebUI's FileModel): its id, and `data.content` to index."""

    id = serializers.CharField(max_length=100)
    data = serializers.DictField(required=False, allow_null=True)


class ProcessBatchIn(serializers.Serializer):
    files = _BatchFile(many=True, max_length=1000)
    collection_name = serializers.CharField(max_length=100, allow_blank=True)


class DeleteEntriesIn(serializers.Serializer):
    collection_name = serializers.CharField(max_length=100)
    file_id = serializers.CharField(max_length=100)


class _Query(serializers.Serializer):
    """POST /retrieval/query/*: absent (or 0) k, r and hybrid_bm25_weight fall back to the settings."""

    query = serializers.CharField(error_messages={"blank": "is required.", "required": "is required."})
    k = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)
    r = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    hybrid_bm25_weight = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    hybrid = serializers.BooleanField(required=False, allow_null=True)


class QueryDocIn(_Query):
    collection_name = serializers.CharField(trim_whitespace=False)


class QueryCollectionIn(_Query):
    collection_names = serializers.ListField(child=serializers.CharField(trim_whitespace=False), allow_empty=False)


class _ConnectionIn(serializers.Serializer):
    url = serializers.JSONField(required=False)
    key = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)


MASKED = ("…", "•••")  # a key sent back as shown (masked): unchanged


class EmbeddingConfigIn(serializers.Serializer):
    """POST /retrieval/embedding/update; validated data is the runtime settings to save."""

    RAG_EMBEDDING_ENGINE = SettingField()
    RAG_EMBEDDING_MODEL = SettingField()
    RAG_EMBEDDING_BATCH_SIZE = SettingField()
    openai_config = _ConnectionIn(required=False, allow_null=True)
    ollama_config = _ConnectionIn(required=False, allow_null=True)

    def validate(self, data):
        values = {k: v for k, v in data.items() if k.startswith("RAG_")}
        for section, prefix in (("openai_config", "RAG_OPENAI_API"), ("ollama_config", "RAG_OLLAMA")):
            part = data.get(section) or {}
            if "url" in part:
                values[f"{prefix}_BASE_URL"] = part["url"]
            if part.get("key") and not any(mark in part["key"] for mark in MASKED):
                values[f"{prefix}_KEY" if prefix == "RAG_OPENAI_API" else "RAG_OLLAMA_API_KEY"] = part["key"]
        errors = [e for e in (runtime.validation_error(k, v) for k, v in values.items()) if e]
        if errors:
            raise serializers.ValidationError("; ".join(errors))
        return values


# POST /retrieval/config/update, by Open WebUI's names; validated data is keyed by setting
RetrievalConfigIn = settings_serializer("RetrievalConfigIn", rag_config.SETTINGS,
                                        **{name: UnsupportedField(off) for name, off in rag_config.UNSUPPORTED.items()})


def knowledge_out(kb: KnowledgeBase, access_grants: list[dict]) -> dict:
    return {"id": str(kb.id), "user_id": str(kb.user_id), "name": kb.name, "description": kb.description,
            "meta": kb.meta, "access_grants": access_grants, "created_at": ts(kb.created_at), "updated_at": ts(kb.updated_at)}


def directory_out(directory) -> dict:
    return {"id": str(directory.id), "knowledge_id": str(directory.knowledge_id),
            "parent_id": str(directory.parent_id) if directory.parent_id else None, "name": directory.name,
            "user_id": str(directory.user_id), "created_at": ts(directory.created_at), "updated_at": ts(directory.updated_at)}


def _owner(user) -> dict | None:
    return {"id": str(user.id), "name": user.name, "role": user.role, "email": user.email} if user else None


def member_file_out(membership, paths: dict) -> dict:
    """An item of /knowledge/{id}/files: the file (without its text), where it sits and who owns it."""
    file = membership.file
    return file_out(file, content=False, path=False) | {
        "directory_id": str(membership.directory_id) if membership.directory_id else None,
        "directory_path": paths.get(membership.directory_id, ""), "has_original": bool(file.storage_name),
        "user": _owner(file.user)}


def found_files_out(memberships: list) -> list[dict]:
    """Items of /knowledge/search/files: each file and the collection it was found in (grants: one query)."""
    shared = grants.by_resource(access.KNOWLEDGE, list({m.knowledge_id for m in memberships}))
    return [file_out(m.file, content=False, path=False)
            | {"user": _owner(m.file.user), "collection": knowledge_out(m.knowledge, shared[str(m.knowledge_id)])}
            for m in memberships]


def file_metadata(file) -> dict:
    out = file_out(file, content=False, path=False)
    return {k: out[k] for k in ("id", "hash", "meta", "created_at", "updated_at")} | {"status": file.status}


def with_files(kb: KnowledgeBase, files, *, write_access: bool) -> dict:
    data = knowledge_out(kb, grants.by_resource(access.KNOWLEDGE, [kb.id])[str(kb.id)])
    data["files"] = None if files is None else [file_metadata(f) for f in files]
    data["write_access"] = write_access
    return data


def list_items(kbs: list[KnowledgeBase], writable: set[str]) -> list[dict]:
    shared = grants.by_resource(access.KNOWLEDGE, [kb.id for kb in kbs])
    return [
        knowledge_out(kb, shared[str(kb.id)])
        | {"user": {"id": str(kb.user.id), "name": kb.user.name, "role": kb.user.role, "email": kb.user.email},
           "file_count": kb.file_count, "write_access": str(kb.id) in writable}
        for kb in kbs
    ]
