from django.contrib import admin
from django.db.models import Count

from knowledge.models import KnowledgeBase, KnowledgeFile


class KnowledgeFileInline(admin.TabularInline):
    model = KnowledgeFile
    extra = 0
    autocomplete_fields = ("file",)
    readonly_fields = ("status", "created_at")

    @admin.display(description="status")
    def status(self, obj):
        return obj.file.status if obj.pk else ""

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("file")


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "file_count", "updated_at")
    search_fields = ("name", "description", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    inlines = [KnowledgeFileInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(file_count=Count("memberships"))

    @admin.display(description="files", ordering="file_count")
    def file_count(self, obj):
        return obj.file_count
