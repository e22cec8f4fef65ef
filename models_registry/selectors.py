from django.db.models import QuerySet

from accounts import access
from models_registry.models import Model


def readable_models(user) -> QuerySet[Model]:
    return Model.objects.select_related("user").order_by("-updated_at").filter(access.visible(user, access.MODEL))
