"""Reads for users and keys, always scoped to the caller."""

from django.db.models import Q, QuerySet

from accounts.models import ApiKey, User


def api_keys_of(user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user)


def default_key_of(user: User) -> ApiKey | None:
    return ApiKey.objects.filter(user=user, is_default=True).first()


def users(*, query: str = "", role: str = "") -> QuerySet[User]:
    qs = User.objects.all().order_by("created_at")
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(email__icontains=query))
    if role:
        qs = qs.filter(role=role)
    return qs
