from django.db.models import Count, QuerySet

from accounts import access
from knowledge.models import KnowledgeBase


def readable(user) -> QuerySet[KnowledgeBase]:
    qs = KnowledgeBase.objects.select_related("user").annotate(file_count=Count("memberships"))
    return qs.filter(access.visible(user, access.KNOWLEDGE))
