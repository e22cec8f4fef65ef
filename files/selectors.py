import re

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


def glob_regex(pattern: str) -> str:
    """A filename glob (`*.txt`, `report-?.pdf`: `*` any run, `?` one character) as an anchored regex."""
    pattern = re.sub(r"\*+", "*", pattern)  # one `.*` per run: many in a row only slow the match down
    return "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + "$"


def search(user, pattern: str, *, own: bool = False) -> QuerySet[File]:
    """`listed` files whose name matches the glob (case-insensitive), newest first; `own`: the
    user's own files only, even for an admin."""
    qs = listed(user).filter(user=user) if own else listed(user)
    if pattern.strip("*"):
        qs = qs.filter(filename__iregex=glob_regex(pattern))
    return qs.order_by("-created_at", "-id")


def content_slice(file_id, start: int, length: int) -> str:
    """`length` characters of a file's extracted text from `start` (0-based); "" past the end or when gone."""
    piece = (File.objects.filter(id=file_id).annotate(piece=Substr("content", start + 1, length))
             .values_list("piece", flat=True).first())
    return piece or ""
