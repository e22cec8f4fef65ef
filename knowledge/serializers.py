from rest_framework import serializers

from accounts import access, grants
from accounts.serializers import ts
from files.serializers import file_out
from knowledge.models import KnowledgeBase


class KnowledgeIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True)
    access_grants = serializers.JSONField(required=False)


class FileIdIn(serializers.Serializer):
    file_id = serializers.UUIDField()


def knowledge_out(kb: KnowledgeBase, access_grants: list[dict]) -> dict:
    return {"id": str(kb.id), "user_id": str(kb.user_id), "name": kb.name, "description": kb.description,
            "meta": kb.meta, "access_grants": access_grants, "created_at": ts(kb.created_at), "updated_at": ts(kb.updated_at)}


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
