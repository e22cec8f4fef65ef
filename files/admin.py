from django import forms
from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.exceptions import APIException

from config.common.admin_widgets import SafeAutocomplete
from files import embeddings, progress, services
from files.models import Chunk, File


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class UploadForm(forms.ModelForm):
    upload = MultipleFileField(label="Files", help_text="One or several. Stored, then extracted, chunked and indexed in the background.")

    class Meta:
        model = File
        fields = ("user",)

    def clean_upload(self):
        uploads = self.cleaned_data["upload"]
        for uploaded in uploads:
            try:
                services.check_upload(filename=uploaded.name, size=uploaded.size, process=True)
            except APIException as exc:
                raise forms.ValidationError(f"{uploaded.name}: {exc.detail}")
        return uploads


class IndexFilter(admin.SimpleListFilter):
    """Files whose chunks were embedded with another model than the current one (select them all
    and reprocess, or use POST /api/v1/retrieval/reindex)."""

    title = "index"
    parameter_name = "index"

    def lookups(self, request, model_admin):
        return [("stale", "Embedded with another model"), ("current", "Up to date")]

    def queryset(self, request, queryset):
        if self.value() not in ("stale", "current"):
            return queryset
        engine = embeddings.engine()
        stale = Exists(Chunk.objects.filter(file=OuterRef("pk")).exclude(embedding_model=engine.model if engine else ""))
        return queryset.filter(stale) if self.value() == "stale" else queryset.exclude(stale)


@admin.register(File)
class FileAdmin(SafeAutocomplete, admin.ModelAdmin):
    list_display = ("filename", "user", "status_badge", "size", "content_type", "updated_at", "short_error")
    list_filter = ("status", IndexFilter, "content_type")
    search_fields = ("filename", "user__email", "id")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("id", "user", "filename", "storage_name", "content_type", "size", "file_hash", "hash",
                       "status", "progress", "error", "download", "created_at", "updated_at")
    exclude = ("content", "meta", "progress_done", "progress_total", "processing_started_at")
    actions = ["reprocess"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")  # megabytes a row, never shown

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
        created = [services.upload(user=form.cleaned_data["user"], uploaded=u) for u in form.cleaned_data["upload"]]
        obj.pk, obj.filename = created[0].pk, ", ".join(f.filename for f in created)[:255]  # for the admin log
        self.message_user(request, f"{len(created)} file(s) uploaded; processing in the background.", messages.SUCCESS)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:files_file_changelist"))  # where their status refreshes

    def get_urls(self):
        return [path("<uuid:file_id>/download/", self.admin_site.admin_view(self.download_view),
                     name="files_file_download"), *super().get_urls()]

    def download_view(self, request, file_id):
        file = File.objects.filter(id=file_id).first()
        if file is None or not self.has_view_permission(request, file):
            raise Http404("No such file.")
        try:
            handle = default_storage.open(file.storage_name, "rb")
        except OSError:
            raise Http404("The stored bytes are missing.")
        return FileResponse(handle, as_attachment=True, filename=file.filename,
                            content_type=file.content_type or "application/octet-stream")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = {"completed": "#15803d", "failed": "#b91c1c"}.get(obj.status, "#a16207")
        badge = format_html('<span class="file-status file-status-{}" style="color:{}">{}</span>',
                            obj.status or "stored", colour, obj.status or "stored")
        done = self.progress(obj)
        return format_html("{} <small>{}</small>", badge, done) if done else badge

    @admin.display(description="progress")
    def progress(self, obj) -> str:
        """Chunks written of the total and the time left, while processing (the page refreshes itself)."""
        done = progress.describe(obj)
        if done is None:
            return ""
        eta = "" if done["eta_seconds"] is None else f", about {done['eta_seconds']:.0f} s left"
        return f"{done['done']:,} of {done['total']:,} chunks ({done['percent']:.0f}%){eta}"

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80]

    @admin.display(description="download")
    def download(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:files_file_download", args=[obj.id]), obj.filename)

    @admin.action(description="Reprocess (extract, chunk and index again)")
    def reprocess(self, request, queryset):
        count = services.requeue(queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} file(s) queued.", messages.SUCCESS)
