import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from accounts import profile_image


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    USER = "user", "User"
    PENDING = "pending", "Pending"


def new_stamp() -> str:
    return uuid.uuid4().hex


class UserManager(BaseUserManager):
    def create_user(self, email: str, password: str | None = None, **fields):
        user = self.model(email=email.strip().lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("name", "Admin")
        return self.create_user(email, password, role=Role.ADMIN, **fields)


class User(AbstractBaseUser):
    """A person using the gateway. `role` decides everything: pending users may sign in but use
    nothing; admins manage the gateway (and the Django admin)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PENDING, db_index=True)
    profile_image_url = models.TextField(default="/user.png", validators=[profile_image.validate])
    # Rotated on password change and on "revoke sessions": every JWT carries it, so old ones die.
    session_stamp = models.CharField(max_length=32, default=new_stamp)
    last_active_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True, default="")
    # Open WebUI's per-user JSON: client settings (`ui` and others) and free-form profile info.
    settings = models.JSONField(null=True, blank=True)
    info = models.JSONField(null=True, blank=True)
    # Open WebUI's user status (shown next to the name) and the user's prompt variables ({{name}}: text).
    status_emoji = models.CharField(max_length=64, blank=True, default="")
    status_message = models.TextField(blank=True, default="")
    status_expires_at = models.BigIntegerField(null=True, blank=True)
    variables = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.session_stamp = new_stamp()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_verified(self) -> bool:
        return self.role in (Role.ADMIN, Role.USER)

    # Django admin integration: admins are staff with every permission.
    is_active = True

    @property
    def is_staff(self) -> bool:
        return self.is_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_admin

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_admin

    def has_module_perms(self, app_label) -> bool:
        return self.is_admin


class ApiKey(models.Model):
    """A bearer key `sk-<32 hex>`. Only its SHA-256 is stored; the plaintext is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    # The key managed by /api/v1/auths/api_key (Open WebUI's "one key per user").
    is_default = models.BooleanField(default=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    display = models.CharField(max_length=20, editable=False, help_text="Masked form, e.g. sk-abcd…wxyz")
    allowed_paths = models.JSONField(
        default=list, blank=True, help_text="Path prefixes this key may call, e.g. /api/chat/completions. Empty: any."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    # Resource scopes (DECISIONS #21): empty lists allow everything the user may use.
    allowed_models = models.JSONField(default=list, blank=True, help_text="Model ids this key may call. Empty: any.")
    allowed_collections = models.JSONField(default=list, blank=True,
                                           help_text="Knowledge base ids this key may reach. Empty: any.")
    allowed_files = models.JSONField(default=list, blank=True, help_text="File ids this key may reach. Empty: any.")
    read_only = models.BooleanField(default=False, help_text="The key may read collections and files, never change them.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=models.Q(is_default=True), name="one_default_key_per_user"),
            models.UniqueConstraint(fields=["user", "name"], name="api_key_name_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.display})"


class RevokedToken(models.Model):
    """A signed-out JWT (by its jti), kept until it would have expired anyway."""

    jti = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)


class AccessGrant(models.Model):
    """Sharing of a model or knowledge base (API.md §5.1). No grants = private to the owner."""

    class Permission(models.TextChoices):
        READ = "read"
        WRITE = "write"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    resource_type = models.CharField(max_length=32)
    resource_id = models.CharField(max_length=256)
    principal_type = models.CharField(max_length=16, default="user")
    principal_id = models.CharField(max_length=64, help_text="A user or group id, or * for everyone")
    permission = models.CharField(max_length=8, choices=Permission.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["resource_type", "resource_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "resource_id", "principal_type", "principal_id", "permission"],
                name="access_grant_unique",
            ),
            models.CheckConstraint(condition=models.Q(permission__in=["read", "write"]), name="access_grant_permission"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}:{self.resource_id} {self.permission} → {self.principal_id}"


class Group(models.Model):
    """A set of users: grants to the group reach every member, and its `permissions` (a partial
    permission tree) grant what the defaults do not (API.md §0, Open WebUI's groups)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             help_text="Who created it")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    permissions = models.JSONField(default=dict, blank=True,
                                   help_text='Partial permission tree, e.g. {"features": {"api_keys": true}}')
    data = models.JSONField(null=True, blank=True)
    meta = models.JSONField(null=True, blank=True)
    members = models.ManyToManyField(User, through="GroupMember", related_name="member_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name


class GroupMember(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="group_memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "member"
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="group_member_unique")]
        indexes = [models.Index(fields=["user", "group"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


# --- usage: the ledger, limits and prices (accounts owns who may do how much) ---------------------


class UsageRecord(models.Model):
    """One model call (chat, embedding, passthrough), written in batches off the request path
    (usage_ledger.py). Users and keys are kept as plain ids so deleting one keeps its history."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    user_id = models.UUIDField(null=True, blank=True)
    api_key_id = models.UUIDField(null=True, blank=True)
    model = models.CharField(max_length=256)
    connection = models.CharField(max_length=256, blank=True)
    endpoint = models.CharField(max_length=32, help_text="chat, embedding, passthrough")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True, help_text="USD; empty: no price set")
    status = models.CharField(max_length=16, help_text="ok, error, cancelled")
    duration_ms = models.FloatField(default=0)
    ttft_ms = models.FloatField(null=True, blank=True)
    streamed = models.BooleanField(default=False)
    estimated = models.BooleanField(default=False, help_text="tokens counted by a tokenizer, not reported by the upstream")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user_id", "created_at"], name="usage_user_time"),
            models.Index(fields=["api_key_id", "created_at"], name="usage_key_time"),
            models.Index(fields=["model", "created_at"], name="usage_model_time"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.total_tokens} tokens ({self.status})"


class UsageLimit(models.Model):
    """Limits for one scope: an API key, a user, a group, a model, or the default of a role (used for
    users of that role without a limit row of their own). Empty fields: no limit of that kind."""

    class Scope(models.TextChoices):
        KEY = "key", "API key"
        USER = "user", "User"
        GROUP = "group", "Group"
        MODEL = "model", "Model"
        ROLE = "role", "Role (default)"

    class Period(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scope_type = models.CharField(max_length=8, choices=Scope.choices)
    scope_id = models.CharField(max_length=256, help_text="The key's, user's or group's id, the model id, or the role name")
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    max_concurrent = models.PositiveIntegerField(null=True, blank=True, help_text="Requests in flight at once")
    token_budget = models.PositiveBigIntegerField(null=True, blank=True, help_text="Tokens per budget period")
    cost_budget = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True, help_text="USD per budget period")
    budget_period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH,
                                     help_text="Calendar period in USAGE_TIME_ZONE")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope_type", "scope_id"]
        constraints = [
            models.UniqueConstraint(fields=["scope_type", "scope_id"], name="usage_limit_one_per_scope"),
            models.CheckConstraint(condition=models.Q(scope_type__in=["key", "user", "group", "model", "role"]),
                                   name="usage_limit_scope_valid"),
            models.CheckConstraint(condition=models.Q(budget_period__in=["day", "week", "month"]),
                                   name="usage_limit_period_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_type_display()} {self.scope_id}"


class ModelPrice(models.Model):
    """What a model costs (USD per million tokens) and how many completion tokens a request that names
    no max_tokens reserves against budgets (it is also sent upstream as the cap)."""

    model = models.CharField(max_length=256, primary_key=True, help_text="The model id as clients name it")
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    default_max_tokens = models.PositiveIntegerField(null=True, blank=True,
                                                     help_text="Empty: USAGE_DEFAULT_MAX_TOKENS")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model
