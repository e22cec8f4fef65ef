from accounts import grants
from accounts.serializers import ts
from models_registry.models import Model


def model_out(model: Model, access_grants: list[dict], *, with_params: bool = True) -> dict:
    return {
        "id": model.id, "user_id": str(model.user_id) if model.user_id else None, "base_model_id": model.base_model_id,
        "name": model.name, "params": model.params if with_params else {}, "meta": model.meta,
        "access_grants": access_grants, "is_active": model.is_active, "version_id": str(model.version_id),
        "updated_at": ts(model.updated_at), "created_at": ts(model.created_at),
    }


def models_out(models: list[Model], user, writable: set[str]) -> list[dict]:
    """List items (model + owner + write_access) with grants fetched in one query."""
    by_id = grants.by_resource("model", [m.id for m in models])
    items = []
    for m in models:
        item = model_out(m, by_id.get(m.id, []), with_params=m.id in writable)
        item["write_access"] = m.id in writable
        item["user"] = {"id": str(m.user.id), "name": m.user.name, "email": m.user.email, "role": m.user.role} if m.user else None
        items.append(item)
    return items
