from django.db.models import QuerySet
from django.db.models.functions import Substr

from accounts import access
from files.models import File


def files_for(user) -> QuerySet[File]:
    """Files the user may read and change (files have no grants: read and write are the same)."""
    return File.objects.filter(access.visible(user, access.FILE))


def listed(user) -> QuerySet[File]:
    """`files_for` without the extracted text, which can be megabytes a file: read it with `content_slice`."""
    return files_for(user).defer("content")


def content_slice(file_id, start: int, length: int) -> str:
    """`length` characters of a file's extracted text from `start` (0-based); "" past the end or when gone."""
    piece = (File.objects.filter(id=file_id).annotate(piece=Substr("content", start + 1, length))
             .values_list("piece", flat=True).first())
    return piece or ""
