"""Reads for users and keys, always scoped to the caller."""

import uuid

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts import access, permission_tree
from accounts.models import AccessGrant, ApiKey, Group, GroupMember, User
from config import runtime


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


USER_ORDER = {"name", "email", "created_at", "last_active_at", "updated_at", "role"}


def users_page(*, query: str = "", order_by: str = "", direction: str = "") -> QuerySet[User]:
    """Open WebUI's user listing: filtered by part of a name or email, ordered by a known field
    (newest first by default)."""
    qs = User.objects.filter(name_or_email(query)) if query else User.objects.all()
    if order_by in USER_ORDER:
        return qs.order_by(f"{'' if direction == 'asc' else '-'}{order_by}", "id")
    return qs.order_by("-created_at", "id")


def groups_of_users(user_ids) -> dict[str, list[Group]]:
    """Every given user's groups, in one query."""
    result: dict[str, list[Group]] = {str(uid): [] for uid in user_ids}
    for membership in GroupMember.objects.filter(user_id__in=list(user_ids)).select_related("group").order_by("-group__updated_at"):
        result[str(membership.user_id)].append(membership.group)
    return result


def groups(*, member=None, share: bool | None = None) -> list[Group]:
    """Groups with their `member_count`; with `member`, only the groups it belongs to (and with
    `share`, only those it may share to, or with share=False those that forbid sharing)."""
    qs = Group.objects.annotate(member_count=Count("memberships")).order_by("-updated_at")
    if member is not None:
        qs = qs.filter(Exists(GroupMember.objects.filter(group=OuterRef("pk"), user_id=member.pk)))
    found = list(qs)
    if share is not None:
        found = [g for g in found if _shareable(g) == share]
    return found


def _shareable(group: Group) -> bool:
    """Whether a member may share to `group` (config.share: true, "members" or unset)."""
    value = ((group.data or {}).get("config") or {}).get("share", True)
    return value is True or value == "members" or str(value).lower() in ("true", "1")


def group(group_id) -> Group | None:
    """A group with its `member_count`, or None (also for an id that is not a UUID)."""
    try:
        uuid.UUID(str(group_id))
    except ValueError:
        return None
    return Group.objects.annotate(member_count=Count("memberships")).filter(id=group_id).first()


def user(user_id) -> User | None:
    """A user by id, or None (also for an id that is not a UUID)."""
    try:
        uuid.UUID(str(user_id))
    except ValueError:
        return None
    return User.objects.filter(id=user_id).first()


def members(group: Group) -> QuerySet[User]:
    return User.objects.filter(group_memberships__group=group).order_by("name", "id")


def primary_user() -> User | None:
    """The first user (the primary admin, whom other admins may not change)."""
    return User.objects.order_by("created_at").first()


def name_or_email(query: str) -> Q:
    return Q(name__icontains=query) | Q(email__icontains=query)


def granted_to_group(group: Group) -> dict[str, list[dict]]:
    """The resources (by kind) shared with `group`, with the permissions it holds on each."""
    reach: dict[str, dict[str, list[str]]] = {}
    for kind, resource_id, permission in (AccessGrant.objects.filter(principal_type=access.GROUP, principal_id=str(group.pk))
                                          .order_by("created_at").values_list("resource_type", "resource_id", "permission")):
        reach.setdefault(kind, {}).setdefault(resource_id, []).append(permission)
    return {kind: [{"id": rid, "permissions": perms} for rid, perms in items.items()] for kind, items in reach.items()}


def effective_group_permissions(group: Group) -> dict:
    """The tree a member of `group` (and of no other group) has."""
    return permission_tree.combine(permission_tree.fill(runtime.get("USER_PERMISSIONS")), group.permissions or {})
