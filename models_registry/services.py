"""Writes for model presets and overrides (API.md §8)."""

import re
import uuid

from django.db import transaction
from rest_framework.exceptions import ValidationError

from accounts import access, grants
from config.common.errors import ApplicationError
from models_registry import registry
from models_registry.models import Model

ID_RE = re.compile(r"^\S{1,256}$")
NOT_FOUND = "We could not find what you're looking for :/"


def _check_form(data: dict) -> None:
    if not isinstance(data.get("id"), str) or not ID_RE.match(data["id"]):
        raise ValidationError("id must be 1 to 256 characters without whitespace.")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise ValidationError("name is required.")
    if len(data["name"].strip()) > 256:
        raise ValidationError("name must be 256 characters at most.")
    base = data.get("base_model_id")
    if base is not None and (not isinstance(base, str) or len(base) > 256):
        raise ValidationError("base_model_id must be a model id (256 characters at most).")
    for key in ("meta", "params"):
        if not isinstance(data.get(key), dict):
            raise ValidationError(f"{key} is required and must be an object.")


@transaction.atomic
def create(*, user, data: dict) -> Model:
    if not access.can_create(user, access.MODEL):
        raise ApplicationError(401, "401 Unauthorized")
    _check_form(data)
    if Model.objects.filter(id=data["id"]).exists():
        raise ApplicationError(401, "Uh-oh! This id is already registered. Please choose another id string.")
    base = data.get("base_model_id") or None
    if base == data["id"]:
        base = None
    if not base and not access.is_admin(user):  # a row without a base overrides a provider model
        raise ApplicationError(401, "base_model_id is required.")
    model = Model.objects.create(
        id=data["id"], user=user, base_model_id=base, name=data["name"].strip(), meta=data["meta"],
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
    _check_form(data)
    model = _writable(user, data["id"], lock=True)
    base = data.get("base_model_id") or None
    model.base_model_id = None if base == model.id else base
    model.name, model.meta, model.params = data["name"].strip(), data["meta"], data["params"]
    if "is_active" in data:
        model.is_active = bool(data["is_active"])
    model.version_id = uuid.uuid4()
    model.save()
    registry.forget()
    return model


@transaction.atomic
def update_access(*, user, model_id, name, access_grants) -> Model:
    if not isinstance(model_id, str) or not ID_RE.match(model_id):
        raise ValidationError("id must be 1 to 256 characters without whitespace.")
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


def make_public(*, model_ids: list[str], actor) -> int:
    """The admin's one-click "make public" (DECISIONS #3): read for everyone, override rows created."""
    for model_id in model_ids:
        Model.objects.get_or_create(id=model_id, defaults={"name": model_id, "user": actor})
        grants.add(access.MODEL, model_id, principal_id=access.EVERYONE, permission=access.READ)
    registry.forget()
    return len(model_ids)
