"""Prompts in the admin: search, filters, sharing (the same grants as the API), and their version
history read-only. Changes made here are saved as a new version, as an API update is."""

from django.contrib import admin

from accounts import access
from accounts.admin_sharing import SHARING_FIELDSET, SharingForm
from chat import prompt_services
from chat.prompt_models import Prompt, PromptHistory
from config.common.admin_widgets import SafeAutocomplete


class PromptForm(SharingForm):
    kind = access.PROMPT

    class Meta:
        model = Prompt
        fields = ("user", "command", "name", "content", "tags", "is_active")


class PromptHistoryInline(admin.TabularInline):
    model = PromptHistory
    fk_name = "prompt"
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("created_at", "user", "commit_message", "snapshot")
    readonly_fields = fields
    verbose_name_plural = "versions (newest first)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").order_by("-created_at")


@admin.register(Prompt)
class PromptAdmin(SafeAutocomplete, admin.ModelAdmin):
    form = PromptForm
    fieldsets = ((None, {"fields": ("user", "command", "name", "content", "tags", "is_active", "version")}), SHARING_FIELDSET)
    readonly_fields = ("version",)
    list_display = ("command", "name", "user", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("command", "name", "content", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    ordering = ("-updated_at",)
    inlines = [PromptHistoryInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        form.save_grants(obj)
        if not change or {"name", "command", "content", "tags"} & set(form.changed_data):
            message = "Changed in the admin" if change else "Initial version"
            prompt_services.record_version(prompt=obj, user=request.user, message=message)
