"""Storing access grants for models and knowledge bases (API.md §5.1): their wire shape, parsing and
writes. Who they let do what is `accounts.access`."""

from django.db import transaction
from rest_framework.exceptions import ValidationError

from accounts import access
from accounts.models import AccessGrant

PERMISSIONS = (access.READ, access.WRITE)
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
        principal_type = item.get("principal_type", access.USER)
        if principal_type not in access.PRINCIPAL_TYPES:
            raise ValidationError("Only user grants (a user id or *) are supported.")
        grants.append({"principal_type": principal_type, "principal_id": str(item["principal_id"]), "permission": item["permission"]})
    return grants


@transaction.atomic
def replace(resource_type: str, resource_id, grants: list[dict]) -> None:
    AccessGrant.objects.filter(resource_type=resource_type, resource_id=str(resource_id)).delete()
    AccessGrant.objects.bulk_create(
        [AccessGrant(resource_type=resource_type, resource_id=str(resource_id), **g) for g in grants],
        ignore_conflicts=True,
    )


def delete_all(resource_type: str, resource_id) -> None:
    AccessGrant.objects.filter(resource_type=resource_type, resource_id=str(resource_id)).delete()


def add(resource_type: str, resource_id, *, principal_id: str, permission: str) -> None:
    AccessGrant.objects.get_or_create(resource_type=resource_type, resource_id=str(resource_id),
                                      principal_type=access.USER, principal_id=principal_id, permission=permission)


def delete_many(resource_type: str, resource_ids) -> None:
    """The grants of many resources (deleting them together), in one query."""
    AccessGrant.objects.filter(resource_type=resource_type, resource_id__in=[str(i) for i in resource_ids]).delete()
