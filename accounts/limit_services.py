"""Writes for usage limits and model prices (/api/v1/usage/limits, /api/v1/usage/prices). Each takes
effect in this process at once (limits.forget) and in others within STATE_CACHE_SECONDS."""

import uuid

from django.db import IntegrityError, transaction

from accounts import limits
from accounts.models import ApiKey, Group, ModelPrice, Role, UsageLimit, User
from config.common.errors import ApplicationError

SCOPED_BY_ID = {"key": ApiKey, "user": User, "group": Group}
ROLES = (Role.ADMIN, Role.USER)


def _scope_id(scope_type: str, scope_id: str) -> str:
    """The scope's id as stored (a UUID in its canonical form), once the scope is known to exist."""
    scope_id = scope_id.strip()
    if scope_type == "role":
        if scope_id not in ROLES:
            raise ApplicationError(400, f"A role limit's scope_id is one of: {', '.join(ROLES)}.")
        return scope_id
    if scope_type == "model":
        if not scope_id:
            raise ApplicationError(400, "A model limit's scope_id is the model id.")
        return scope_id
    model = SCOPED_BY_ID[scope_type]
    try:
        pk = uuid.UUID(scope_id)
    except ValueError:
        pk = None
    if pk is None or not model.objects.filter(pk=pk).exists():
        raise ApplicationError(400, f"No {UsageLimit.Scope(scope_type).label.lower()} with id {scope_id!r}.")
    return str(pk)


def _save(row: UsageLimit) -> UsageLimit:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ApplicationError(409, f"A limit for {row.scope_type} {row.scope_id!r} exists already; update it instead.")
    limits.forget()
    return row


def create_limit(*, data: dict) -> UsageLimit:
    data = {**data, "scope_id": _scope_id(data["scope_type"], data["scope_id"])}
    return _save(UsageLimit(**data))


def update_limit(*, row: UsageLimit, data: dict) -> UsageLimit:
    if "scope_type" in data or "scope_id" in data:
        data = {**data, "scope_id": _scope_id(data.get("scope_type", row.scope_type), data.get("scope_id", row.scope_id))}
    for name, value in data.items():
        setattr(row, name, value)
    return _save(row)


def delete_limit(*, row: UsageLimit) -> None:
    row.delete()
    limits.forget()


def set_price(*, data: dict) -> ModelPrice:
    row, _ = ModelPrice.objects.update_or_create(model=data["model"], defaults={
        name: data[name] for name in ("input_per_million", "output_per_million", "default_max_tokens")})
    limits.forget()
    return row


def delete_price(*, row: ModelPrice) -> None:
    row.delete()
    limits.forget()
