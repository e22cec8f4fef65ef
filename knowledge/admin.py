from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count

from accounts import access
from accounts.admin_sharing import SHARING_FIELDSET, SharingForm
from config.common.admin_widgets import SafeAutocomplete
from knowledge.models import KnowledgeBase, KnowledgeFile
from models_registry import admin as models_admin
from models_registry.models import Model


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


class PresetKnowledgeForm(models_admin.PresetForm):
    """A preset's collections (kept in its meta, searched by chat) chosen from the knowledge bases."""

    knowledge = forms.ModelMultipleChoiceField(KnowledgeBase.objects.order_by("name"), required=False,
                                               widget=FilteredSelectMultiple("collections", False),
                                               help_text="Searched for every chat with this model.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        attached = (self.instance.meta or {}).get("knowledge") or []
        self.fields["knowledge"].initial = [k.get("id") for k in attached if isinstance(k, dict) and k.get("type") == "collection"]

    def clean(self):
        data = super().clean()
        meta = dict(data.get("meta") or {})
        others = [k for k in meta.get("knowledge") or [] if not (isinstance(k, dict) and k.get("type") == "collection")]
        meta["knowledge"] = others + [{"type": "collection", "id": str(kb.id), "name": kb.name} for kb in data.get("knowledge") or ()]
        data["meta"] = meta
        return data


# models_registry may not import knowledge (DESIGN.md's order), so the preset admin it registers
# gains its collections here.
admin.site.unregister(Model)


@admin.register(Model)
class PresetAdmin(models_admin.ModelAdmin):
    form = PresetKnowledgeForm
    extra_fieldsets = (("Knowledge", {"fields": ("knowledge",)}),)
