from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.html import format_html

from accounts import api_keys, limits, services
from accounts.authentication import forget_credentials
from accounts.models import AccessGrant, ApiKey, ModelPrice, Role, UsageLimit, UsageRecord, User
from config.common.admin_widgets import SafeAutocomplete

admin.site.unregister(Group)  # roles, not groups, decide access here


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("name", "display", "expires_at", "last_used_at", "created_at")
    readonly_fields = ("name", "display", "expires_at", "last_used_at", "created_at")
    can_delete = True
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # keys are created from the API key page, where the plaintext is shown once


class ForgetCredentialsOnChange:
    """Admin edits of users and keys take effect in this process at once."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        forget_credentials()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        forget_credentials()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        forget_credentials()

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        forget_credentials()
        return response


@admin.register(User)
class UserAdmin(ForgetCredentialsOnChange, admin.ModelAdmin):
    list_display = ("email", "name", "role", "created_at", "last_active_at")
    list_filter = ("role",)
    search_fields = ("email", "name")
    ordering = ("-created_at",)
    readonly_fields = ("id", "created_at", "updated_at", "last_active_at", "last_login")
    fields = ("id", "email", "name", "role", "profile_image_url", "created_at", "updated_at", "last_active_at")
    inlines = [ApiKeyInline]
    actions = ["approve", "make_admin", "make_pending", "revoke_sessions"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = UserCreationForm
            kwargs["fields"] = None
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ("email", "name", "role", "password1", "password2")})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    @admin.action(description="Approve selected pending users (role: user)")
    def approve(self, request, queryset):
        count = queryset.filter(role=Role.PENDING).update(role=Role.USER)
        self.message_user(request, f"Approved {count} user(s).", messages.SUCCESS)

    @admin.action(description="Make selected users admins")
    def make_admin(self, request, queryset):
        count = queryset.update(role=Role.ADMIN)
        self.message_user(request, f"{count} user(s) are now admins.", messages.SUCCESS)

    @admin.action(description="Set selected users to pending (blocks them)")
    def make_pending(self, request, queryset):
        count = queryset.exclude(pk=request.user.pk).update(role=Role.PENDING)
        self.message_user(request, f"{count} user(s) set to pending.", messages.SUCCESS)

    @admin.action(description="Sign out everywhere (revoke all sessions; API keys keep working)")
    def revoke_sessions(self, request, queryset):
        for user in queryset:
            services.revoke_sessions(user=user)
        self.message_user(request, "Sessions revoked.", messages.SUCCESS)


class ApiKeyForm(forms.ModelForm):
    allowed_paths = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One path prefix per line, e.g. /api/chat/completions. Empty: any path.",
    )

    class Meta:
        model = ApiKey
        fields = ("user", "name", "expires_at", "allowed_paths", "allowed_models", "allowed_collections", "allowed_files",
                  "read_only")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_paths"] = "\n".join(self.instance.allowed_paths)

    def clean_allowed_paths(self):
        paths = [line.strip() for line in self.cleaned_data["allowed_paths"].splitlines() if line.strip()]
        bad = [p for p in paths if not p.startswith("/")]
        if bad:
            raise forms.ValidationError(f"Paths must start with '/': {', '.join(bad)}")
        return paths


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("soon", "Within 7 days"), ("expired", "Expired"), ("never", "Never")]

    def queryset(self, request, queryset):
        now = timezone.now()
        return {
            "soon": lambda: queryset.filter(expires_at__gt=now, expires_at__lte=now + timedelta(days=7)),
            "expired": lambda: queryset.filter(expires_at__lte=now),
            "never": lambda: queryset.filter(expires_at__isnull=True),
        }.get(self.value(), lambda: queryset)()


@admin.register(ApiKey)
class ApiKeyAdmin(SafeAutocomplete, ForgetCredentialsOnChange, admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "user", "display", "is_default", "created_at", "expires_at", "last_used_at", "status")
    list_filter = (ExpiryFilter, "is_default")
    search_fields = ("name", "user__email", "display")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("display", "is_default", "created_at", "last_used_at")
    actions = ["revoke"]

    class Media:
        js = ["accounts/copy.js"]  # the Copy button of the new key's message

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("user",) if obj else ())

    @admin.display(description="status")
    def status(self, obj):
        if obj.expires_at and obj.expires_at <= timezone.now():
            return format_html('<span style="color:#b91c1c">expired</span>')
        return "active"

    def save_model(self, request, obj, form, change):
        if not change:
            plaintext = api_keys.assign_secret(obj)
            obj.save()
            messages.success(
                request,
                format_html(
                    'New API key for {}: <code id="new-api-key">{}</code> '
                    '<button type="button" data-copy="{}">Copy</button> '
                    "Copy it now: it is stored hashed and will not be shown again.",
                    obj.user.email,
                    plaintext,
                    plaintext,
                ),
            )
        else:
            obj.save()
            forget_credentials()

    @admin.action(description="Revoke (delete) selected keys")
    def revoke(self, request, queryset):
        count = api_keys.revoke(queryset)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = ("resource_type", "resource_id", "principal_type", "principal_id", "permission", "created_at")
    list_filter = ("resource_type", "permission")
    search_fields = ("resource_id", "principal_id")


class ForgetLimitsOnChange:
    """Admin edits of limits and prices take effect in this process at once (others: STATE_CACHE_SECONDS)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        limits.forget()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        limits.forget()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        limits.forget()


@admin.register(UsageLimit)
class UsageLimitAdmin(ForgetLimitsOnChange, admin.ModelAdmin):
    list_display = ("scope_type", "scope_id", "requests_per_minute", "tokens_per_minute", "max_concurrent",
                    "token_budget", "cost_budget", "budget_period")
    list_filter = ("scope_type", "budget_period")
    search_fields = ("scope_id",)


@admin.register(ModelPrice)
class ModelPriceAdmin(ForgetLimitsOnChange, admin.ModelAdmin):
    list_display = ("model", "input_per_million", "output_per_million", "default_max_tokens", "updated_at")
    search_fields = ("model",)


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """The ledger, read-only: rows are written by the metering seam only."""

    list_display = ("created_at", "model", "endpoint", "user_id", "api_key_id", "prompt_tokens", "completion_tokens",
                    "cost", "status", "streamed", "estimated", "duration_ms")
    list_filter = ("endpoint", "status", "streamed", "estimated")
    search_fields = ("model", "=user_id", "=api_key_id")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
