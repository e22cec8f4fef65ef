"""Writes for groups and their members (/api/v1/groups/*, the admin). Group changes alter what
members may reach and do, so each drops this process's cached credentials (their memoised trees)."""

import uuid

from django.db import transaction
from rest_framework.exceptions import ValidationError

from accounts import grants, limits, permission_tree
from accounts.authentication import forget_credentials
from accounts.models import Group, GroupMember, User

DEFAULT_SHARE = "members"  # Open WebUI's DEFAULT_GROUP_SHARE_PERMISSION: members may share to it


def _permissions(value) -> dict:
    try:
        return permission_tree.clean(value or {})
    except ValueError as exc:
        raise ValidationError(str(exc))


def _merged_data(old: dict | None, new: dict | None) -> dict:
    """Open WebUI merges `data` (and its `config`) into the stored one."""
    old, new = old or {}, new or {}
    config = new.get("config") or {}
    if not isinstance(config, dict):
        raise ValidationError("data.config must be an object.")
    return {**old, **new, "config": {**(old.get("config") or {}), **config}}


def _no_hierarchy(data: dict) -> None:
    if data.get("parent_group_id") is not None:
        raise ValidationError("Group hierarchy (parent_group_id) is not supported by this server.")


@transaction.atomic
def create_group(*, actor: User, data: dict) -> Group:
    _no_hierarchy(data)
    group = Group.objects.create(
        user=actor, name=data["name"], description=data.get("description") or "",
        permissions=_permissions(data.get("permissions")),
        data=_merged_data({"config": {"share": DEFAULT_SHARE}}, data.get("data")),
    )
    return group


@transaction.atomic
def update_group(*, group: Group, data: dict) -> Group:
    _no_hierarchy(data)
    if "name" in data:
        group.name = data["name"]
    if data.get("description") is not None:
        group.description = data["description"]
    if data.get("permissions") is not None:
        group.permissions = _permissions(data["permissions"])
    if data.get("data") is not None:
        group.data = _merged_data(group.data, data["data"])
    group.save()
    forget_credentials()
    limits.forget()  # group limits follow membership
    return group


def _user_ids(raw: list[str] | None) -> list[uuid.UUID]:
    """The ids of existing users among `raw` (others are ignored, as Open WebUI ignores them)."""
    ids = set()
    for value in raw or []:
        try:
            ids.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    return list(User.objects.filter(id__in=ids).values_list("id", flat=True)) if ids else []


@transaction.atomic
def add_members(*, group: Group, user_ids: list[str] | None) -> Group:
    GroupMember.objects.bulk_create([GroupMember(group=group, user_id=uid) for uid in _user_ids(user_ids)],
                                    ignore_conflicts=True)
    group.save(update_fields=["updated_at"])
    forget_credentials()
    limits.forget()  # group limits follow membership
    return group


@transaction.atomic
def remove_members(*, group: Group, user_ids: list[str] | None) -> Group:
    GroupMember.objects.filter(group=group, user_id__in=_user_ids(user_ids)).delete()
    group.save(update_fields=["updated_at"])
    forget_credentials()
    limits.forget()  # group limits follow membership
    return group


@transaction.atomic
def delete_group(*, group: Group) -> None:
    grants.delete_to_group(group.pk)
    group.delete()
    forget_credentials()
    limits.forget()  # group limits follow membership
