from django.conf import settings
from django.db.models import Count, Q, QuerySet

from accounts import grants
from knowledge.models import KnowledgeBase

RESOURCE = "knowledge"


def _everything(user) -> bool:
    return user.is_admin and settings.BYPASS_ADMIN_ACCESS_CONTROL


def readable(user) -> QuerySet[KnowledgeBase]:
    qs = KnowledgeBase.objects.select_related("user").annotate(file_count=Count("memberships"))
    if _everything(user):
        return qs
    return qs.filter(Q(user=user) | Q(id__in=grants.granted_ids(user, RESOURCE, "read")))


def writable_ids(user, ids) -> set[str]:
    ids = [str(i) for i in ids]
    if _everything(user):
        return set(ids)
    owned = {str(i) for i in KnowledgeBase.objects.filter(id__in=ids, user=user).values_list("id", flat=True)}
    return owned | (grants.granted_ids(user, RESOURCE, "write") & set(ids))
