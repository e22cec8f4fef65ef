"""Storing access grants for models and knowledge bases (API.md §5.1): their wire shape, parsing and
writes. Who they let do what is `accounts.access`."""

import uuid

from django.db import transaction
from rest_framework.exceptions import ValidationError

from accounts import access
from accounts.models import AccessGrant, Group

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
            raise ValidationError("principal_type must be user (a user id or *) or group (a group id).")
        principal_id = str(item["principal_id"])
        if principal_type == access.GROUP:
            principal_id = _group_id(principal_id)
        grants.append({"principal_type": principal_type, "principal_id": principal_id, "permission": item["permission"]})
    _check_groups_exist([g["principal_id"] for g in grants if g["principal_type"] == access.GROUP])
    return grants


def _group_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ValidationError(f"Group not found: {raw}")


def _check_groups_exist(ids: list[str]) -> None:
    """One query for all the groups a grant list names."""
    if not ids:
        return
    found = {str(pk) for pk in Group.objects.filter(id__in=set(ids)).values_list("id", flat=True)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(f"Group not found: {missing[0]}")


@transaction.atomic
def replace(resource_type: str, resource_id, grants: list[dict]) -> None:
    AccessGrant.objects.filter(resource_type=resource_type, resource_id=str(resource_id)).delete()
    AccessGrant.objects.bulk_create(
        [AccessGrant(resource_type=resource_type, resource_id=str(resource_id), **g) for g in grants],
        ignore_conflicts=True,
    )


def delete_to_group(group_id) -> None:
    """A deleted group's grants go with it."""
    AccessGrant.objects.filter(principal_type=access.GROUP, principal_id=str(group_id)).delete()


def delete_all(resource_type: str, resource_id) -> None:
    AccessGrant.objects.filter(resource_type=resource_type, resource_id=str(resource_id)).delete()


def add(resource_type: str, resource_id, *, principal_id: str, permission: str) -> None:
    AccessGrant.objects.get_or_create(resource_type=resource_type, resource_id=str(resource_id),
                                      principal_type=access.USER, principal_id=principal_id, permission=permission)


def delete_many(resource_type: str, resource_ids) -> None:
    """The grants of many resources (deleting them together), in one query."""
    AccessGrant.objects.filter(resource_type=resource_type, resource_id__in=[str(i) for i in resource_ids]).delete()
