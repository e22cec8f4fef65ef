from django.conf import settings
from django.db.models import Q, QuerySet

from accounts import grants
from models_registry.models import Model


def _everything(user) -> bool:
    return user.is_admin and settings.BYPASS_ADMIN_ACCESS_CONTROL


def readable_models(user) -> QuerySet[Model]:
    qs = Model.objects.select_related("user").order_by("-updated_at")
    if _everything(user):
        return qs
    return qs.filter(Q(user=user) | Q(id__in=grants.granted_ids(user, "model", "read")))


def writable_ids(user, ids) -> set[str]:
    ids = list(ids)
    if _everything(user):
        return set(ids)
    owned = set(Model.objects.filter(id__in=ids, user=user).values_list("id", flat=True))
    return owned | (grants.granted_ids(user, "model", "write") & set(ids))
