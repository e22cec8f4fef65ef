"""Request bodies and response shapes of /api/v1/prompts/* (Open WebUI 0.12.4's PromptForm,
PromptModel, PromptAccessResponse, PromptHistoryModel)."""

from rest_framework import serializers

from accounts.serializers import ts, user_out
from chat.prompt_models import Prompt, PromptHistory


class _Tags(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=255), max_length=100, allow_null=True, required=False, **kwargs)


class PromptIn(serializers.Serializer):
    command = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255)
    content = serializers.CharField(trim_whitespace=False, allow_blank=True)
    data = serializers.DictField(required=False, allow_null=True)
    meta = serializers.DictField(required=False, allow_null=True)
    tags = _Tags()
    access_grants = serializers.JSONField(required=False, allow_null=True)
    version_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)  # ignored, as in Open WebUI
    commit_message = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    is_production = serializers.BooleanField(required=False, allow_null=True, default=True)


class PromptMetaIn(serializers.Serializer):
    command = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255)
    tags = _Tags()


class PromptVersionIn(serializers.Serializer):
    version_id = serializers.CharField(max_length=64)


class PromptAccessIn(serializers.Serializer):
    access_grants = serializers.JSONField()


class PromptListQuery(serializers.Serializer):
    """GET /prompts/list's query parameters (page is read by config.common.pagination)."""

    query = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    view_option = serializers.CharField(required=False, allow_blank=True)
    tag = serializers.CharField(required=False, allow_blank=True, max_length=255)
    order_by = serializers.CharField(required=False, allow_blank=True)
    direction = serializers.CharField(required=False, allow_blank=True)


class DiffQuery(serializers.Serializer):
    from_id = serializers.CharField(max_length=64)
    to_id = serializers.CharField(max_length=64)


def prompt_out(prompt: Prompt, access_grants: list[dict]) -> dict:
    return {
        "id": str(prompt.id), "command": prompt.command, "user_id": str(prompt.user_id), "name": prompt.name,
        "content": prompt.content, "data": prompt.data, "meta": prompt.meta, "tags": prompt.tags,
        "is_active": prompt.is_active, "version_id": str(prompt.version_id) if prompt.version_id else None,
        "created_at": ts(prompt.created_at), "updated_at": ts(prompt.updated_at), "access_grants": access_grants,
    }


def prompt_with_access(prompt: Prompt, access_grants: list[dict], *, write_access: bool) -> dict:
    """PromptAccessResponse: the prompt, its owner and whether the caller may change it."""
    return prompt_out(prompt, access_grants) | {"user": user_out(prompt.user), "write_access": write_access}


def history_out(entry: PromptHistory, *, with_user: bool = False) -> dict:
    out = {
        "id": str(entry.id), "prompt_id": str(entry.prompt_id), "parent_id": str(entry.parent_id) if entry.parent_id else None,
        "snapshot": entry.snapshot, "user_id": str(entry.user_id) if entry.user_id else None,
        "commit_message": entry.commit_message, "created_at": ts(entry.created_at),
    }
    if with_user:
        out["user"] = user_out(entry.user) if entry.user else None
    return out
