"""Access grants for models and knowledge bases (API.md §5.1): private by default; `read` and
`write` are separate rows; owners and admins need none."""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from accounts.models import AccessGrant

PERMISSIONS = ("read", "write")
PRINCIPAL_ID_LENGTH = AccessGrant._meta.get_field("principal_id").max_length


def out(grant: AccessGrant) -> dict:
    return {
        "id": str(grant.id), "resource_type": grant.resource_type, "resource_id": grant.resource_id,
        "principal_type": grant.principal_type, "principal_id": grant.principal_id,
        "permission": grant.permission, "created_at": int(grant.created_at.timestamp()),
    }


def by_resource(resource_type: str, ids) -> dict[str, list[dict]]:
    """Grants of many resources in one query."""
    result: dict[str, list[dict]] = {str(i): [] for i in ids}
    for grant in AccessGrant.objects.filter(resource_type=resource_type, resource_id__in=[str(i) for i in ids]).order_by("created_at"):
        result.setdefault(grant.resource_id, []).append(out(grant))
    return result


def principal_filter(user, permission: str) -> Q:
    return Q(permission=permission, principal_type="user", principal_id__in=[str(user.id), "*"])


def granted_ids(user, resource_type: str, permission: str) -> set[str]:
    return set(
        AccessGrant.objects.filter(principal_filter(user, permission), resource_type=resource_type)
        .values_list("resource_id", flat=True)
    )


def has(user, resource_type: str, resource_id: str, owner_id, permission: str) -> bool:
    if owner_id is not None and str(owner_id) == str(user.id):
        return True
    if user.is_admin and settings.BYPASS_ADMIN_ACCESS_CONTROL:
        return True
    return AccessGrant.objects.filter(principal_filter(user, permission), resource_type=resource_type,
                                      resource_id=str(resource_id)).exists()


def parse(raw) -> list[dict]:
    """Validate a client's `access_grants` list."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationError("access_grants must be a list.")
    grants = []
    for item in raw:
        if not isinstance(item, dict) or item.get("permission") not in PERMISSIONS or not item.get("principal_id"):
            raise ValidationError("Each access grant needs principal_type, principal_id and permission read|write.")
        if len(str(item["principal_id"])) > PRINCIPAL_ID_LENGTH:
            raise ValidationError(f"principal_id must be a user id or * ({PRINCIPAL_ID_LENGTH} characters at most).")
        principal_type = item.get("principal_type", "user")
        if principal_type != "user":
            raise ValidationError("Only user grants (a user id or *) are supported.")
        grants.append({"principal_type": "user", "principal_id": str(item["principal_id"]), "permission": item["permission"]})
    return grants


@transaction.atomic
def replace(resource_type: str, resource_id: str, grants: list[dict]) -> None:
    AccessGrant.objects.filter(resource_type=resource_type, resource_id=str(resource_id)).delete()
    AccessGrant.objects.bulk_create(
        [AccessGrant(resource_type=resource_type, resource_id=str(resource_id), **g) for g in grants], ignore_conflicts=True
    )


def delete_all(resource_type: str, resource_id: str) -> None:
    AccessGrant.objects.filter(resource_type=resource_type, resource_id=str(resource_id)).delete()


def add(resource_type: str, resource_id: str, *, principal_id: str, permission: str) -> None:
    AccessGrant.objects.get_or_create(resource_type=resource_type, resource_id=str(resource_id),
                                      principal_type="user", principal_id=principal_id, permission=permission)
