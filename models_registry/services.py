"""Writes for model presets and overrides (API.md §8)."""

from django.db import transaction

from accounts import access, grants
from config.common.errors import ApplicationError
from config.common.values import as_uuid
from models_registry import registry
from models_registry.models import Model, ModelVersion

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
    _record_version(model, user, data.get("commit_message"))
    model.save(update_fields=["version_id"])
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
    before = snapshot(model)
    base = data.get("base_model_id") or None
    model.base_model_id = None if base == model.id else base
    model.name, model.meta, model.params = data["name"], data["meta"], data["params"]
    if "is_active" in data:
        model.is_active = bool(data["is_active"])
    if snapshot(model) != before:
        _record_version(model, user, data.get("commit_message"))
    model.save()
    registry.forget()
    return model


# --- versions (Open WebUI's /models/model/history*) -----------------------------------------------


def snapshot(model: Model) -> dict:
    """What a version keeps: the configuration, not visibility (grants, is_active) nor UI-only meta."""
    meta = {k: v for k, v in (model.meta or {}).items() if k not in ("hidden", "chat_variables_schema")}
    return {"name": model.name, "base_model_id": model.base_model_id, "params": dict(model.params or {}), "meta": meta}


def _record_version(model: Model, user, message: str | None) -> None:
    """A new version from the row's configuration, made the one in force (the caller saves the row)."""
    known = ModelVersion.objects.filter(id=model.version_id).exists()
    version = ModelVersion.objects.create(model=model, parent_id=model.version_id if known else None,
                                          snapshot=snapshot(model), user=user, commit_message=message or "")
    model.version_id = version.id


def _history_of(user, model_id: str, *, lock: bool = False) -> Model:
    """The row whose history `user` may see and change: its writers' (404 unknown, 403 read-only)."""
    rows = Model.objects.filter(id=model_id)
    model = (rows.select_for_update() if lock else rows).first()
    if model is None:
        raise ApplicationError(404, NOT_FOUND)
    if not access.can_write(user, access.MODEL, model):
        raise ApplicationError(403, "You do not have permission to access this resource.")
    return model


def history(*, user, model_id: str):
    return ModelVersion.objects.filter(model=_history_of(user, model_id)).select_related("user")


def version(*, user, model_id: str, version_id) -> ModelVersion:
    found = history(user=user, model_id=model_id).filter(id=as_uuid(version_id)).first()
    if found is None:
        raise ApplicationError(404, "Model version not found")
    return found


@transaction.atomic
def delete_version(*, user, model_id: str, version_id) -> None:
    """A version other than the one in force; the versions that followed it now follow its parent."""
    model = _history_of(user, model_id, lock=True)
    found = version(user=user, model_id=model.id, version_id=version_id)
    if found.id == model.version_id:
        raise ApplicationError(400, "Cannot delete the current version")
    ModelVersion.objects.filter(model=model, parent_id=found.id).update(parent_id=found.parent_id)
    found.delete()


@transaction.atomic
def restore_version(*, user, model_id: str, version_id) -> Model:
    """Put a version's configuration back in force (POST /models/model/update/version)."""
    model = _history_of(user, model_id, lock=True)
    found = version(user=user, model_id=model.id, version_id=version_id)
    saved = found.snapshot
    if not access.is_admin(user) and model.base_model_id and not saved.get("base_model_id"):
        raise ApplicationError(403, "You do not have permission to access this resource.")
    model.name, model.base_model_id = saved.get("name") or model.name, saved.get("base_model_id")
    model.params, model.meta = saved.get("params") or {}, saved.get("meta") or {}
    model.version_id = found.id
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
