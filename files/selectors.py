from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Substr

from files.models import File


def files_for(user) -> QuerySet[File]:
    """Files the user may read and change: their own (admins: all, with BYPASS_ADMIN_ACCESS_CONTROL)."""
    if user.is_admin and settings.BYPASS_ADMIN_ACCESS_CONTROL:
        return File.objects.all()
    return File.objects.filter(user=user)


def listed(user) -> QuerySet[File]:
    """`files_for` without the extracted text, which can be megabytes a file: read it with `content_slice`."""
    return files_for(user).defer("content")


def content_slice(file_id, start: int, length: int) -> str:
    """`length` characters of a file's extracted text from `start` (0-based); "" past the end or when gone."""
    piece = (File.objects.filter(id=file_id).annotate(piece=Substr("content", start + 1, length))
             .values_list("piece", flat=True).first())
    return piece or ""
