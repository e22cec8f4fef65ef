from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast

from accounts import access
from files.models import File
from files.selectors import listed
from knowledge.models import KnowledgeBase, KnowledgeFile

SORTABLE = {"name", "created_at", "updated_at"}


def readable(user) -> QuerySet[KnowledgeBase]:
    qs = KnowledgeBase.objects.select_related("user").annotate(file_count=Count("memberships"))
    return qs.filter(access.visible(user, access.KNOWLEDGE))


def readable_members(user, ids) -> dict[str, list[str]]:
    """Of the collections `ids`, those the user may read, each with its files' ids: one query."""
    # ids as text from the database: a 100-file collection's UUID objects cost more than the query
    rows = (KnowledgeBase.objects.filter(access.visible(user, access.KNOWLEDGE), id__in=ids)
            .annotate(file_ids=ArrayAgg(Cast("memberships__file_id", TextField()))).values_list("id", "file_ids"))
    return {str(kb_id): [f for f in file_ids if f] for kb_id, file_ids in rows}


def _ordered(qs, order_by: str | None, direction: str | None):
    if order_by not in SORTABLE:
        return qs.order_by("-updated_at", "id")
    return qs.order_by(f"{'' if direction == 'asc' else '-'}{order_by}", "id")


def search(user, *, query: str = "", view_option: str = "", source: str = "", order_by: str | None = None,
           direction: str | None = None) -> QuerySet[KnowledgeBase]:
    """GET /knowledge/search: the name, description, owner's name or email holds `query`;
    `view_option` created (the user's own) or shared (others'); `source` external: none (every
    collection here is local, knowledge.external)."""
    qs = readable(user) if source != "external" else readable(user).none()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(description__icontains=query)
                       | Q(user__name__icontains=query) | Q(user__email__icontains=query))
    if view_option == "created":
        qs = qs.filter(user=user)
    elif view_option == "shared":
        qs = qs.exclude(user=user)
    return _ordered(qs, order_by, direction)


def member_files(user, *, query: str = "", include_content: bool = False) -> QuerySet[KnowledgeFile]:
    """GET /knowledge/search/files: memberships of files in collections the user may read whose
    name (or, with `include_content`, text) holds `query`, the file and collection joined."""
    qs = (KnowledgeFile.objects.filter(knowledge__in=KnowledgeBase.objects.filter(access.visible(user, access.KNOWLEDGE)))
          .select_related("file__user", "knowledge").defer("file__content"))
    if query:
        match = Q(file__filename__icontains=query)
        qs = qs.filter(match | Q(file__content__icontains=query) if include_content else match)
    return qs.order_by("-file__updated_at", "file_id", "knowledge_id")


def collection_files(kb, *, query: str = "", include_content: bool = False, directory=None, at_root: bool = False,
                     order_by: str | None = None, direction: str | None = None) -> QuerySet[KnowledgeFile]:
    """GET /knowledge/{id}/files: the collection's memberships with their files (without their text),
    in one directory when `directory` is given (or at the root with `at_root`)."""
    qs = KnowledgeFile.objects.filter(knowledge=kb).select_related("file__user").defer("file__content")
    if directory is not None:
        qs = qs.filter(directory=directory)
    elif at_root:
        qs = qs.filter(directory__isnull=True)
    if query:
        match = Q(file__filename__icontains=query)
        qs = qs.filter(match | Q(file__content__icontains=query) if include_content else match)
    order_by = {"name": "filename"}.get(order_by or "", order_by)
    if order_by not in {"filename", "created_at", "updated_at"}:
        order_by = "updated_at"
    sign = "" if direction == "asc" else "-"
    return qs.order_by(f"{sign}file__{order_by}", "file_id")


def pending_files(user, kb) -> QuerySet[File]:
    """Files the user may read, uploaded for the collection (`metadata.knowledge_id`), still pending
    or processing and not yet in it (Open WebUI's /knowledge/{id}/files/pending)."""
    return (listed(user).filter(meta__knowledge_id=str(kb.id), status__in=[File.Status.PENDING, File.Status.PROCESSING])
            .exclude(memberships__knowledge=kb).defer("content").order_by("-created_at"))
