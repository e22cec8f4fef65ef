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
