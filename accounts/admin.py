from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import Group as DjangoGroup
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts import access, api_keys, groups, limits, permission_tree, services
from accounts.authentication import forget_credentials
from accounts.models import AccessGrant, ApiKey, Group, GroupMember, ModelPrice, Role, UsageLimit, UsageRecord, User
from config.common.admin_widgets import SafeAutocomplete

admin.site.unregister(DjangoGroup)  # Django's own groups: ours (accounts.Group) are Open WebUI's


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


class UserGroupsInline(SafeAutocomplete, admin.TabularInline):
    """The user's groups: its permissions beyond the defaults come from them."""

    model = GroupMember
    fk_name = "user"
    extra = 0
    autocomplete_fields = ("group",)
    verbose_name = "group membership"
    verbose_name_plural = "groups"


@admin.register(User)
class UserAdmin(ForgetCredentialsOnChange, admin.ModelAdmin):
    list_display = ("email", "name", "role", "created_at", "last_active_at")
    list_filter = ("role", "member_groups")
    search_fields = ("email", "name")
    ordering = ("-created_at",)
    readonly_fields = ("id", "created_at", "updated_at", "last_active_at", "last_login", "permissions")
    fields = ("id", "email", "name", "role", "profile_image_url", "created_at", "updated_at", "last_active_at",
              "permissions")
    inlines = [UserGroupsInline, ApiKeyInline]

    @admin.display(description="permissions")
    def permissions(self, obj):
        """What the user may do beyond using models: the defaults plus its groups' grants."""
        if access.is_admin(obj):
            return "Everything (admin)."
        granted = [key for key in _flags() if permission_tree.lookup(access.permissions(obj), key)]
        return format_html("{}<br><small>From the default permissions (runtime setting USER_PERMISSIONS) and the "
                           "user's groups; change them there.</small>", ", ".join(granted) or "none")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        forget_credentials()
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
    list_filter = ("resource_type", "principal_type", "permission")
    search_fields = ("resource_id", "principal_id")


def _flags() -> list[str]:
    """Every permission of the tree, as `section.key`."""
    return [f"{section}.{key}" for section, flags in permission_tree.defaults().items() for key in flags]


class GroupForm(forms.ModelForm):
    """The group's permissions as checkboxes: a group grants, so only the flags it turns on are kept."""

    granted = forms.MultipleChoiceField(
        required=False, label="Permissions", widget=forms.CheckboxSelectMultiple,
        help_text="What members may do beyond the default permissions (a group grants, never takes away).")

    class Meta:
        model = Group
        fields = ("name", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["granted"].choices = [(key, key) for key in _flags()]
        tree = self.instance.permissions or {}
        self.initial["granted"] = [key for key in _flags() if permission_tree.lookup(tree, key)]

    def save(self, commit=True):
        tree: dict[str, dict[str, bool]] = {}
        for key in self.cleaned_data.get("granted") or ():
            section, name = key.split(".", 1)
            tree.setdefault(section, {})[name] = True
        self.instance.permissions = tree
        return super().save(commit)


class GroupMemberInline(SafeAutocomplete, admin.TabularInline):
    model = GroupMember
    fk_name = "group"
    extra = 1
    autocomplete_fields = ("user",)
    verbose_name = "member"


@admin.register(Group)
class GroupAdmin(ForgetCredentialsOnChange, admin.ModelAdmin):
    form = GroupForm
    list_display = ("name", "description", "member_count", "grants_shown", "updated_at")
    search_fields = ("name", "description", "members__email")
    readonly_fields = ("id", "user", "created_at", "updated_at")
    fields = ("id", "name", "description", "granted", "user", "created_at", "updated_at")
    inlines = [GroupMemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    @admin.display(description="permissions granted")
    def grants_shown(self, obj):
        keys = [key for key in _flags() if permission_tree.lookup(obj.permissions or {}, key)]
        return format_html_join(", ", "{}", ((k,) for k in keys)) or "-"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.user = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        forget_credentials()

    def delete_model(self, request, obj):
        groups.delete_group(group=obj)

    def delete_queryset(self, request, queryset):
        for group in queryset:
            groups.delete_group(group=group)


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
