from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from accounts import access
from accounts.admin_sharing import SHARING_FIELDSET, SharingForm
from config.common.admin_widgets import SafeAutocomplete
from models_registry import connections, providers, registry, services
from models_registry.models import Connection, Model


class ConnectionForm(forms.ModelForm):
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Leave empty to keep the current key.")
    clear_api_key = forms.BooleanField(required=False, label="Remove the key")

    class Meta:
        model = Connection
        fields = ("kind", "name", "base_url", "api_key", "clear_api_key", "enabled", "position", "prefix_id",
                  "model_ids", "tags", "connection_type", "timeout", "list_timeout")
        help_texts = {"timeout": "Seconds for a whole answer, or between chunks when streaming; empty: "
                                 "UPSTREAM_TIMEOUT (120) / UPSTREAM_STREAM_IDLE_TIMEOUT (300)."}

    def clean_api_key(self):
        key = self.cleaned_data.get("api_key") or ""
        if not providers.header_safe(key):
            raise forms.ValidationError("A key is printable ASCII only (it is sent in an HTTP header).")
        return key

    def clean(self):
        data = super().clean()
        if self.instance.pk and not data.get("api_key") and not data.get("clear_api_key"):
            data["api_key"] = self.instance.api_key
        return data


class ForgetOnChange:
    """Admin edits reach this process's model list at once."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        registry.forget()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        registry.forget()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        registry.forget()


class ClosesClients(ForgetOnChange):
    """A changed or removed connection's pooled sockets close (once its requests are done)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        providers.forget([obj.pk])

    def delete_model(self, request, obj):
        pk = obj.pk
        super().delete_model(request, obj)
        providers.forget([pk])

    def delete_queryset(self, request, queryset):
        pks = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        providers.forget(pks)


@admin.register(Connection)
class ConnectionAdmin(ClosesClients, admin.ModelAdmin):
    form = ConnectionForm
    list_display = ("__str__", "kind", "base_url", "enabled", "health", "model_count", "last_checked_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "base_url")
    readonly_fields = ("key_display", "health", "last_error", "last_checked_at", "found")
    actions = ["test_connection", "refresh_models", "make_models_public"]

    @admin.display(description="key")
    def key_display(self, obj):
        return obj.masked_key or "—"

    @admin.display(description="status")
    def health(self, obj):
        if obj.last_checked_at is None:
            return "not checked"
        if obj.last_error:
            return format_html('<span style="color:#b91c1c" title="{}">down</span>', obj.last_error)
        return format_html('<span style="color:#15803d">up</span>')

    @admin.display(description="models")
    def model_count(self, obj):
        return len(obj.models_found)

    @admin.display(description="models found")
    def found(self, obj):
        return ", ".join(obj.models_found) or "—"

    def _check(self, request, queryset):
        for conn in queryset:
            ids, error = connections.check(conn)
            if error:
                self.message_user(request, f"{conn}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{conn}: {len(ids)} model(s): {', '.join(ids)}", messages.SUCCESS)

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        self._check(request, queryset)

    @admin.action(description="Refresh models (and show what the upstream returned)")
    def refresh_models(self, request, queryset):
        self._check(request, queryset)

    @admin.action(description="Make all models of these connections public")
    def make_models_public(self, request, queryset):
        ids = [(f"{c.prefix_id}.{m}" if c.prefix_id else m) for c in queryset for m in c.models_found]
        count = services.make_public(model_ids=ids, actor=request.user)
        self.message_user(request, f"{count} model(s) are now visible to every user.", messages.SUCCESS)


class PresetForm(SharingForm):
    kind = access.MODEL

    class Meta:
        model = Model
        fields = "__all__"


@admin.register(Model)
class ModelAdmin(SafeAutocomplete, ForgetOnChange, admin.ModelAdmin):
    form = PresetForm
    list_display = ("id", "name", "base_model_id", "is_active", "user", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("id", "name", "base_model_id")
    list_select_related = ("user",)
    readonly_fields = ("version_id", "created_at", "updated_at")
    autocomplete_fields = ("user",)
    actions = ["make_public"]

    extra_fieldsets: tuple = ()  # sections that apps to the right add (knowledge attaches collections)

    def get_fieldsets(self, request, obj=None):
        apart = {f for _, options in (*self.extra_fieldsets, SHARING_FIELDSET) for f in options["fields"]}
        fields = [f for f in super().get_fieldsets(request, obj)[0][1]["fields"] if f not in apart]
        return [(None, {"fields": fields}), *self.extra_fieldsets, SHARING_FIELDSET]

    def save_model(self, request, obj, form, change):
        obj.meta = form.cleaned_data["meta"]
        super().save_model(request, obj, form, change)
        form.save_grants(obj)

    @admin.action(description="Make public (every verified user may use them)")
    def make_public(self, request, queryset):
        count = services.make_public(model_ids=list(queryset.values_list("id", flat=True)), actor=request.user)
        self.message_user(request, f"{count} model(s) are now public.", messages.SUCCESS)
