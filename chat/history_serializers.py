"""Chat history I/O: the request bodies of /api/v1/chats/* and /api/v1/folders/* and Open WebUI's
response shapes (ChatResponse, ChatTitleIdResponse, TagModel, FolderModel, ...)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.serializers import ts
from chat.models import Chat, Folder, SharedChat, Tag


class _Object(serializers.JSONField):
    """A JSON object (Open WebUI's `dict` fields)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be a JSON object.")
        return data


class ChatIn(serializers.Serializer):
    chat = _Object()
    variables = _Object(required=False, allow_null=True)
    folder_id = serializers.CharField(required=False, allow_null=True)


class ChatImportIn(ChatIn):
    meta = _Object(required=False, allow_null=True)
    pinned = serializers.BooleanField(required=False, allow_null=True)
    archived = serializers.BooleanField(required=False, allow_null=True)
    current_message_id = serializers.CharField(required=False, allow_null=True)
    created_at = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=32503680000)
    updated_at = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=32503680000)


class ChatsImportIn(serializers.Serializer):
    chats = ChatImportIn(many=True, max_length=10_000)


class CloneIn(serializers.Serializer):
    title = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class ForkIn(serializers.Serializer):
    message_id = serializers.CharField(required=False, allow_null=True)


class ShareIn(serializers.Serializer):
    share_mode = serializers.ChoiceField(["continue"], required=False, allow_null=True)


@extend_schema_serializer(component_name="ChatAccessIn")  # knowledge has an AccessIn of its own
class AccessIn(serializers.Serializer):
    access_grants = serializers.JSONField()
    share_mode = serializers.ChoiceField(["continue"], required=False, allow_null=True)


class TagIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)


class TagFilterIn(TagIn):
    skip = serializers.IntegerField(required=False, allow_null=True, min_value=0, default=0)
    limit = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000, default=50)


class MessageIn(serializers.Serializer):
    content = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    voice = _Object(required=False, allow_null=True)


class ParamsIn(serializers.Serializer):
    """PATCH /chats/{id}/params: any JSON object (its keys are the chat's params)."""


class ResolveIn(serializers.Serializer):
    """Open WebUI's ResolveToolCallForm: the answer to a tool call awaiting the user's approval."""

    call_id = serializers.CharField()
    action = serializers.ChoiceField(["approve", "reject", "answer"])
    answers = serializers.JSONField(required=False, allow_null=True)
    timed_out = serializers.BooleanField(required=False, default=False)


class EventIn(serializers.Serializer):
    type = serializers.CharField()
    data = _Object()


class FolderIdIn(serializers.Serializer):
    folder_id = serializers.CharField(required=False, allow_null=True)


class _NoExtra(serializers.Serializer):
    """Open WebUI's folder forms forbid unknown fields."""

    def validate(self, attrs):
        extra = set(self.initial_data) - set(self.fields)
        if extra:
            raise serializers.ValidationError(f"Extra inputs are not permitted: {', '.join(sorted(extra))}")
        return attrs


class FolderIn(_NoExtra):
    name = serializers.CharField(max_length=255)
    data = _Object(required=False, allow_null=True)
    meta = _Object(required=False, allow_null=True)
    parent_id = serializers.CharField(required=False, allow_null=True)


class FolderUpdateIn(_NoExtra):
    name = serializers.CharField(required=False, allow_null=True, max_length=255)
    data = _Object(required=False, allow_null=True)
    meta = _Object(required=False, allow_null=True)


class ParentIn(serializers.Serializer):
    parent_id = serializers.CharField(required=False, allow_null=True)


class ExpandedIn(serializers.Serializer):
    is_expanded = serializers.BooleanField()


# --- responses ------------------------------------------------------------------------------------


def chat_out(chat: Chat) -> dict:
    """Open WebUI's ChatResponse."""
    return {
        "id": str(chat.id), "user_id": str(chat.user_id), "title": chat.title, "chat": chat.chat,
        "updated_at": ts(chat.updated_at), "created_at": ts(chat.created_at),
        "share_id": str(chat.share_id) if chat.share_id else None, "archived": chat.archived, "pinned": chat.pinned,
        "meta": chat.meta or {}, "variables": chat.variables if isinstance(chat.variables, dict) else {},
        "folder_id": str(chat.folder_id) if chat.folder_id else None, "tasks": None, "summary": None,
        "current_message_id": chat.current_message_id, "context_usage": None,
    }


def shared_out(shared: SharedChat) -> dict:
    """A share link's snapshot as a ChatResponse (Open WebUI's: its id and share_id are the token)."""
    return {
        "id": str(shared.id), "user_id": str(shared.user_id), "title": shared.title, "chat": shared.snapshot,
        "updated_at": ts(shared.updated_at), "created_at": ts(shared.created_at), "share_id": str(shared.id),
        "archived": False, "pinned": False, "meta": {}, "variables": {}, "folder_id": None, "tasks": None,
        "summary": None, "current_message_id": None, "context_usage": None,
    }


def title_out(chat: Chat, snippet: str | None = None) -> dict:
    """Open WebUI's ChatTitleIdResponse (`active` is about Open WebUI's own background tasks: never here)."""
    return {"id": str(chat.id), "title": chat.title, "updated_at": ts(chat.updated_at), "created_at": ts(chat.created_at),
            "last_read_at": ts(chat.last_read_at), "snippet": snippet, "active": False, "archived": chat.archived}


def share_list_out(shared: SharedChat) -> dict:
    """Open WebUI's SharedChatResponse."""
    return {"id": str(shared.chat_id), "chat_id": str(shared.chat_id), "title": shared.title,
            "share_id": str(shared.id), "updated_at": ts(shared.updated_at), "created_at": ts(shared.created_at)}


def tag_out(tag: Tag) -> dict:
    return {"id": tag.tag_id, "name": tag.name, "user_id": str(tag.user_id), "meta": tag.meta}


def folder_out(folder: Folder) -> dict:
    """Open WebUI's FolderModel."""
    return {"id": str(folder.id), "parent_id": str(folder.parent_id) if folder.parent_id else None,
            "user_id": str(folder.user_id), "name": folder.name, "items": folder.items, "meta": folder.meta,
            "data": folder.data, "is_expanded": folder.is_expanded, "created_at": ts(folder.created_at),
            "updated_at": ts(folder.updated_at)}


def folder_list_out(folder: Folder, unread_count: int) -> dict:
    """Open WebUI's FolderNameIdResponse."""
    meta = folder.meta if isinstance(folder.meta, dict) else None
    return {"id": str(folder.id), "name": folder.name, "meta": {"icon": meta.get("icon")} if meta is not None else None,
            "parent_id": str(folder.parent_id) if folder.parent_id else None, "is_expanded": folder.is_expanded,
            "unread_count": unread_count, "created_at": ts(folder.created_at), "updated_at": ts(folder.updated_at)}
