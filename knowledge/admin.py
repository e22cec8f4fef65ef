from django.contrib import admin
from django.db.models import Count

from accounts import access
from accounts.admin_sharing import SHARING_FIELDSET, SharingForm
from config.admin_widgets import SafeAutocomplete
from knowledge.models import KnowledgeBase, KnowledgeFile


class KnowledgeBaseForm(SharingForm):
    kind = access.KNOWLEDGE

    class Meta:
        model = KnowledgeBase
        fields = ("user", "name", "description")


class KnowledgeFileInline(SafeAutocomplete, admin.TabularInline):
    """The collection's files with their status; add existing files with the search box."""

    model = KnowledgeFile
    extra = 1
    verbose_name = "file"
    autocomplete_fields = ("file",)
    readonly_fields = ("status", "created_at")

    @admin.display(description="status")
    def status(self, obj):
        return (obj.file.status or "stored") if obj.pk else ""

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("file")


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(SafeAutocomplete, admin.ModelAdmin):
    form = KnowledgeBaseForm
    fieldsets = ((None, {"fields": ("user", "name", "description")}), SHARING_FIELDSET)
    list_display = ("name", "user", "file_count", "updated_at")
    search_fields = ("name", "description", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    inlines = [KnowledgeFileInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(file_count=Count("memberships"))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        form.save_grants(obj)

    @admin.display(description="files", ordering="file_count")
    def file_count(self, obj):
        return obj.file_count
