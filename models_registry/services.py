"""Writes for model presets and overrides (API.md §8)."""

import uuid

from django.db import transaction

from accounts import access, grants
from config.common.errors import ApplicationError
from models_registry import registry
from models_registry.models import Model

NOT_FOUND = "We could not find what you're looking for :/"


@transaction.atomic
def create(*, user, data: dict) -> Model:
    """`data`: validated by models_registry.serializers.ModelFormIn (as for `update`)."""
    if not access.can_create(user, access.MODEL):
        raise ApplicationError(401, "401 Unauthorized")
    if Model.objects.filter(id=data["id"]).exists():
        raise ApplicationError(401, "Uh-oh! This id is already registered. Please choose another id string.")
    base = data.get("base_model_id") or None
    if base == data["id"]:
        base = None
    if not base and not access.is_admin(user):  # a row without a base overrides a provider model
        raise ApplicationError(401, "base_model_id is required.")
    model = Model.objects.create(
        id=data["id"], user=user, base_model_id=base, name=data["name"], meta=data["meta"],
        params=data["params"], is_active=bool(data.get("is_active", True)),
    )
    grants.replace(access.MODEL, model.id, access.allowed_grants(user, access.MODEL, grants.parse(data.get("access_grants"))))
    registry.forget()
    return model


def _writable(user, model_id, *, lock: bool = False) -> Model:
    """`lock` (inside a transaction) holds the row until commit, so concurrent writes to one model
    queue up instead of failing on a row another request just deleted."""
    rows = Model.objects.filter(id=model_id)
    model = (rows.select_for_update() if lock else rows).first()
    if model is None:
        raise ApplicationError(401, NOT_FOUND)
    if not access.can_write(user, access.MODEL, model):
        raise ApplicationError(400, "You do not have permission to change this model.")
    return model


@transaction.atomic
def update(*, user, data: dict) -> Model:
    model = _writable(user, data["id"], lock=True)
    base = data.get("base_model_id") or None
    model.base_model_id = None if base == model.id else base
    model.name, model.meta, model.params = data["name"], data["meta"], data["params"]
    if "is_active" in data:
        model.is_active = bool(data["is_active"])
    model.version_id = uuid.uuid4()
    model.save()
    registry.forget()
    return model


@transaction.atomic
def update_access(*, user, model_id: str, name, access_grants) -> Model:
    requested = grants.parse(access_grants)
    if access.is_admin(user):  # sharing a provider model: its override row, unless one exists (ON CONFLICT DO NOTHING)
        name = name.strip() if isinstance(name, str) and name.strip() else model_id
        Model.objects.bulk_create([Model(id=model_id, user=user, name=name[:256])], ignore_conflicts=True)
    model = _writable(user, model_id, lock=True)
    if access.allowed_grants(user, access.MODEL, requested) != requested:
        raise ApplicationError(403, "You do not have permission to share with the requested audience")
    grants.replace(access.MODEL, model.id, requested)
    model.save(update_fields=["updated_at"])
    registry.forget()
    return model


@transaction.atomic
def toggle(*, user, model_id: str) -> Model:
    model = _writable(user, model_id, lock=True)
    model.is_active = not model.is_active
    model.save(update_fields=["is_active", "updated_at"])
    registry.forget()
    return model


@transaction.atomic
def delete(*, user, model_id: str) -> None:
    model = _writable(user, model_id, lock=True)
    grants.delete_all(access.MODEL, model.id)
    model.delete()
    registry.forget()


def _upsert(user, data: dict, existing: Model | None) -> Model:
    return update(user=user, data=data) if existing else create(user=user, data=data)


@transaction.atomic
def import_models(*, user, models: list[dict]) -> list[str]:
    """POST /models/import: each model (validated as ModelFormIn) created, or updated when it exists,
    through `create`/`update` and their checks; all or nothing. Returns the ids."""
    existing = {m.id: m for m in Model.objects.filter(id__in=[m["id"] for m in models])}
    for data in models:
        _upsert(user, data, existing.get(data["id"]))
    return [m["id"] for m in models]


@transaction.atomic
def sync(*, user, models: list[dict]) -> list[Model]:
    """POST /models/sync (admin): the rows become exactly `models` (with their access grants when
    sent); every other row goes."""
    existing = {m.id: m for m in Model.objects.select_for_update()}
    written = []
    for data in models:
        model = _upsert(user, data, existing.get(data["id"]))
        if "access_grants" in data:
            grants.replace(access.MODEL, model.id, grants.parse(data["access_grants"]))
        written.append(model)
    gone = set(existing) - {m.id for m in written}
    for model_id in gone:
        grants.delete_all(access.MODEL, model_id)
    Model.objects.filter(id__in=gone).delete()
    registry.forget()
    return written


@transaction.atomic
def delete_all(*, user) -> int:
    """DELETE /models/delete/all (admin): every row the caller may change (an admin: all), with grants."""
    rows = list(Model.objects.select_for_update())
    ids = access.permitted_ids(user, access.MODEL, access.WRITE, rows)
    for model_id in ids:
        grants.delete_all(access.MODEL, model_id)
    Model.objects.filter(id__in=ids).delete()
    registry.forget()
    return len(ids)


def make_public(*, model_ids: list[str], actor) -> int:
    """The admin's one-click "make public" (DECISIONS #3): read for everyone, override rows created."""
    for model_id in model_ids:
        Model.objects.get_or_create(id=model_id, defaults={"name": model_id, "user": actor})
        grants.add(access.MODEL, model_id, principal_id=access.EVERYONE, permission=access.READ)
    registry.forget()
    return len(model_ids)
