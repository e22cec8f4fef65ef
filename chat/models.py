"""Chat history (Open WebUI's chats, folders, tags and shared chats; API.md §9).

A chat's body is Open WebUI's `chat` JSON (`history.messages` dict + `messages` list), kept as jsonb.
Search reads `search_vector`, a column Postgres generates from the title and every message's text, so
it never goes stale and is searched through a GIN index (no scan of the JSON in Python)."""

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone

from chat.prompt_models import Prompt, PromptHistory

# The text of the messages, in both places Open WebUI keeps them; 'simple' keeps every word of any
# language (no stemming), lowercased. Only immutable functions, as a generated column needs.
SEARCH_VECTOR_SQL = (
    "to_tsvector('simple'::regconfig, coalesce(title, ''))"
    " || jsonb_to_tsvector('simple'::regconfig,"
    " jsonb_path_query_array(chat, '$.history.messages.*.content'), '[\"string\"]')"
    " || jsonb_to_tsvector('simple'::regconfig,"
    " jsonb_path_query_array(chat, '$.messages[*].content'), '[\"string\"]')"
)


class Folder(models.Model):
    """A user's folder of chats; folders nest (`parent`). Owner-only: folders are never shared here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_folders")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    name = models.TextField()
    items = models.JSONField(null=True, blank=True)
    meta = models.JSONField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    is_expanded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name


class Chat(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chats")
    title = models.TextField(default="New Chat")
    chat = models.JSONField(default=dict)
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="chats")
    share_id = models.UUIDField(null=True, blank=True, unique=True)
    archived = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    meta = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    current_message_id = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_read_at = models.DateTimeField(null=True, blank=True)
    search_vector = models.GeneratedField(expression=RawSQL(SEARCH_VECTOR_SQL, ()), output_field=SearchVectorField(),
                                          db_persist=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-updated_at", "id"], name="chat_user_updated"),
            models.Index(fields=["folder", "user"], name="chat_folder_user"),
            GinIndex(fields=["search_vector"], name="chat_search"),
            GinIndex(fields=["meta"], name="chat_meta", opclasses=["jsonb_path_ops"]),
        ]

    def __str__(self) -> str:
        return self.title


class SharedChat(models.Model):
    """A share link: a snapshot of a chat taken when it was shared (re-sharing refreshes it). Its id is
    the link's token and the chat's `share_id`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chat = models.OneToOneField(Chat, on_delete=models.CASCADE, related_name="shared")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_chats")
    title = models.TextField()
    snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title


class Tag(models.Model):
    """A user's chat tag; chats name theirs in `meta.tags` by `tag_id` (the name, lowercased, `_` for spaces)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_tags")
    tag_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    meta = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tag_id"], name="chat_tag_unique")]

    def __str__(self) -> str:
        return self.name


__all__ = ["Prompt", "PromptHistory"]  # the prompt tables live in chat/prompt_models.py
