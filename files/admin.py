from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html

from files import services
from files.models import File
from files.tasks import process_file


class UploadForm(forms.ModelForm):
    upload = forms.FileField(help_text="Stored, then extracted, chunked and indexed in the background.")

    class Meta:
        model = File
        fields = ("user",)


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ("filename", "user", "status_badge", "size", "content_type", "updated_at", "short_error")
    list_filter = ("status", "content_type")
    search_fields = ("filename", "user__email", "id")
    list_select_related = ("user",)
    readonly_fields = ("id", "user", "filename", "storage_name", "content_type", "size", "file_hash", "hash",
                       "status", "error", "download", "created_at", "updated_at")
    exclude = ("content", "meta")
    actions = ["reprocess"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = UploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ("user", "upload") if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = services.upload(user=form.cleaned_data["user"], uploaded=form.cleaned_data["upload"])
        obj.pk = created.pk  # the admin redirects to the stored row

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = {"completed": "#15803d", "failed": "#b91c1c"}.get(obj.status, "#a16207")
        return format_html('<span style="color:{}">{}</span>', colour, obj.status or "stored")

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80]

    @admin.display(description="download")
    def download(self, obj):
        return format_html('<a href="/api/v1/files/{}/content?attachment=true">{}</a>', obj.id, obj.filename)

    @admin.action(description="Reprocess (extract, chunk and index again)")
    def reprocess(self, request, queryset):
        with transaction.atomic():
            ids = list(queryset.values_list("id", flat=True))
            queryset.update(status=File.Status.PENDING, error="")
            for file_id in ids:
                process_file.defer(file_id=str(file_id))
        self.message_user(request, f"{len(ids)} file(s) queued.", messages.SUCCESS)
