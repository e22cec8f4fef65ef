"""Chats in the admin, for support: read-only (no one edits what a user and a model said), filtered by
owner, searched by title or owner, deletable. The changelist never reads a chat's body."""

from django.contrib import admin
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html_join

from chat import history_body, prompt_admin  # noqa: F401 (prompt_admin registers the prompt admin)
from chat.models import Chat

PREVIEW_MESSAGES = 50  # the current branch's last messages shown on a chat's page


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "updated_at", "created_at", "archived", "pinned", "is_shared")
    list_filter = (("user", admin.RelatedOnlyFieldListFilter), "archived", "pinned")
    search_fields = ("title", "user__email", "=id")
    ordering = ("-updated_at",)
    fields = ("id", "title", "user", "folder", "created_at", "updated_at", "archived", "pinned", "share_id",
              "meta", "conversation")
    readonly_fields = fields
    show_full_result_count = False  # one count less on large tables

    def get_queryset(self, request):
        # the body is read only on a chat's own page (one query more there, none per row here)
        return super().get_queryset(request).defer("search_vector", "chat", "variables").select_related("user", "folder")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only for support; delete stays allowed

    @admin.display(boolean=True, description="shared")
    def is_shared(self, obj):
        return obj.share_id is not None

    @admin.display(description="conversation (current branch)")
    def conversation(self, obj):
        body = obj.chat if isinstance(obj.chat, dict) else {}
        branch = history_body.message_list(history_body.messages_map(body), history_body.current_id(body))
        if not branch and isinstance(body.get("messages"), list):
            branch = [m for m in body["messages"] if isinstance(m, dict)]
        rows = ((m.get("role", "?"), m.get("model") or "",
                 linebreaksbr(m["content"], autoescape=True) if isinstance(m.get("content"), str) else "[not text]")
                for m in branch[-PREVIEW_MESSAGES:])
        return format_html_join("", "<p><strong>{}</strong> <small>{}</small><br>{}</p>", rows) or "—"
